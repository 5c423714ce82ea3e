/**
 * The optional WebAssembly kernels, each a small hand-written module (lib/ltx/wasm/*.wat):
 *
 * - LZ4 (lz4.wat, 1.5 KB): the same block decompressor checks and the same compressor algorithm as
 *   the TypeScript loops in lz4-block.ts and lz4-compress.ts, on 8-byte loads and stores.
 * - CRC-64 (crc64.wat, 0.6 KB, WebAssembly SIMD): 64 KiB chunks as eight lanes of the same fold as
 *   checksum.ts, joined with a table multiplication.
 *
 * Callers use them when the runtime can instantiate a module from bytes and fall back to their own
 * loops otherwise (a runtime that forbids it, such as an edge worker with code generation disabled,
 * an engine without SIMD for the CRC kernel, or `useWasmKernels(false)`). Both paths give the same
 * results; the TypeScript LZ4 loops also name every error, so a block the kernel rejects is decoded
 * again there.
 */

import { CRC64_WASM_BASE64 } from "./wasm/crc64-module.ts";
import { LZ4_WASM_BASE64 } from "./wasm/lz4-module.ts";

/** Region offsets and capacities of the module's fixed memory (see lz4.wat). */
export const WASM_IN = 262144;
export const WASM_OUT = 328704;
export const WASM_CAPACITY = 66048;
/** The largest input the compressor kernel takes (one 64 KiB page). */
export const WASM_MAX_COMPRESS = 65536;

export interface Lz4Kernels {
  /** The module's memory (never grown, so this view stays valid). */
  readonly mem: Uint8Array;
  /** Decompresses mem[IN, IN+n) into mem[OUT, ...) with at most cap bytes; -1 if malformed. */
  decompress(n: number, cap: number): number;
  /** Compresses mem[IN, IN+n) into mem[OUT, ...); returns the block length. */
  compress(n: number): number;
}

export interface Crc64Kernel {
  /** The module's memory: the chunk goes to [0, CRC_CHUNK). */
  readonly mem: Uint8Array;
  /** The CRC register as [low, high] 32-bit halves, read and written by chunk(). */
  readonly state: Int32Array;
  /** Folds mem[0, CRC_CHUNK) into state. */
  chunk(): void;
}

/** Bytes the CRC kernel folds per call. */
export const CRC_CHUNK = 65536;

let lz4: Lz4Kernels | null | undefined;
let crc: Crc64Kernel | null | undefined;
let enabled = true;

interface Lz4Exports {
  memory: { buffer: ArrayBuffer };
  decompress(n: number, cap: number): number;
  compress(n: number): number;
}
interface Crc64Exports {
  memory: { buffer: ArrayBuffer };
  chunk(): void;
}

// The WebAssembly global, typed by the subset used here (core compiles without DOM-only types).
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

/** Instantiates a kernel from its embedded bytes, or from a module compiled ahead of time. */
function instantiate<T>(source: string | object): T | null {
  try {
    const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (!api) return null;
    let module: object;
    if (typeof source === "string") {
      const bin = atob(source);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      module = new api.Module(bytes);
    } else module = source;
    return new api.Instance(module, {}).exports as T;
  } catch {
    return null; // code generation disallowed, no WebAssembly, or no SIMD: the TypeScript loops run
  }
}

function lz4From(ex: Lz4Exports | null): Lz4Kernels | null {
  if (!ex || typeof ex.decompress !== "function" || typeof ex.compress !== "function" || !ex.memory) return null;
  return { mem: new Uint8Array(ex.memory.buffer), decompress: ex.decompress, compress: ex.compress };
}

function crcFrom(ex: Crc64Exports | null): Crc64Kernel | null {
  if (!ex || typeof ex.chunk !== "function" || !ex.memory) return null;
  fillJoinTable(new Int32Array(ex.memory.buffer, 69632, 2 * 8 * 256));
  // A few runs on zeros let the engine start optimising the kernel in the background early
  // (engines first run WebAssembly through a quick baseline compiler).
  for (let i = 0; i < 4; i++) ex.chunk();
  return { mem: new Uint8Array(ex.memory.buffer), state: new Int32Array(ex.memory.buffer, CRC_CHUNK, 2), chunk: ex.chunk };
}

