/**
 * The page index (spec §6): uvarint (pgno, offset, size) triples sorted by pgno, a 0x00 terminator,
 * then a u64 BE length of entries + terminator. Random access reads it from a file's tail and
 * decodes one page frame from a byte range.
 */
import { LtxError } from "../errors.ts";
import { decompressBlock } from "./lz4-block.ts";
import { decodeFrame, frameLength } from "./lz4-frame.ts";
import { PAGE_HEADER_FLAG_SIZE, PAGE_HEADER_SIZE, TRAILER_SIZE } from "./header.ts";

/** Where one page lies in an LTX file: its number, and the offset and size of its frame. */
export interface PageIndexEntry {
  pgno: number;
  /** Absolute offset of the page frame (its 6-byte header). */
  offset: number;
  /** Whole frame size: 6 + [4 + n] or 6 + LZ4 frame length. */
  size: number;
}

/** Litestream's first tail read: the last 32 KiB. */
export const ESTIMATED_PAGE_INDEX_SIZE = 32 * 1024;

function putUvarint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** Encodes entries + terminator + the u64 size field. */
export function encodePageIndex(entries: readonly PageIndexEntry[]): Uint8Array {
  const b: number[] = [];
  for (const e of entries) {
    putUvarint(b, e.pgno);
    putUvarint(b, e.offset);
    putUvarint(b, e.size);
  }
  b.push(0);
  const out = new Uint8Array(b.length + 8);
  out.set(b);
  new DataView(out.buffer).setBigUint64(b.length, BigInt(b.length));
  return out;
}

function bad(msg: string): LtxError {
  return new LtxError("INVALID_PAGE_INDEX", `read page index: ${msg}`);
}

/** Reads a uvarint at p; returns [value, next] (values beyond 2^53 are rejected). */
function uvarint(b: Uint8Array, p: number, end: number): [number, number] {
  let v = 0, mul = 1;
  for (let i = 0; i < 10; i++) {
    if (p >= end) throw bad("unexpected end of index");
    const c = b[p++]!;
    v += (c & 0x7f) * mul;
    if (c < 0x80) {
      if (v > Number.MAX_SAFE_INTEGER) throw bad("varint overflow");
      return [v, p];
    }
    mul *= 128;
  }
  throw bad("varint overflow");
}

/**
 * Decodes index entries from b[start, end) which must end exactly at the terminator. `strict`
 * checks ascending pgnos and frame bounds against `maxOffset` (the start of the end marker).
 */
export function decodePageIndexEntries(b: Uint8Array, start: number, end: number, strict = false, maxOffset = Infinity): PageIndexEntry[] {
  const out: PageIndexEntry[] = [];
  let p = start;
  let prev = 0;
  for (;;) {
    let pgno: number;
    [pgno, p] = uvarint(b, p, end);
    if (pgno === 0) break;
    if (pgno > 0xffffffff) throw bad(`page number out of range: ${pgno}`);
    let offset: number, size: number;
    [offset, p] = uvarint(b, p, end);
    [size, p] = uvarint(b, p, end);
    if (strict) {
      if (pgno <= prev) throw bad(`page numbers not ascending: ${prev},${pgno}`);
      if (offset < 100 || size < PAGE_HEADER_SIZE || offset + size > maxOffset) throw bad(`entry for page ${pgno} out of bounds (offset ${offset}, size ${size})`);
    }
    prev = pgno;
    out.push({ pgno, offset, size });
  }
  if (p !== end) throw bad(`index size field says ${end - start} bytes, entries end after ${p - start}`);
  return out;
}

/**
 * Parses the page index from the tail of a file of `fileSize` bytes (`tail` = its last tail.length
 * bytes). Returns `{ needed }` when the tail is too short to hold the whole index.
 */
