/**
 * CRC-64/ISO exactly as Go's `hash/crc64` computes it with `crc64.ISO` (reflected polynomial
 * 0xD800000000000000, init and xorout all ones), and the LTX checksums built on it.
 *
 * Speed: the ISO polynomial's reduction term has degree 4, so 32 input bits fold at once with shifts
 * and XORs on two int32 halves of the state — no table and no BigInt in the hot loop. For a
 * little-endian 32-bit input word w:  v = lo ^ w;  lo' = hi ^ v<<31 ^ v<<29 ^ v<<28;
 * hi' = v ^ v>>>1 ^ v>>>3 ^ v>>>4, applied two words at a time, eight words per loop (foldWords). Unaligned heads and
 * tails go through a byte table. Whole 64 KiB chunks go through the WebAssembly SIMD kernel
 * (wasm-kernels.ts: eight lanes of this fold) where the runtime has it.
 */

import { CRC_CHUNK, crc64Kernel } from "./wasm-kernels.ts";

/** Bit 63: set on every stored LTX checksum, so a present checksum is never 0. */
export const CHECKSUM_FLAG = 1n << 63n;

const TLO = new Uint32Array(256);
const THI = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let lo = i, hi = 0;
  for (let k = 0; k < 8; k++) {
    const bit = lo & 1;
    lo = (lo >>> 1) | ((hi & 1) << 31);
    hi = hi >>> 1;
    if (bit) hi ^= 0xd8000000;
  }
  TLO[i] = lo >>> 0;
  THI[i] = hi >>> 0;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// One cached word view per buffer: creating a view per call costs more than hashing a small page.
// Inputs below SMALL bytes (page headers) take the byte path and never touch the cache, so hashing a
// 10-byte header from the file buffer and then a page from another buffer does not rebuild views.
let viewBuf: ArrayBufferLike | null = null;
let view32: Int32Array<ArrayBufferLike> = new Int32Array(0);
const SMALL = 32;
// Long inputs go through foldWords in slices of this many words: a small function called often is
// optimised as a whole, where one long-running loop would be compiled by on-stack replacement.
const SLICE = 4096;

// The state lives in these two variables during an update; Crc64 copies it in and out.
let sLo = 0, sHi = 0;

function updateBytes(data: Uint8Array, i: number, end: number): void {
  let lo = sLo, hi = sHi;
  for (; i < end; i++) {
    const idx = (lo ^ data[i]!) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ TLO[idx]!;
    hi = (hi >>> 8) ^ THI[idx]!;
  }
  sLo = lo;
  sHi = hi;
}

// Two words at once. With f(x) = x<<31 ^ x<<29 ^ x<<28 and g(x) = x ^ x>>>1 ^ x>>>3 ^ x>>>4 the
// one-word step is v = lo ^ w; lo' = hi ^ f(v); hi' = g(v). Two steps, for words w0 then w1, give
// (v = lo ^ w0, a = hi ^ w1): lo'' = g(v) ^ f(a) ^ f(f(v)) and hi'' = g(a) ^ g(f(v)); f(f(v)) = 0 as
// f keeps only bits 28-31, and g(f(v)) depends on the low four bits of v alone (GF4 below). Fewer
// operations per byte and a shorter dependency chain than two single steps. Fewer still:
// g(x) = t ^ t>>>3 with t = x ^ x>>>1, and f(x) = (x ^ x<<1)<<28 ^ x<<31.
const GF4 = new Int32Array(16);
for (let x = 0; x < 16; x++) {
  const f = (x << 31) ^ (x << 29) ^ (x << 28);
  GF4[x] = f ^ (f >>> 1) ^ (f >>> 3) ^ (f >>> 4);
}

// Eight words per iteration (the engine reloads the array's base and checks its map once per
// iteration). The masks tell the compiler every index stays below 2^31 (a word view holds at most
// 2^30 words), so `w + 7` needs no overflow check; `| 0` keeps the state in 32-bit registers.
function foldWords(v32: Int32Array<ArrayBufferLike>, w: number, end: number): void {
  w &= 0x3fffffff;
  end &= 0x3fffffff;
  let lo = sLo | 0, hi = sHi | 0;
  for (const end8 = end - 7; w < end8; w += 8) {
    let v = lo ^ v32[w]!, a = hi ^ v32[w + 1]!;
    let t = v ^ (v >>> 1), u = a ^ (a >>> 1);
    lo = t ^ (t >>> 3) ^ (a << 31) ^ ((a ^ (a << 1)) << 28);
    hi = u ^ (u >>> 3) ^ GF4[v & 15]!;
    v = lo ^ v32[w + 2]!;
    a = hi ^ v32[w + 3]!;
    t = v ^ (v >>> 1);
    u = a ^ (a >>> 1);
    lo = t ^ (t >>> 3) ^ (a << 31) ^ ((a ^ (a << 1)) << 28);
    hi = u ^ (u >>> 3) ^ GF4[v & 15]!;
    v = lo ^ v32[w + 4]!;
    a = hi ^ v32[w + 5]!;
    t = v ^ (v >>> 1);
    u = a ^ (a >>> 1);
    lo = t ^ (t >>> 3) ^ (a << 31) ^ ((a ^ (a << 1)) << 28);
    hi = u ^ (u >>> 3) ^ GF4[v & 15]!;
    v = lo ^ v32[w + 6]!;
    a = hi ^ v32[w + 7]!;
    t = v ^ (v >>> 1);
    u = a ^ (a >>> 1);
    lo = t ^ (t >>> 3) ^ (a << 31) ^ ((a ^ (a << 1)) << 28);
    hi = u ^ (u >>> 3) ^ GF4[v & 15]!;
  }
  for (; w < end; w++) {
    const v = lo ^ v32[w]!;
    lo = hi ^ (v << 31) ^ (v << 29) ^ (v << 28);
    hi = v ^ (v >>> 1) ^ (v >>> 3) ^ (v >>> 4);
  }
  sLo = lo;
  sHi = hi;
}

