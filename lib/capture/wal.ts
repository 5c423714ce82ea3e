/**
 * The SQLite WAL file format, bytes only (https://www.sqlite.org/fileformat.html#the_write_ahead_log):
 * the 32-byte header, the 24-byte frame header, salts and the cumulative checksum in either byte
 * order. Every field is big-endian on disk; the magic's low bit says in which order the checksum
 * reads the 32-bit words it sums (0x377f0682: little-endian, 0x377f0683: big-endian).
 */
import { LtxError } from "../errors.ts";
import { isValidPageSize } from "../ltx/header.ts";

/** Size of the SQLite WAL header in bytes. */
export const WAL_HEADER_SIZE = 32;
/** Size of a WAL frame header in bytes (the page follows it). */
export const WAL_FRAME_HEADER_SIZE = 24;
/** Magic of a WAL whose checksums sum little-endian words. */
export const WAL_MAGIC_LE = 0x377f0682;
/** Magic of a WAL whose checksums sum big-endian words. */
export const WAL_MAGIC_BE = 0x377f0683;
/** The only WAL format version (3.7.0). */
export const WAL_VERSION = 3007000;

/** A running WAL checksum: the two 32-bit sums. */
export type WalChecksum = readonly [number, number];

/** The 32-byte WAL header: magic (checksum byte order), version, page size, checkpoint sequence, salts, checksum. */
export interface WalHeader {
  /** True for magic 0x377f0683 (checksums over big-endian words). */
  bigEndian: boolean;
  pageSize: number;
  checkpointSeq: number;
  salt1: number;
  salt2: number;
  /** The header checksum (over bytes 0..23), also the seed of the first frame's checksum. */
  checksum: WalChecksum;
}

/** A 24-byte WAL frame header: page number, database size after a commit (0 otherwise), salts, cumulative checksum. */
export interface WalFrameHeader {
  pgno: number;
  /** Database size in pages after this frame for a commit frame, else 0. */
  commit: number;
  salt1: number;
  salt2: number;
  /** Cumulative checksum through this frame. */
  checksum: WalChecksum;
}

function bad(msg: string): LtxError {
  return new LtxError("INVALID_WAL", msg);
}

/** True on a big-endian machine (where an Int32Array reads words big-endian). */
const NATIVE_BIG_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 0;

/** A running checksum chain, updated in place (the hot loop of a WAL scan allocates nothing per frame). */
export interface Chain {
  s1: number;
  s2: number;
}

/** Adds the words w[from..to) (pairs, in the machine's order) to the chain: s1 += x0 + s2, s2 += x1 + s1. */
function addWords(w: Int32Array, from: number, to: number, c: Chain): void {
  let s1 = c.s1 | 0;
  let s2 = c.s2 | 0;
  for (let i = from; i < to; i += 2) {
    s1 = (s1 + w[i]! + s2) | 0;
    s2 = (s2 + w[i + 1]! + s1) | 0;
  }
  c.s1 = s1 >>> 0;
  c.s2 = s2 >>> 0;
}

/** addWords over the bytes v[from..to) read as words of the given byte order (an unaligned or foreign-order input). */
function addViewWords(v: DataView, from: number, to: number, le: boolean, c: Chain): void {
  let s1 = c.s1 | 0;
  let s2 = c.s2 | 0;
  for (let o = from; o < to; o += 8) {
    s1 = (s1 + v.getInt32(o, le) + s2) | 0;
    s2 = (s2 + v.getInt32(o + 4, le) + s1) | 0;
  }
  c.s1 = s1 >>> 0;
  c.s2 = s2 >>> 0;
}

/**
 * Adds `data` (a multiple of 8 bytes) to a running checksum: for each pair of 32-bit words
 * (x0, x1): s1 += x0 + s2, s2 += x1 + s1, modulo 2^32.
 */
