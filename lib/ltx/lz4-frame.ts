/**
 * LZ4 frame format (lz4 `doc/lz4_Frame_format.md`): the legacy per-page LTX encoding B and the
 * whole-body frames of v1 files. The writer emits exactly what pierrec/lz4 v4 writes for a page in
 * Go: FLG 0x64 (independent blocks, content checksum), BD 0x40 (64 KiB blocks), one block (stored
 * when compression does not shrink it), EndMark, xxh32 content checksum.
 */
import { LtxError, isLtxError } from "../errors.ts";
import { compressBlockBound, decompressBlock } from "./lz4-block.ts";
import { compressBlock } from "./lz4-compress.ts";
import { xxh32 } from "./xxh32.ts";

const MAGIC = 0x184d2204;
const FLG_INDEPENDENT = 0x20, FLG_BLOCK_CHECKSUM = 0x10, FLG_CONTENT_SIZE = 0x08, FLG_CONTENT_CHECKSUM = 0x04, FLG_DICT_ID = 0x01;
const BLOCK_MAX = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];

function corrupt(why: string): LtxError {
  return new LtxError("CORRUPT_LZ4", `lz4: ${why}`);
}

function u32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}
function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = v;
  b[i + 1] = v >>> 8;
  b[i + 2] = v >>> 16;
  b[i + 3] = v >>> 24;
}

let scratch = new Uint8Array(0);

/**
 * One page as one LZ4 frame, byte-for-byte in the layout Go writes; `compress` false writes the
 * page as a stored block (as Go does for a page that does not compress) without trying.
 */
export function encodeFrame(page: Uint8Array, compress = true): Uint8Array {
  let n = page.length + 1;
  if (compress) {
    const bound = compressBlockBound(page.length);
    if (scratch.length < bound) scratch = new Uint8Array(bound);
    n = compressBlock(page, scratch);
  }
  const stored = n > page.length;
  const blen = stored ? page.length : n;
  const out = new Uint8Array(7 + 4 + blen + 4 + 4);
  put32(out, 0, MAGIC);
  out[4] = 0x64;
  out[5] = 0x40;
  out[6] = 0xa7; // (xxh32([0x64, 0x40]) >> 8) & 0xff
  put32(out, 7, stored ? (blen | 0x80000000) >>> 0 : blen);
  out.set(stored ? page : scratch.subarray(0, n), 11);
  put32(out, 11 + blen, 0);
  put32(out, 15 + blen, xxh32(page));
  return out;
}

interface Descriptor {
  flg: number;
  blockMax: number;
  contentSize: number; // -1 when absent
  headerLen: number;
}

/** Parses the frame header at buf[o]; null when buf ends first. */
function descriptor(buf: Uint8Array, o: number): Descriptor | null {
  if (buf.length - o < 7) return null;
  if (u32(buf, o) !== MAGIC) throw corrupt("bad magic number");
  const flg = buf[o + 4]!, bd = buf[o + 5]!;
  if (flg >>> 6 !== 1) throw corrupt(`unsupported frame version ${flg >>> 6}`);
  if (flg & 0x02) throw corrupt("reserved FLG bit set");
  if (bd & 0x8f) throw corrupt("reserved BD bits set");
  const blockMax = BLOCK_MAX[(bd >>> 4) & 7]!;
  if (!blockMax) throw corrupt(`invalid block size id ${(bd >>> 4) & 7}`);
  let len = 2 + (flg & FLG_CONTENT_SIZE ? 8 : 0) + (flg & FLG_DICT_ID ? 4 : 0);
  if (buf.length - o < 4 + len + 1) return null;
  if (flg & FLG_DICT_ID) throw new LtxError("UNSUPPORTED", "lz4: frames with a dictionary ID are not supported");
  const hc = (xxh32(buf.subarray(o + 4, o + 4 + len)) >>> 8) & 0xff;
  if (hc !== buf[o + 4 + len]) throw corrupt("invalid header checksum");
  let contentSize = -1;
  if (flg & FLG_CONTENT_SIZE) {
    const lo = u32(buf, o + 6), hi = u32(buf, o + 10);
    if (hi > 0x1fffff) throw new LtxError("LIMIT_EXCEEDED", "lz4: content size too large");
    contentSize = hi * 2 ** 32 + lo;
  }
  len += 4 + 1;
  return { flg, blockMax, contentSize, headerLen: len };
}

/**
 * Length of the complete frame that starts at buf[offset], or -1 when buf ends before it does.
 * Reads headers only; throws CORRUPT_LZ4 on a malformed structure.
 */
