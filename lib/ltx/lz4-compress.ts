/**
 * The LZ4 block compressor (lz4 `doc/lz4_Block_format.md`): a 4-byte hash, three positions probed
 * per 8-byte read, a skip that grows with the distance from the last match, a never-cleared hash
 * table. It runs as a WebAssembly kernel (wasm-kernels.ts, same output) where the runtime allows;
 * the loops here run elsewhere.
 *
 * Speed notes: a page (at most 64 KiB) is compressed in a private workspace, as the decoder's (the
 * page copied in, the block written behind it, literals copied four bytes at a time).
 * Its hash table stores `position + base` and raises `base` per call, so a stale entry reads as
 * negative and the table never needs clearing.
 */
import { LtxError } from "../errors.ts";
import { compressBlockBound, MIN_MATCH, viewOfSrc, WS_SLACK } from "./lz4-block.ts";
import { lz4Kernels, WASM_IN, WASM_MAX_COMPRESS, WASM_OUT } from "./wasm-kernels.ts";

const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const HASH_LOG = 16;
const MAX_OFFSET = 65535;
const SKIP_LOG = 7;

function checkBound(n: number, dst: Uint8Array): void {
  if (dst.length < compressBlockBound(n)) {
    throw new LtxError("INVALID_ARGUMENT", `compress block: output of ${dst.length} bytes is below the bound ${compressBlockBound(n)}`);
  }
}

const table = new Int32Array(1 << HASH_LOG);
let base = 1;

function hash4(x: number): number {
  return Math.imul(x, 2654435761) >>> (32 - HASH_LOG);
}

/**
 * Compresses src into dst (which must hold compressBlockBound(src.length) bytes) and returns the
 * block length. Never fails: incompressible input becomes a literal-heavy block.
 */
export function compressBlock(src: Uint8Array, dst: Uint8Array): number {
  const n = src.length;
  checkBound(n, dst);
  const k = lz4Kernels();
  if (k !== null && n <= WASM_MAX_COMPRESS) {
    k.mem.set(src, WASM_IN);
    const len = k.compress(n);
    dst.set(k.mem.subarray(WASM_OUT, WASM_OUT + len));
    return len;
  }
  return compressLoops(src, dst);
}

/** The TypeScript compressor (every runtime); the kernel runs the same algorithm. */
export function compressLoops(src: Uint8Array, dst: Uint8Array): number {
  const n = src.length;
  checkBound(n, dst);
  if (n <= CW_IN_CAP) {
    // A page: compressed in a private workspace (one fixed DataView, as the decoder's).
    cwBytes.set(src, 0);
    const len = workspaceCompress(n);
    dst.set(cwBytes.subarray(CW_OUT, CW_OUT + len));
    return len;
  }
  return compressAny(src, dst);
}

// The compressor's workspace: the input copied to [0, n), the block written from CW_OUT, and slack
// after both for overshooting 4-byte copies.
const CW_IN_CAP = 65536;
const CW_OUT = CW_IN_CAP + WS_SLACK;
const cwBuffer = new ArrayBuffer(CW_OUT + compressBlockBound(CW_IN_CAP) + WS_SLACK);
const cwView = new DataView(cwBuffer);
const cwBytes = new Uint8Array(cwBuffer);

