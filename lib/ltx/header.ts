/**
 * The 100-byte LTX header, the 6-byte page header and the 16-byte trailer (spec §4, §5.1, §7.1),
 * with Go's validation rules and messages.
 */
import { LtxError } from "../errors.ts";
import { CHECKSUM_FLAG } from "./checksum.ts";

/** Bytes of an LTX header. */
export const HEADER_SIZE = 100;
/** Bytes of a page header (pgno, flags). */
export const PAGE_HEADER_SIZE = 6;
/** Bytes of an LTX trailer (post-apply checksum, file checksum). */
export const TRAILER_SIZE = 16;
/** Header flag of v1 files: pages are LZ4-compressed. */
export const HEADER_FLAG_COMPRESS_LZ4 = 0x1; // v1 only
/** Header flag: the file carries no database checksums (pre- and post-apply are zero). */
export const HEADER_FLAG_NO_CHECKSUM = 0x2;
/** Page header flag: a size field follows (block-encoded pages of v3). */
export const PAGE_HEADER_FLAG_SIZE = 0x1;
const MAGIC = 0x4c545831; // "LTX1"

/** An LTX header. TXIDs, checksums and the node ID are bigint; the timestamp is ms since the epoch. */
export interface Header {
  flags: number;
  pageSize: number;
  /** Database size in pages after applying this file. */
  commit: number;
  minTXID: bigint;
  maxTXID: bigint;
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
  preApplyChecksum: bigint;
  walOffset: number;
  walSize: number;
  walSalt1: number;
  walSalt2: number;
  nodeID: bigint;
}

/** An LTX trailer: the database checksum after applying the file, and the file's own checksum. */
export interface Trailer {
  postApplyChecksum: bigint;
  fileChecksum: bigint;
}

/** A header with every field zero except those given. */
export function newHeader(h: Partial<Header> & Pick<Header, "pageSize" | "commit" | "minTXID" | "maxTXID">): Header {
  return { flags: 0, timestamp: 0, preApplyChecksum: 0n, walOffset: 0, walSize: 0, walSalt1: 0, walSalt2: 0, nodeID: 0n, ...h };
}

/** True when the file is a snapshot (its range starts at TXID 1). */
export function isSnapshot(h: Header): boolean {
  return h.minTXID === 1n;
}

/** True when the header carries HEADER_FLAG_NO_CHECKSUM. */
export function isNoChecksum(h: Header): boolean {
  return (h.flags & HEADER_FLAG_NO_CHECKSUM) !== 0;
}

/** True for SQLite's page sizes: powers of two from 512 to 65536. */
export function isValidPageSize(n: number): boolean {
  return Number.isInteger(n) && n >= 512 && n <= 65536 && (n & (n - 1)) === 0;
}

function invalid(msg: string): LtxError {
  return new LtxError("INVALID_HEADER", msg);
}

/** Go's Header.Validate. `allowFlags` extends the mask (v1 allows the CompressLZ4 bit). */
export function validateHeader(h: Header, allowFlags = 0): void {
  if ((h.flags & ~(HEADER_FLAG_NO_CHECKSUM | allowFlags)) !== 0) throw invalid(`invalid flags: 0x${(h.flags >>> 0).toString(16).padStart(8, "0")}`);
  if (!isValidPageSize(h.pageSize)) throw invalid(`invalid page size: ${h.pageSize}`);
  if (h.minTXID === 0n) throw invalid("minimum transaction id required");
  if (h.maxTXID === 0n) throw invalid("maximum transaction id required");
  if (h.minTXID > h.maxTXID) throw invalid(`transaction ids out of order: (${h.minTXID},${h.maxTXID})`);
  if (h.walOffset < 0) throw invalid(`wal offset cannot be negative: ${h.walOffset}`);
  if (h.walSize < 0) throw invalid(`wal size cannot be negative: ${h.walSize}`);
  if ((h.walSalt1 !== 0 || h.walSalt2 !== 0) && h.walOffset === 0) throw invalid("wal offset required if salt exists");
  if (h.walOffset === 0 && h.walSize !== 0) throw invalid("wal offset required if wal size exists");
  if (isSnapshot(h)) {
    if (h.preApplyChecksum !== 0n) throw invalid("pre-apply checksum must be zero on snapshots");
  } else if (isNoChecksum(h)) {
    if (h.preApplyChecksum !== 0n) throw invalid("pre-apply checksum not allowed");
  } else {
    if (h.preApplyChecksum === 0n) throw invalid("pre-apply checksum required on non-snapshot files");
    if ((h.preApplyChecksum & CHECKSUM_FLAG) === 0n) throw invalid("invalid pre-apply checksum format");
  }
}

function checkRange(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new LtxError("INVALID_ARGUMENT", `header field ${name} out of range: ${v}`);
}

