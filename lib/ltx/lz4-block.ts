/**
 * LZ4 block format (lz4 `doc/lz4_Block_format.md`): a bounds-checked decompressor, and the bound
 * of a compressed block. The compressor is lz4-compress.ts.
 *
 * Both run as WebAssembly kernels (wasm-kernels.ts, same checks, same output) where the runtime
 * allows; the loops here run elsewhere and name every error.
 *
 * Speed notes: a block of at most one 64 KiB page decoded from offset 0 (every LTX page) runs in a
 * private workspace: the input is copied behind the output region of one fixed ArrayBuffer, so one
 * DataView that never changes serves every load and store (the engine drops most of its checks), and
 * slack after both regions lets every copy move 8 or 16 bytes at a time, overshooting, with only the
 * format's own checks left in the loop. A block it rejects, and every other block (linked frame
 * blocks, larger ones), goes through the careful loops, which check every step and name the error:
 * there copies move four bytes at a time through DataView get/setInt32 when the room for the
 * overshoot has been checked, and offset-1 matches become `fill`.
 * The fast path of the workspace decoder takes a sequence whose token holds both lengths (at most
 * 14 literals and 18 match bytes) far from both ends without any length check: one 16-byte literal
 * copy, the offset check, a 16- or 20-byte match copy.
 */
import { LtxError } from "../errors.ts";
import { lz4Kernels, WASM_CAPACITY, WASM_IN, WASM_OUT } from "./wasm-kernels.ts";

/** The shortest match the LZ4 block format encodes. */
export const MIN_MATCH = 4;

/** Worst-case compressed size of n bytes (pierrec's CompressBlockBound). */
export function compressBlockBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

function corrupt(why: string): LtxError {
  return new LtxError("CORRUPT_LZ4", `decompress block: ${why}`);
}

// Cached views: one per underlying buffer.
let srcBuf: ArrayBufferLike | null = null;
let srcView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
let dstBuf: ArrayBufferLike | null = null;
let dstView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/** A DataView over the buffer of `a` (offsets stay `a.byteOffset`-based), cached for the next call on the same buffer. */
export function viewOfSrc(a: Uint8Array): DataView<ArrayBufferLike> {
  if (a.buffer !== srcBuf) {
    srcBuf = a.buffer;
    srcView = new DataView(a.buffer);
  }
  return srcView;
}
function viewOfDst(a: Uint8Array): DataView<ArrayBufferLike> {
  if (a.buffer !== dstBuf) {
    dstBuf = a.buffer;
    dstView = new DataView(a.buffer);
  }
  return dstView;
}

/**
 * Decompresses a raw LZ4 block into dst from `start` (earlier bytes of dst may be referenced, as
 * linked frame blocks do) and returns the number of bytes written. Malformed input
 * (a bad offset, a literal or match running past src or dst, a truncated length) throws
 * LtxError("CORRUPT_LZ4"); nothing is read or written out of bounds.
 */
export function decompressBlock(src: Uint8Array, dst: Uint8Array, start = 0): number {
  return decompressBlockAt(src, 0, src.length, dst, start);
}

/** decompressBlock of the block at src[from, to), without a subarray. */
export function decompressBlockAt(src: Uint8Array, from: number, to: number, dst: Uint8Array, start: number): number {
  checkRanges(src, from, to, dst, start);
  const k = lz4Kernels();
  const n = to - from;
  if (k !== null && start === 0 && n > 0 && n <= WASM_CAPACITY && dst.length <= WASM_CAPACITY) {
    const mem = k.mem;
    mem.set(from === 0 && to === src.length ? src : src.subarray(from, to), WASM_IN);
    const got = k.decompress(n, dst.length);
    if (got >= 0) {
      dst.set(got === outLength ? outView : outViewOf(mem, got));
      return got;
    }
    // Malformed: the loops below name the error.
  }
  return loops(src, from, to, dst, start);
}