export function frameLength(buf: Uint8Array, offset: number): number {
  const d = descriptor(buf, offset);
  if (!d) return -1;
  let p = offset + d.headerLen;
  for (;;) {
    if (buf.length - p < 4) return -1;
    const bsz = u32(buf, p);
    p += 4;
    if (bsz === 0) break;
    const size = bsz & 0x7fffffff;
    if (size > d.blockMax) throw corrupt(`block of ${size} bytes exceeds the frame's maximum ${d.blockMax}`);
    p += size + (d.flg & FLG_BLOCK_CHECKSUM ? 4 : 0);
  }
  if (d.flg & FLG_CONTENT_CHECKSUM) p += 4;
  return p > buf.length ? -1 : p - offset;
}

/** Decodes blocks, handing each to `sink`; returns the frame length. */
function walkBlocks(buf: Uint8Array, d: Descriptor, write: (block: Uint8Array, stored: boolean) => void): number {
  let p = d.headerLen;
  for (;;) {
    if (buf.length - p < 4) throw corrupt("truncated block header");
    const bsz = u32(buf, p);
    p += 4;
    if (bsz === 0) break;
    const size = bsz & 0x7fffffff;
    if (size > d.blockMax) throw corrupt(`block of ${size} bytes exceeds the frame's maximum ${d.blockMax}`);
    const extra = d.flg & FLG_BLOCK_CHECKSUM ? 4 : 0;
    if (buf.length - p < size + extra) throw corrupt("truncated block");
    const block = buf.subarray(p, p + size);
    if (extra && xxh32(block) !== u32(buf, p + size)) throw new LtxError("CHECKSUM_MISMATCH", "lz4: block checksum mismatch");
    write(block, (bsz & 0x80000000) !== 0);
    p += size + extra;
  }
  return p;
}

function checkContent(buf: Uint8Array, p: number, d: Descriptor, out: Uint8Array): number {
  if (d.contentSize >= 0 && d.contentSize !== out.length) throw corrupt(`content size ${d.contentSize} does not match decoded ${out.length}`);
  if (d.flg & FLG_CONTENT_CHECKSUM) {
    if (buf.length - p < 4) throw corrupt("truncated content checksum");
    if (xxh32(out) !== u32(buf, p)) throw new LtxError("CHECKSUM_MISMATCH", "lz4: invalid frame checksum");
    p += 4;
  }
  return p;
}

/**
 * Decodes the frame at the start of buf into dst and returns the bytes written. Verifies the header
 * checksum, block checksums when present and the content checksum.
 */
export function decodeFrame(buf: Uint8Array, dst: Uint8Array): number {
  const d = descriptor(buf, 0);
  if (!d) throw corrupt("truncated frame header");
  let n = 0;
  const p = walkBlocks(buf, d, (block, stored) => {
    if (stored) {
      if (block.length > dst.length - n) throw corrupt("stored block overflows the output");
      dst.set(block, n);
      n += block.length;
    } else {
      n += decompressBlock(block, d.flg & FLG_INDEPENDENT ? dst.subarray(n) : dst, d.flg & FLG_INDEPENDENT ? 0 : n);
    }
  });
  checkContent(buf, p, d, dst.subarray(0, n));
  return n;
}

/** Decodes a frame of unknown decompressed size, at most maxBytes (LIMIT_EXCEEDED beyond). */
export function decodeFrameToEnd(buf: Uint8Array, maxBytes: number): Uint8Array {
  const d = descriptor(buf, 0);
  if (!d) throw corrupt("truncated frame header");
  let out = new Uint8Array(Math.min(maxBytes, Math.max(d.blockMax, 1 << 16)));
  let n = 0;
  const ensure = (need: number) => {
    if (n + need <= out.length) return;
    if (n + need > maxBytes) throw new LtxError("LIMIT_EXCEEDED", `lz4: frame decodes to more than ${maxBytes} bytes`);
    const grown = new Uint8Array(Math.min(maxBytes, Math.max(out.length * 2, n + need)));
    grown.set(out.subarray(0, n));
    out = grown;
  };
  const p = walkBlocks(buf, d, (block, stored) => {
    ensure(stored ? block.length : Math.max(1, Math.min(d.blockMax, maxBytes - n)));
    if (stored) {
      out.set(block, n);
      n += block.length;
    } else {
      const room = Math.min(out.length, n + d.blockMax, maxBytes);
      try {
        n += decompressBlock(block, out.subarray(0, room), n);
      } catch (e) {
        if (room === maxBytes && isLtxError(e) && /overflow/.test(e.message)) {
          throw new LtxError("LIMIT_EXCEEDED", `lz4: frame decodes to more than ${maxBytes} bytes`);
        }
        throw e;
      }
    }
  });
  const res = out.subarray(0, n);
  checkContent(buf, p, d, res);
  return res;
}