/** compressAny on the workspace input cwBytes[0, n), writing the block from CW_OUT; the same output. */
function workspaceCompress(n: number): number {
  const v = cwView, u = cwBytes;
  if (base > 0x3fff0000 - n) {
    table.fill(0);
    base = 1;
  }
  const b = base;
  base += n + 1;
  let op = CW_OUT;
  let anchor = 0;
  if (n >= MF_LIMIT + 1) {
    const mfLimit = n - MF_LIMIT;
    const matchLimit = n - LAST_LITERALS;
    let ip = 0;
    outer: for (;;) {
      let ref: number;
      for (;;) {
        if (ip + 2 > mfLimit) break outer;
        const lo = v.getInt32(ip, true), hi = v.getInt32(ip + 4, true);
        const s1 = (lo >>> 8) | (hi << 24);
        const h0 = hash4(lo), h1 = hash4(s1);
        const r0 = table[h0]! - b, r1 = table[h1]! - b;
        table[h0] = ip + b;
        table[h1] = ip + 1 + b;
        if (r0 >= 0 && ip - r0 <= MAX_OFFSET && v.getInt32(r0, true) === lo) {
          ref = r0;
          break;
        }
        const s2 = (lo >>> 16) | (hi << 16);
        const h2 = hash4(s2);
        const r2 = table[h2]! - b;
        if (r1 >= 0 && ip + 1 - r1 <= MAX_OFFSET && v.getInt32(r1, true) === s1) {
          ip += 1;
          ref = r1;
          break;
        }
        table[h2] = ip + 2 + b;
        if (r2 >= 0 && ip + 2 - r2 <= MAX_OFFSET && v.getInt32(r2, true) === s2) {
          ip += 2;
          ref = r2;
          break;
        }
        ip += 4 + ((ip + 2 - anchor) >>> SKIP_LOG);
      }
      while (ip > anchor && ref > 0 && u[ip - 1] === u[ref - 1]) {
        ip--;
        ref--;
      }
      let len = MIN_MATCH;
      while (ip + len + 4 <= matchLimit) {
        const x = v.getInt32(ip + len, true) ^ v.getInt32(ref + len, true);
        if (x !== 0) {
          len += (31 - Math.clz32(x & -x)) >>> 3;
          break;
        }
        len += 4;
      }
      if (ip + len + 4 > matchLimit) while (ip + len < matchLimit && u[ip + len] === u[ref + len]) len++;
      // The sequence: token, literal length, literals (4 bytes at a time, overshooting into the
      // slack or into bytes written next), offset, match length.
      const lit = ip - anchor, ml = len - MIN_MATCH;
      const mn = ml >= 15 ? 15 : ml;
      if (lit >= 15) {
        u[op++] = 0xf0 | mn;
        let r = lit - 15;
        while (r >= 255) {
          u[op++] = 255;
          r -= 255;
        }
        u[op++] = r;
      } else u[op++] = (lit << 4) | mn;
      for (let k = 0; k < lit; k += 4) v.setInt32(op + k, v.getInt32(anchor + k, true), true);
      op += lit;
      const offset = ip - ref;
      u[op++] = offset & 0xff;
      u[op++] = offset >>> 8;
      if (ml >= 15) {
        let r = ml - 15;
        while (r >= 255) {
          u[op++] = 255;
          r -= 255;
        }
        u[op++] = r;
      }
      ip += len;
      anchor = ip;
      if (ip > mfLimit) break;
      const p2 = ip - 2;
      table[hash4(v.getInt32(p2, true))] = p2 + b;
    }
  }
  const lit = n - anchor;
  op = writeLength(u, op, lit, 0);
  u.copyWithin(op, anchor, n);
  return op + lit - CW_OUT;
}

