/**
 * The LTX format (superfly/ltx v3, read support for v1/v2): header, page index, trailer, CRC-64/ISO,
 * LZ4 block and frame, xxh32, encoder, streaming decoder, compactor, TXIDs and filenames.
 *
 * @module
 */
export * from "./checksum.ts";
export * from "./lz4-block.ts";
export { useWasmKernels, useWasmModules } from "./wasm-kernels.ts";
export * from "./lz4-frame.ts";
export * from "./xxh32.ts";
export * from "./header.ts";
export * from "./page-index.ts";
export * from "./encoder.ts";
export * from "./decoder.ts";
export * from "./compactor.ts";
export * from "./txid.ts";
export { ByteSource, type ByteInput } from "./byte-source.ts";