/** Folds data[start, end) into the state. */
function updateState(data: Uint8Array, start = 0, end = data.length): void {
  if (end - start >= CRC_CHUNK) start = updateChunks(data, start, end);
  const n = end - start;
  if (n < SMALL || !LITTLE_ENDIAN) return updateBytes(data, start, end);
  const base = data.byteOffset + start;
  // Byte path up to a 4-byte boundary of the underlying buffer.
  const head = (4 - (base & 3)) & 3;
  updateBytes(data, start, start + head);
  if (data.buffer !== viewBuf) {
    viewBuf = data.buffer;
    view32 = new Int32Array(data.buffer, 0, data.buffer.byteLength >>> 2);
  }
  const words = (n - head) >>> 2;
  const first = (base + head) >>> 2, last = first + words;
  for (let w = first; w < last; w += SLICE) foldWords(view32, w, Math.min(last, w + SLICE));
  updateBytes(data, start + head + (words << 2), end);
}

/** Whole 64 KiB chunks through the WebAssembly kernel, when there is one; returns where it stopped. */
function updateChunks(data: Uint8Array, start: number, end: number): number {
  const k = crc64Kernel();
  if (k === null) return start;
  const st = k.state;
  st[0] = sLo;
  st[1] = sHi;
  for (; end - start >= CRC_CHUNK; start += CRC_CHUNK) {
    k.mem.set(data.subarray(start, start + CRC_CHUNK));
    k.chunk();
  }
  sLo = st[0]!;
  sHi = st[1]!;
  return start;
}

function toBigInt(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Streaming CRC-64/ISO (Go `crc64.New(crc64.MakeTable(crc64.ISO))`). */
export class Crc64 {
  // Stored complemented, as the table-driven form works on ~crc.
  #lo = -1;
  #hi = -1;

  update(data: Uint8Array): this {
    return this.updateRange(data, 0, data.length);
  }

  /** Adds data[start, end) (no subarray needed on hot paths). */
  updateRange(data: Uint8Array, start: number, end: number): this {
    sLo = this.#lo;
    sHi = this.#hi;
    updateState(data, start, end);
    this.#lo = sLo;
    this.#hi = sHi;
    return this;
  }

  /** The CRC of everything so far (without the flag). Does not reset. */
  digest(): bigint {
    return toBigInt(~this.#lo, ~this.#hi);
  }

  /** The digest as two u32 halves (no BigInt), for hot paths. */
  digestParts(): [lo: number, hi: number] {
    return [~this.#lo >>> 0, ~this.#hi >>> 0];
  }

  reset(): void {
    this.#lo = -1;
    this.#hi = -1;
  }
}

/** One-shot CRC-64/ISO (no flag). */
export function crc64(data: Uint8Array): bigint {
  sLo = -1;
  sHi = -1;
  updateState(data);
  return toBigInt(~sLo, ~sHi);
}

/** The SQLite page holding PENDING_BYTE, never stored in LTX files. */
export function lockPgno(pageSize: number): number {
  return Math.floor(0x40000000 / pageSize) + 1;
}

const pgnoBuf = new Uint8Array(4);

/** Raw page CRC halves: CRC(be32(pgno) ‖ data). */
function pageCrcParts(pgno: number, data: Uint8Array): void {
  pgnoBuf[0] = pgno >>> 24;
  pgnoBuf[1] = pgno >>> 16;
  pgnoBuf[2] = pgno >>> 8;
  pgnoBuf[3] = pgno;
  sLo = -1;
  sHi = -1;
  updateState(pgnoBuf);
  updateState(data);
  sLo = ~sLo;
  sHi = ~sHi;
}

/** `Flag | CRC(be32(pgno) ‖ data)` (ltx.ChecksumPage). */
export function pageChecksum(pgno: number, data: Uint8Array): bigint {
  pageCrcParts(pgno, data);
  return CHECKSUM_FLAG | toBigInt(sLo, sHi);
}

/**
 * The rolling database checksum: `Flag | XOR over pages (lock page excluded) of CRC(be32(pgno) ‖ page)`.
 * Order-free, so a page update is remove(old) + add(new).
 */
export class DatabaseChecksum {
  readonly pageSize: number;
  #lock: number;
  #lo: number;
  #hi: number;

  /** `initial` defaults to the checksum of an empty database (the flag alone). */
  constructor(pageSize: number, initial: bigint = CHECKSUM_FLAG) {
    this.pageSize = pageSize;
    this.#lock = lockPgno(pageSize);
    this.#lo = Number(initial & 0xffffffffn) | 0;
    this.#hi = Number((initial >> 32n) & 0x7fffffffn) | 0;
  }

  add(pgno: number, data: Uint8Array): void {
    if (pgno === this.#lock) return;
    pageCrcParts(pgno, data);
    this.#lo ^= sLo;
    this.#hi ^= sHi;
  }

  remove(pgno: number, data: Uint8Array): void {
    this.add(pgno, data); // XOR is its own inverse
  }

  value(): bigint {
    return CHECKSUM_FLAG | toBigInt(this.#lo, this.#hi & 0x7fffffff);
  }
}

/** Checksum of a whole SQLite image of `pageSize`-byte pages, lock page excluded (`ltx checksum`). */
export function databaseChecksum(db: Uint8Array, pageSize: number): bigint {
  const c = new DatabaseChecksum(pageSize);
  const n = Math.floor(db.length / pageSize);
  for (let p = 0; p < n; p++) c.add(p + 1, db.subarray(p * pageSize, (p + 1) * pageSize));
  return c.value();
}