export function decodePageIndexFromTail(tail: Uint8Array, fileSize: number): { entries: PageIndexEntry[] } | { needed: number } {
  const min = 6 + 1 + 8 + TRAILER_SIZE;
  if (fileSize < 100 + min || tail.length < 8 + TRAILER_SIZE) throw bad(`file of ${fileSize} bytes is too small to hold an index`);
  if (tail.length > fileSize) throw new LtxError("INVALID_ARGUMENT", "tail longer than the file");
  const v = new DataView(tail.buffer, tail.byteOffset, tail.length);
  const sizeBig = v.getBigUint64(tail.length - TRAILER_SIZE - 8);
  if (sizeBig < 1n || sizeBig > BigInt(fileSize - 100 - 6 - 8 - TRAILER_SIZE)) throw bad(`index size ${sizeBig} is out of bounds for a file of ${fileSize} bytes`);
  const size = Number(sizeBig);
  const needed = size + 8 + TRAILER_SIZE;
  if (tail.length < needed) return { needed };
  const start = tail.length - needed;
  const indexStart = fileSize - needed;
  return { entries: decodePageIndexEntries(tail, start, start + size, true, indexStart - 6) };
}

/** Reads the page index of a stored file with at most two ranged reads (32 KiB tail first, as Go). */
export async function readPageIndex(read: (offset: number, length: number) => Promise<Uint8Array>, fileSize: number): Promise<PageIndexEntry[]> {
  const n = Math.min(fileSize, ESTIMATED_PAGE_INDEX_SIZE);
  const first = await read(fileSize - n, n);
  if (first.length !== n) throw new LtxError("UNEXPECTED_EOF", `read page index: short read (${first.length} of ${n} bytes)`);
  const r = decodePageIndexFromTail(first, fileSize);
  if ("entries" in r) return r.entries;
  const second = await read(fileSize - r.needed, r.needed);
  if (second.length !== r.needed) throw new LtxError("UNEXPECTED_EOF", `read page index: short read (${second.length} of ${r.needed} bytes)`);
  const r2 = decodePageIndexFromTail(second, fileSize);
  if ("entries" in r2) return r2.entries;
  throw bad("index did not fit the second read");
}

/** Decodes one page frame (file bytes [offset, offset+size)) of either encoding. */
export function decodePageFrame(frame: Uint8Array, pageSize: number): { pgno: number; data: Uint8Array } {
  if (frame.length < PAGE_HEADER_SIZE) throw new LtxError("UNEXPECTED_EOF", "decode page frame: shorter than a page header");
  const v = new DataView(frame.buffer, frame.byteOffset, frame.length);
  const pgno = v.getUint32(0), flags = v.getUint16(4);
  if (pgno === 0) throw new LtxError("INVALID_PAGE_HEADER", "page number required");
  if (flags & ~PAGE_HEADER_FLAG_SIZE) throw new LtxError("INVALID_PAGE_HEADER", `invalid page header flags: 0x${flags.toString(16).padStart(4, "0")}`);
  const data = new Uint8Array(pageSize);
  if (flags & PAGE_HEADER_FLAG_SIZE) {
    if (frame.length < 10) throw new LtxError("UNEXPECTED_EOF", "decode page frame: truncated size");
    const n = v.getUint32(6);
    if (n !== frame.length - 10) throw new LtxError("INVALID_PAGE_INDEX", `decode page frame: size field ${n} does not match frame of ${frame.length - 10} bytes`);
    const got = decompressBlock(frame.subarray(10), data);
    if (got !== pageSize) throw new LtxError("CORRUPT_LZ4", `decompress block: decoded ${got} bytes, expected ${pageSize}`);
  } else {
    const body = frame.subarray(6);
    const len = frameLength(body, 0);
    if (len !== body.length) throw new LtxError("INVALID_PAGE_INDEX", "decode page frame: LZ4 frame does not fill the range");
    const got = decodeFrame(body, data);
    if (got !== pageSize) throw new LtxError("CORRUPT_LZ4", `lz4: decoded ${got} bytes, expected ${pageSize}`);
  }
  return { pgno, data };
}