function checkRanges(src: Uint8Array, from: number, to: number, dst: Uint8Array, start: number): void {
  if (!(from >= 0 && to <= src.length && from <= to)) throw new LtxError("INVALID_ARGUMENT", "decompress block: input range outside the buffer");
  if (!(start >= 0 && start <= dst.length)) throw new LtxError("INVALID_ARGUMENT", "decompress block: output start outside the buffer");
}

// The kernel's output as a view, kept for the next page of the same length.
let outView: Uint8Array = new Uint8Array(0);
let outLength = -1;
function outViewOf(mem: Uint8Array, n: number): Uint8Array {
  outView = mem.subarray(WASM_OUT, WASM_OUT + n);
  outLength = n;
  return outView;
}

/** The TypeScript decompressor (every runtime; names every error). */
export function decompressLoops(src: Uint8Array, from: number, to: number, dst: Uint8Array, start: number): number {
  checkRanges(src, from, to, dst, start);
  return loops(src, from, to, dst, start);
}

// The workspace: output at [0, WS_OUT_CAP), the input copied to [WS_IN, WS_IN + n), and WS_SLACK
// bytes after each region for overshooting copies (at most 16 bytes past a checked end).
const WS_OUT_CAP = 65536;
/** Slack after each workspace region, for copies that overshoot (8 or 16 bytes at a time). */
export const WS_SLACK = 64;
const WS_IN = WS_OUT_CAP + WS_SLACK;
const WS_IN_CAP = compressBlockBound(65536);
const wsBuffer = new ArrayBuffer(WS_IN + WS_IN_CAP + WS_SLACK);
const wsView = new DataView(wsBuffer);
const wsBytes = new Uint8Array(wsBuffer);
let wsOut = wsBytes.subarray(0, 0);

function loops(src: Uint8Array, from: number, to: number, dst: Uint8Array, start: number): number {
  const n = to - from, cap = dst.length;
  if (start === 0 && n > 0 && n <= WS_IN_CAP && cap <= WS_OUT_CAP) {
    wsBytes.set(from === 0 && to === src.length ? src : src.subarray(from, to), WS_IN);
    const got = workspaceDecode(n, cap);
    if (got >= 0) {
      if (wsOut.length !== got) wsOut = wsBytes.subarray(0, got);
      dst.set(wsOut);
      return got;
    }
    // Malformed: the careful loops name the error.
  }
  return carefulLoops(src, from, to, dst, start);
}

/**
 * Decodes the block at wsBytes[WS_IN, WS_IN + n) into wsBytes[0, cap); returns its length, or -1
 * if it is malformed (without saying how: the careful loops do). Reads may run up to 16 bytes past
 * the input and writes up to 16 bytes past cap, into the slack; nothing past the checked lengths is
 * ever interpreted or returned.
 */