export function walChecksum(bigEndian: boolean, data: Uint8Array, seed: WalChecksum = [0, 0]): WalChecksum {
  if (data.length % 8 !== 0) throw new LtxError("INVALID_ARGUMENT", `wal checksum input must be a multiple of 8 bytes, got ${data.length}`);
  const c: Chain = { s1: seed[0], s2: seed[1] };
  if (bigEndian !== NATIVE_BIG_ENDIAN || data.byteOffset % 4 !== 0) addViewWords(new DataView(data.buffer, data.byteOffset, data.length), 0, data.length, !bigEndian, c);
  // The words in the machine's own order (a WAL SQLite wrote on this machine): one Int32Array view
  // instead of a DataView call per word.
  else addWords(new Int32Array(data.buffer, data.byteOffset, data.length >> 2), 0, data.length >> 2, c);
  return [c.s1, c.s2];
}

/** Decodes and validates a WAL header (magic, version, page size, header checksum). */
export function decodeWalHeader(b: Uint8Array): WalHeader {
  if (b.length < WAL_HEADER_SIZE) throw new LtxError("UNEXPECTED_EOF", `decode wal header: need ${WAL_HEADER_SIZE} bytes, got ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, WAL_HEADER_SIZE);
  const magic = v.getUint32(0);
  if (magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE) throw bad(`decode wal header: invalid magic 0x${magic.toString(16).padStart(8, "0")}`);
  const version = v.getUint32(4);
  if (version !== WAL_VERSION) throw bad(`decode wal header: unsupported version ${version}`);
  const pageSize = v.getUint32(8);
  if (!isValidPageSize(pageSize)) throw bad(`decode wal header: invalid page size ${pageSize}`);
  const bigEndian = magic === WAL_MAGIC_BE;
  const want = walChecksum(bigEndian, b.subarray(0, 24));
  const got: WalChecksum = [v.getUint32(24), v.getUint32(28)];
  if (want[0] !== got[0] || want[1] !== got[1]) throw bad("decode wal header: header checksum mismatch");
  return { bigEndian, pageSize, checkpointSeq: v.getUint32(12), salt1: v.getUint32(16), salt2: v.getUint32(20), checksum: got };
}

/** Encodes a WAL header, computing its checksum. */
export function encodeWalHeader(h: Omit<WalHeader, "checksum">): Uint8Array {
  if (!isValidPageSize(h.pageSize)) throw new LtxError("INVALID_ARGUMENT", `invalid wal page size: ${h.pageSize}`);
  const b = new Uint8Array(WAL_HEADER_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, h.bigEndian ? WAL_MAGIC_BE : WAL_MAGIC_LE);
  v.setUint32(4, WAL_VERSION);
  v.setUint32(8, h.pageSize);
  v.setUint32(12, h.checkpointSeq >>> 0);
  v.setUint32(16, h.salt1 >>> 0);
  v.setUint32(20, h.salt2 >>> 0);
  const c = walChecksum(h.bigEndian, b.subarray(0, 24));
  v.setUint32(24, c[0]);
  v.setUint32(28, c[1]);
  return b;
}

/** Decodes a frame header (no validation: see `verifyWalFrame`). */
export function decodeWalFrameHeader(b: Uint8Array): WalFrameHeader {
  if (b.length < WAL_FRAME_HEADER_SIZE) throw new LtxError("UNEXPECTED_EOF", `decode wal frame header: need ${WAL_FRAME_HEADER_SIZE} bytes, got ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, WAL_FRAME_HEADER_SIZE);
  return { pgno: v.getUint32(0), commit: v.getUint32(4), salt1: v.getUint32(8), salt2: v.getUint32(12), checksum: [v.getUint32(16), v.getUint32(20)] };
}

/**
 * Checks one frame (24-byte header + page) against the WAL header's salts and the running checksum
 * `seed` (the previous frame's, or the header's for the first frame). Returns the frame's decoded
 * header when it belongs to this WAL generation and its checksum continues the chain, else null:
 * that is where SQLite itself stops reading the WAL.
 */
export function verifyWalFrame(frame: Uint8Array, wal: Pick<WalHeader, "bigEndian" | "pageSize" | "salt1" | "salt2">, seed: WalChecksum): WalFrameHeader | null {
  if (frame.length !== WAL_FRAME_HEADER_SIZE + wal.pageSize) throw new LtxError("INVALID_ARGUMENT", `wal frame must be ${WAL_FRAME_HEADER_SIZE + wal.pageSize} bytes, got ${frame.length}`);
  return new FrameReader(frame, wal).verify(0, { s1: seed[0], s2: seed[1] }) < 0 ? null : decodeWalFrameHeader(frame);
}