/** Writes a safe integer as a big-endian int64 without a BigInt (every header encode writes three). */
function setInt64(v: DataView, o: number, n: number): void {
  const hi = Math.floor(n / 4294967296);
  v.setInt32(o, hi);
  v.setUint32(o + 4, n - hi * 4294967296);
}

/** The checks encodeHeader runs before it writes (Go's validation, then the ranges of the fields). */
export function checkHeader(h: Header, allowFlags = 0): void {
  validateHeader(h, allowFlags);
  checkRange("commit", h.commit, 0xffffffff);
  checkRange("walSalt1", h.walSalt1, 0xffffffff);
  checkRange("walSalt2", h.walSalt2, 0xffffffff);
  if (!Number.isSafeInteger(h.timestamp)) throw new LtxError("INVALID_ARGUMENT", `header field timestamp out of range: ${h.timestamp}`);
  if (!Number.isSafeInteger(h.walOffset)) throw new LtxError("INVALID_ARGUMENT", `header field walOffset out of range: ${h.walOffset}`);
  if (!Number.isSafeInteger(h.walSize)) throw new LtxError("INVALID_ARGUMENT", `header field walSize out of range: ${h.walSize}`);
}

/** Validates and encodes a header. */
export function encodeHeader(h: Header, allowFlags = 0): Uint8Array {
  checkHeader(h, allowFlags);
  const b = new Uint8Array(HEADER_SIZE);
  writeHeader(h, new DataView(b.buffer));
  return b;
}

/**
 * Validates a header and writes it into `out` at `at` (the 100 bytes there must be zeros, as in a
 * new array): encodeHeader without an array of its own.
 */
export function encodeHeaderInto(h: Header, out: Uint8Array, at: number, allowFlags = 0): void {
  checkHeader(h, allowFlags);
  writeHeader(h, new DataView(out.buffer, out.byteOffset + at, HEADER_SIZE));
}

function writeHeader(h: Header, v: DataView): void {
  v.setUint32(0, MAGIC);
  v.setUint32(4, h.flags >>> 0);
  v.setUint32(8, h.pageSize);
  v.setUint32(12, h.commit);
  v.setBigUint64(16, h.minTXID);
  v.setBigUint64(24, h.maxTXID);
  setInt64(v, 32, h.timestamp);
  v.setBigUint64(40, h.preApplyChecksum);
  setInt64(v, 48, h.walOffset);
  setInt64(v, 56, h.walSize);
  v.setUint32(64, h.walSalt1);
  v.setUint32(68, h.walSalt2);
  v.setBigUint64(72, h.nodeID);
}

function safe(name: string, v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new LtxError("LIMIT_EXCEEDED", `header field ${name} exceeds 2^53: ${v}`);
  }
  return Number(v);
}

/** Decodes a header (magic check, then Go's validation). The reserved bytes 80..99 are ignored. */
export function decodeHeader(b: Uint8Array, allowFlags = 0): Header {
  if (b.length < HEADER_SIZE) throw new LtxError("UNEXPECTED_EOF", `decode header: need ${HEADER_SIZE} bytes, got ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, HEADER_SIZE);
  if (v.getUint32(0) !== MAGIC) throw new LtxError("INVALID_LTX_FILE", "unmarshal header: invalid LTX file");
  const h: Header = {
    flags: v.getUint32(4),
    pageSize: v.getUint32(8),
    commit: v.getUint32(12),
    minTXID: v.getBigUint64(16),
    maxTXID: v.getBigUint64(24),
    timestamp: safe("timestamp", v.getBigInt64(32)),
    preApplyChecksum: v.getBigUint64(40),
    walOffset: safe("walOffset", v.getBigInt64(48)),
    walSize: safe("walSize", v.getBigInt64(56)),
    walSalt1: v.getUint32(64),
    walSalt2: v.getUint32(68),
    nodeID: v.getBigUint64(72),
  };
  validateHeader(h, allowFlags);
  return h;
}

/** Go's Trailer.Validate (the encoder's rules). */
export function validateTrailer(h: Header, t: Trailer): void {
  const bad = (m: string) => new LtxError("INVALID_TRAILER", m);
  if (isNoChecksum(h)) {
    if (t.postApplyChecksum !== 0n) throw bad("post-apply checksum not allowed");
  } else {
    if (t.postApplyChecksum === 0n) throw bad("post-apply checksum required");
    if ((t.postApplyChecksum & CHECKSUM_FLAG) === 0n) throw bad("invalid post-apply checksum format");
  }
  if (t.fileChecksum === 0n) throw bad("file checksum required");
  if ((t.fileChecksum & CHECKSUM_FLAG) === 0n) throw bad("invalid file checksum format");
}
