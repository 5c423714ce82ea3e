/**
 * The LTX format (superfly/ltx v3, read support for v1/v2): header, page index, trailer, CRC-64/ISO,
 * LZ4 block and frame, xxh32, encoder, streaming decoder, compactor, TXIDs and filenames.
 *
 * Imports nothing but the error class: no store, no runtime API, no dependency.
 *
 * @module
 */
export { CHECKSUM_FLAG, Crc64, crc64, DatabaseChecksum, databaseChecksum, lockPgno, pageChecksum } from "./checksum.ts";
export { compressBlockBound, decompressBlock } from "./lz4-block.ts";
export { compressBlock } from "./lz4-compress.ts";
export { decodeFrame, decodeFrameToEnd, encodeFrame } from "./lz4-frame.ts";
export { useWasmKernels, useWasmModules } from "./wasm-kernels.ts";
export { xxh32 } from "./xxh32.ts";
export {
  decodeHeader,
  encodeHeader,
  HEADER_FLAG_COMPRESS_LZ4,
  HEADER_FLAG_NO_CHECKSUM,
  HEADER_SIZE,
  isNoChecksum,
  isSnapshot,
  isValidPageSize,
  newHeader,
  PAGE_HEADER_FLAG_SIZE,
  PAGE_HEADER_SIZE,
  TRAILER_SIZE,
  validateHeader,
  validateTrailer,
  type Header,
  type Trailer,
} from "./header.ts";
export { decodePageFrame, decodePageIndexFromTail, encodePageIndex, readPageIndex, type PageIndexEntry } from "./page-index.ts";
export { Encoder, encodeLtx, encodeLtxBytes, type EncodeOptions, type EncoderOptions, type Page, type PageEncoding } from "./encoder.ts";
export { decodeLtx, Decoder, verifyLtx, type DecodedLtx, type DecoderOptions, type LtxFormat } from "./decoder.ts";
export { compactLtx, Compactor, type CompactorOptions } from "./compactor.ts";
export { formatChecksum, formatFilename, formatPos, formatTXID, parseChecksum, parseFilename, parsePos, parseTXID, tryParseFilename, type Pos } from "./txid.ts";
export type { ByteInput } from "./byte-source.ts";