/**
 * Frames of one buffer read from a WAL (a whole number of frames from a frame boundary), checked as
 * `verifyWalFrame` checks them but read in place: one view of the buffer for every frame, the chain
 * updated in place.
 */
export class FrameReader {
  readonly #dv: DataView;
  /** The buffer's words in the machine's order, when that is the checksum's order and the buffer is aligned. */
  readonly #w: Int32Array | null;
  readonly #h: Pick<WalHeader, "bigEndian" | "pageSize" | "salt1" | "salt2">;
  /** The chain through the frame being checked (the caller's is updated only when it checks out). */
  readonly #t: Chain = { s1: 0, s2: 0 };

  constructor(buf: Uint8Array, h: Pick<WalHeader, "bigEndian" | "pageSize" | "salt1" | "salt2">) {
    this.#dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#w = h.bigEndian === NATIVE_BIG_ENDIAN && buf.byteOffset % 4 === 0 ? new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2) : null;
    this.#h = h;
  }

  /** Page number of the frame at `at`. */
  pgno(at: number): number {
    return this.#dv.getUint32(at);
  }

  /**
   * Checks the frame at `at` against the salts and continues `chain` through it: returns its
   * commit field (0 for a frame that is not a commit), or -1, with `chain` unchanged, when the frame
   * is not of this WAL generation or its checksum does not continue the chain.
   */
  verify(at: number, chain: Chain): number {
    const dv = this.#dv;
    const h = this.#h;
    if (dv.getUint32(at + 8) !== h.salt1 || dv.getUint32(at + 12) !== h.salt2 || dv.getUint32(at) === 0) return -1;
    const t = this.#t;
    t.s1 = chain.s1;
    t.s2 = chain.s2;
    // The frame header's first 8 bytes (page number, commit), then the page.
    const w = this.#w;
    if (w) {
      const i0 = at >> 2;
      addWords(w, i0, i0 + 2, t);
      addWords(w, i0 + 6, i0 + 6 + (h.pageSize >> 2), t);
    } else {
      const le = !h.bigEndian;
      addViewWords(dv, at, at + 8, le, t);
      addViewWords(dv, at + WAL_FRAME_HEADER_SIZE, at + WAL_FRAME_HEADER_SIZE + h.pageSize, le, t);
    }
    if (t.s1 !== dv.getUint32(at + 16) || t.s2 !== dv.getUint32(at + 20)) return -1;
    chain.s1 = t.s1;
    chain.s2 = t.s2;
    return dv.getUint32(at + 4);
  }
}

/** Encodes one frame (header + page) continuing the chain from `seed`; returns it and its checksum. */
export function encodeWalFrame(
  wal: Pick<WalHeader, "bigEndian" | "pageSize" | "salt1" | "salt2">,
  pgno: number,
  commit: number,
  page: Uint8Array,
  seed: WalChecksum,
): { frame: Uint8Array; checksum: WalChecksum } {
  if (page.length !== wal.pageSize) throw new LtxError("INVALID_ARGUMENT", `wal page must be ${wal.pageSize} bytes, got ${page.length}`);
  if (!Number.isInteger(pgno) || pgno < 1 || pgno > 0xffffffff) throw new LtxError("INVALID_ARGUMENT", `invalid wal frame page number: ${pgno}`);
  const frame = new Uint8Array(WAL_FRAME_HEADER_SIZE + wal.pageSize);
  const v = new DataView(frame.buffer);
  v.setUint32(0, pgno);
  v.setUint32(4, commit >>> 0);
  v.setUint32(8, wal.salt1 >>> 0);
  v.setUint32(12, wal.salt2 >>> 0);
  frame.set(page, WAL_FRAME_HEADER_SIZE);
  const c = walChecksum(wal.bigEndian, page, walChecksum(wal.bigEndian, frame.subarray(0, 8), seed));
  v.setUint32(16, c[0]);
  v.setUint32(20, c[1]);
  return { frame, checksum: c };
}

/** Size in bytes of a WAL holding `frames` frames of `pageSize` bytes. */
export function walSizeOf(pageSize: number, frames: number): number {
  return WAL_HEADER_SIZE + frames * (WAL_FRAME_HEADER_SIZE + pageSize);
}