function workspaceDecode(n: number, cap: number): number {
  const v = wsView, u = wsBytes;
  const sEnd = WS_IN + n;
  // Below these, a sequence with both lengths in its token (at most 14 literals, 18 match bytes)
  // can neither end the block nor run past either end, so it needs no length checks.
  const sFast = sEnd - 17, dFast = cap - 32;
  let s = WS_IN, d = 0;
  for (;;) {
    if (s >= sEnd) return -1; // a match must be followed by a token
    const token = u[s++]!;
    if (s < sFast && d < dFast && token < 0xf0 && (token & 15) !== 15) {
      const lit = token >>> 4;
      v.setInt32(d, v.getInt32(s, true), true);
      v.setInt32(d + 4, v.getInt32(s + 4, true), true);
      v.setInt32(d + 8, v.getInt32(s + 8, true), true);
      v.setInt32(d + 12, v.getInt32(s + 12, true), true);
      s += lit;
      d += lit;
      const off = u[s]! | (u[s + 1]! << 8);
      s += 2;
      const ml = (token & 15) + MIN_MATCH;
      if (off === 0 || off > d) return -1;
      const m = d - off;
      if (off >= 4) {
        // Each 4-byte step reads bytes written before it (off >= 4), so overlap is safe.
        v.setInt32(d, v.getInt32(m, true), true);
        v.setInt32(d + 4, v.getInt32(m + 4, true), true);
        v.setInt32(d + 8, v.getInt32(m + 8, true), true);
        v.setInt32(d + 12, v.getInt32(m + 12, true), true);
        if (ml > 16) v.setInt32(d + 16, v.getInt32(m + 16, true), true);
      } else {
        for (let k = 0; k < ml; k++) u[d + k] = u[m + k]!;
      }
      d += ml;
      continue;
    }
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (s >= sEnd) return -1;
        b = u[s++]!;
        lit += b;
      } while (b === 255);
    }
    if (lit > sEnd - s || lit > cap - d) return -1;
    // 16 bytes whatever the length (no branch to mispredict), then 8 at a time.
    v.setInt32(d, v.getInt32(s, true), true);
    v.setInt32(d + 4, v.getInt32(s + 4, true), true);
    v.setInt32(d + 8, v.getInt32(s + 8, true), true);
    v.setInt32(d + 12, v.getInt32(s + 12, true), true);
    for (let k = 16; k < lit; k += 8) {
      v.setInt32(d + k, v.getInt32(s + k, true), true);
      v.setInt32(d + k + 4, v.getInt32(s + k + 4, true), true);
    }
    s += lit;
    d += lit;
    if (s === sEnd) return d; // the last sequence carries literals only
    if (s + 2 > sEnd) return -1;
    const off = u[s]! | (u[s + 1]! << 8);
    s += 2;
    let ml = token & 15;
    if (ml === 15) {
      let b: number;
      do {
        if (s >= sEnd) return -1;
        b = u[s++]!;
        ml += b;
      } while (b === 255);
    }
    ml += MIN_MATCH;
    if (off === 0 || off > d || ml > cap - d) return -1;
    let m = d - off;
    if (off >= 8) {
      // Each 8-byte step reads bytes written before it (off >= 8), so overlap is safe.
      v.setInt32(d, v.getInt32(m, true), true);
      v.setInt32(d + 4, v.getInt32(m + 4, true), true);
      v.setInt32(d + 8, v.getInt32(m + 8, true), true);
      v.setInt32(d + 12, v.getInt32(m + 12, true), true);
      for (let k = 16; k < ml; k += 8) {
        v.setInt32(d + k, v.getInt32(m + k, true), true);
        v.setInt32(d + k + 4, v.getInt32(m + k + 4, true), true);
      }
      d += ml;
    } else {
      // Overlapping within 8 bytes: the pattern repeats every `off` bytes.
      for (const end = d + ml; d < end; ) u[d++] = u[m++]!;
    }
  }
}