/** The compressor on any input (above one page: not in the workspace). */
function compressAny(src: Uint8Array, dst: Uint8Array): number {
  const n = src.length;
  if (base > 0x3fff0000 - n) {
    table.fill(0);
    base = 1;
  }
  const b = base;
  base += n + 1;
  const sv = viewOfSrc(src);
  const so = src.byteOffset;
  let op = 0;
  let anchor = 0;
  if (n >= MF_LIMIT + 1) {
    const mfLimit = n - MF_LIMIT; // a match may start at most here
    const matchLimit = n - LAST_LITERALS; // and must end before this
    let ip = 0;
    outer: for (;;) {
      // Find a match: three positions per step from one 8-byte read, then skip ahead, further the
      // longer nothing matched (the step pattern of Go's LZ4 block compressor).
      let ref: number;
      for (;;) {
        if (ip + 2 > mfLimit) break outer;
        const lo = sv.getInt32(so + ip, true), hi = sv.getInt32(so + ip + 4, true);
        const s1 = (lo >>> 8) | (hi << 24);
        const h0 = hash4(lo), h1 = hash4(s1);
        const r0 = table[h0]! - b, r1 = table[h1]! - b;
        table[h0] = ip + b;
        table[h1] = ip + 1 + b;
        if (r0 >= 0 && ip - r0 <= MAX_OFFSET && sv.getInt32(so + r0, true) === lo) {
          ref = r0;
          break;
        }
        const s2 = (lo >>> 16) | (hi << 16);
        const h2 = hash4(s2);
        const r2 = table[h2]! - b;
        if (r1 >= 0 && ip + 1 - r1 <= MAX_OFFSET && sv.getInt32(so + r1, true) === s1) {
          ip += 1;
          ref = r1;
          break;
        }
        table[h2] = ip + 2 + b;
        if (r2 >= 0 && ip + 2 - r2 <= MAX_OFFSET && sv.getInt32(so + r2, true) === s2) {
          ip += 2;
          ref = r2;
          break;
        }
        ip += 4 + ((ip + 2 - anchor) >>> SKIP_LOG);
      }
      // Extend backwards over equal bytes.
      while (ip > anchor && ref > 0 && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      // Extend forwards, four bytes at a time.
      let len = MIN_MATCH;
      while (ip + len + 4 <= matchLimit) {
        const x = sv.getInt32(so + ip + len, true) ^ sv.getInt32(so + ref + len, true);
        if (x !== 0) {
          len += (31 - Math.clz32(x & -x)) >>> 3;
          break;
        }
        len += 4;
      }
      if (ip + len + 4 > matchLimit) while (ip + len < matchLimit && src[ip + len] === src[ref + len]) len++;
      op = emitSequence(src, anchor, ip - anchor, ip - ref, len, dst, op);
      ip += len;
      anchor = ip;
      if (ip > mfLimit) break;
      const p2 = ip - 2;
      table[hash4(sv.getInt32(so + p2, true))] = p2 + b;
    }
  }
  // Last literals.
  const lit = n - anchor;
  op = writeLength(dst, op, lit, 0);
  dst.set(src.subarray(anchor, n), op);
  return op + lit;
}

/** Writes the token (with literal length) and extra literal-length bytes; returns the new position. */
/** Bytes of a literal-only LZ4 block of `n` bytes: the token, the length bytes, the literals. */
export function literalBlockSize(n: number): number {
  return n < 15 ? 1 + n : 1 + Math.floor((n - 15) / 255) + 1 + n;
}

/**
 * Writes `data` as a literal-only LZ4 block at out[at] (literalBlockSize(data.length) bytes) and
 * returns the offset after it: one sequence of literals, which is a valid last sequence. What an
 * L0 file's stored pages are: a copy instead of a compression, decoded by every LZ4 reader.
 */
export function writeLiteralBlock(data: Uint8Array, out: Uint8Array, at: number): number {
  const o = writeLength(out, at, data.length, 0);
  out.set(data, o);
  return o + data.length;
}

function writeLength(dst: Uint8Array, op: number, lit: number, matchNibble: number): number {
  if (lit >= 15) {
    dst[op++] = 0xf0 | matchNibble;
    let r = lit - 15;
    while (r >= 255) {
      dst[op++] = 255;
      r -= 255;
    }
    dst[op++] = r;
  } else {
    dst[op++] = (lit << 4) | matchNibble;
  }
  return op;
}

function emitSequence(src: Uint8Array, from: number, lit: number, offset: number, len: number, dst: Uint8Array, op: number): number {
  const ml = len - MIN_MATCH;
  op = writeLength(dst, op, lit, ml >= 15 ? 15 : ml);
  if (lit < 16) for (let i = 0; i < lit; i++) dst[op + i] = src[from + i]!;
  else dst.set(src.subarray(from, from + lit), op);
  op += lit;
  dst[op++] = offset & 0xff;
  dst[op++] = offset >>> 8;
  if (ml >= 15) {
    let r = ml - 15;
    while (r >= 255) {
      dst[op++] = 255;
      r -= 255;
    }
    dst[op++] = r;
  }
  return op;
}