/** The LZ4 kernels, or null when disabled or unavailable in this runtime. */
export function lz4Kernels(): Lz4Kernels | null {
  if (!enabled) return null;
  if (lz4 === undefined) lz4 = lz4From(instantiate<Lz4Exports>(LZ4_WASM_BASE64));
  return lz4;
}

/** The CRC-64 kernel, or null when disabled or unavailable in this runtime. */
export function crc64Kernel(): Crc64Kernel | null {
  if (!enabled) return null;
  if (crc === undefined) crc = crcFrom(instantiate<Crc64Exports>(CRC64_WASM_BASE64));
  return crc;
}

/**
 * Kernels from modules compiled ahead of time, for runtimes that forbid compiling WebAssembly from
 * bytes but let a bundle import a `.wasm` file as a `WebAssembly.Module` (edge workers): the files
 * are `ltxkit/wasm/lz4.wasm` and `ltxkit/wasm/crc64.wasm`.
 *
 *     import lz4 from "ltxkit/wasm/lz4.wasm";
 *     useWasmModules({ lz4 });
 *
 * Returns which kernels are now in use; a module that does not instantiate to the expected exports
 * leaves that kernel as it was.
 */
export function useWasmModules(modules: { lz4?: object; crc64?: object }): { lz4: boolean; crc64: boolean } {
  if (modules.lz4) {
    const k = lz4From(instantiate<Lz4Exports>(modules.lz4));
    if (k) lz4 = k;
  }
  if (modules.crc64) {
    const k = crcFrom(instantiate<Crc64Exports>(modules.crc64));
    if (k) crc = k;
  }
  enabled = true;
  return { lz4: lz4Kernels() !== null, crc64: crc64Kernel() !== null };
}

/**
 * Turns the WebAssembly kernels on (the default) or off for this process; returns whether the LZ4
 * kernels are now in use (false where the runtime cannot instantiate them).
 */
export function useWasmKernels(on: boolean): boolean {
  enabled = on;
  return lz4Kernels() !== null;
}

// GF(2)[x] mod P (P = x^64 + x^4 + x^3 + x + 1) in the CRC's reflected form: bit 63 is x^0.
let mLo = 0, mHi = 0;
function mulMod(aLo: number, aHi: number, bLo: number, bHi: number): void {
  let pLo = 0, pHi = 0;
  for (let i = 0; i < 64; i++) {
    if ((i < 32 ? aHi >>> (31 - i) : aLo >>> (63 - i)) & 1) {
      pLo ^= bLo;
      pHi ^= bHi;
    }
    const carry = bLo & 1;
    bLo = (bLo >>> 1) | (bHi << 31);
    bHi >>>= 1;
    if (carry) bHi ^= 0xd8000000;
  }
  mLo = pLo;
  mHi = pHi;
}

/** The kernel's join table: entry [i][b] = (b << 8i)·K mod P with K = x^(8·CRC_CHUNK/8), as u64 halves. */
function fillJoinTable(t: Int32Array): void {
  // K = x^65536 (one lane of 8 KiB = 65536 bits): x^1 squared 16 times.
  let kLo = 0, kHi = 0x40000000;
  for (let j = 0; j < 16; j++) {
    mulMod(kLo, kHi, kLo, kHi);
    kLo = mLo;
    kHi = mHi;
  }
  // Multiplication is linear: one product per input bit, every other entry an XOR of them.
  for (let i = 0; i < 8; i++) {
    const row = 2 * i * 256;
    for (let bit = 0; bit < 8; bit++) {
      const sh = 8 * (i & 3) + bit;
      mulMod(i < 4 ? 1 << sh : 0, i < 4 ? 0 : 1 << sh, kLo, kHi);
      t[row + 2 * (1 << bit)] = mLo;
      t[row + 2 * (1 << bit) + 1] = mHi;
    }
    for (let b = 3; b < 256; b++) {
      const low = b & -b;
      if (low === b) continue;
      t[row + 2 * b] = t[row + 2 * low]! ^ t[row + 2 * (b ^ low)]!;
      t[row + 2 * b + 1] = t[row + 2 * low + 1]! ^ t[row + 2 * (b ^ low) + 1]!;
    }
  }
}