/** Checks every step and names the error; decodes any range, including linked frame blocks. */
function carefulLoops(src: Uint8Array, from: number, to: number, dst: Uint8Array, start: number): number {
  const sn = to, dn = dst.length;
  const sv = viewOfSrc(src), dv = viewOfDst(dst);
  const so = src.byteOffset, dO = dst.byteOffset;
  let s = from, d = start;
  if (to === from) throw corrupt("empty block");
  // Inside these bounds a sequence with both lengths in its token has room for every overshoot:
  // 16 literal bytes read and written, the offset, and 24 match bytes written.
  const sFast = sn - 32, dFast = dn - 48;
  for (;;) {
    if (s >= sn) throw corrupt("truncated token");
    const token = src[s++]!;
    let lit = token >>> 4;
    if (lit < 15 && s < sFast && d < dFast) {
      // Short literals far from both ends: one overshooting 16-byte copy, no further checks.
      if (lit !== 0) {
        dv.setInt32(dO + d, sv.getInt32(so + s, true), true);
        dv.setInt32(dO + d + 4, sv.getInt32(so + s + 4, true), true);
        dv.setInt32(dO + d + 8, sv.getInt32(so + s + 8, true), true);
        dv.setInt32(dO + d + 12, sv.getInt32(so + s + 12, true), true);
        s += lit;
        d += lit;
      }
    } else {
      if (lit === 15) {
        let b: number;
        do {
          if (s >= sn) throw corrupt("truncated literal length");
          b = src[s++]!;
          lit += b;
        } while (b === 255);
      }
      if (lit > 0) {
        if (lit > sn - s) throw corrupt(`literals run past the input (${lit} at ${s} of ${sn})`);
        if (lit > dn - d) throw corrupt(`literals overflow the output (${lit} at ${d} of ${dn})`);
        if (lit <= 16 && s + 16 <= sn && d + 16 <= dn) {
          // Overshooting copy: the extra bytes are rewritten later or lie beyond the output end we report.
          dv.setInt32(dO + d, sv.getInt32(so + s, true), true);
          dv.setInt32(dO + d + 4, sv.getInt32(so + s + 4, true), true);
          dv.setInt32(dO + d + 8, sv.getInt32(so + s + 8, true), true);
          dv.setInt32(dO + d + 12, sv.getInt32(so + s + 12, true), true);
        } else if (lit < 256 && s + lit + 8 <= sn && d + lit + 8 <= dn) {
          for (let k = 0; k < lit; k += 8) {
            dv.setInt32(dO + d + k, sv.getInt32(so + s + k, true), true);
            dv.setInt32(dO + d + k + 4, sv.getInt32(so + s + k + 4, true), true);
          }
        } else {
          dst.set(src.subarray(s, s + lit), d);
        }
        s += lit;
        d += lit;
      }
      if (s === sn) return d - start; // the last sequence carries literals only
    }
    if (s + 2 > sn) throw corrupt("truncated match offset");
    const off = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (off === 0) throw corrupt("zero match offset");
    if (off > d) throw corrupt(`match offset ${off} points before the start of the output (at ${d})`);
    let ml = token & 15;
    if (ml !== 15 && off >= 8 && d < dFast) {
      // A match of at most 18 bytes not overlapping within 8 bytes: 8-byte steps, overshooting.
      const t = dO + d, m = t - off;
      dv.setInt32(t, dv.getInt32(m, true), true);
      dv.setInt32(t + 4, dv.getInt32(m + 4, true), true);
      if (ml > 4) {
        dv.setInt32(t + 8, dv.getInt32(m + 8, true), true);
        dv.setInt32(t + 12, dv.getInt32(m + 12, true), true);
        if (ml > 12) {
          dv.setInt32(t + 16, dv.getInt32(m + 16, true), true);
          dv.setInt32(t + 20, dv.getInt32(m + 20, true), true);
        }
      }
      d += ml + MIN_MATCH;
      continue;
    }
    if (ml === 15) {
      let b: number;
      do {
        if (s >= sn) throw corrupt("truncated match length");
        b = src[s++]!;
        ml += b;
      } while (b === 255);
    }
    ml += MIN_MATCH;
    if (ml > dn - d) throw corrupt(`match overflows the output (${ml} at ${d} of ${dn})`);
    let m = d - off;
    if (off >= 8 && d + ml + 8 <= dn) {
      const end = d + ml;
      while (d < end) {
        dv.setInt32(dO + d, dv.getInt32(dO + m, true), true);
        dv.setInt32(dO + d + 4, dv.getInt32(dO + m + 4, true), true);
        d += 8;
        m += 8;
      }
      d = end;
    } else if (off >= 4 && d + ml + 4 <= dn) {
      // Each 4-byte chunk reads bytes already written (off >= 4), so overlap is safe.
      const end = d + ml;
      while (d < end) {
        dv.setInt32(dO + d, dv.getInt32(dO + m, true), true);
        d += 4;
        m += 4;
      }
      d = end;
    } else if (off === 1) {
      dst.fill(dst[m]!, d, d + ml);
      d += ml;
    } else if (off >= ml) {
      dst.copyWithin(d, m, m + ml);
      d += ml;
    } else {
      // Overlapping match: the pattern repeats every `off` bytes.
      const end = d + ml;
      while (d < end) dst[d++] = dst[m++]!;
    }
  }
}
