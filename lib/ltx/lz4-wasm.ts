/**
 * The optional WebAssembly LZ4 kernels (lib/ltx/wasm/lz4.wat, 1.3 KB): the same block
 * decompressor checks and the same compressor algorithm as the TypeScript code in lz4-block.ts, on
 * 8-byte loads and stores. lz4-block.ts uses them when the runtime can instantiate a module from
 * bytes and falls back to its own loops otherwise (a runtime that forbids it, such as an edge worker
 * with code generation disabled, or `useWasmKernels(false)`). Both paths give the same results;
 * the TypeScript path also names every error, so a block the kernel rejects is decoded again there.
 */

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

let kernels: Lz4Kernels | null | undefined;
let enabled = true;

interface WasmExports {
  memory: { buffer: ArrayBuffer };
  decompress(n: number, cap: number): number;
  compress(n: number): number;
}

// The WebAssembly global, typed by the subset used here (core compiles without DOM-only types).
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

function instantiate(): Lz4Kernels | null {
  try {
    const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (!api) return null;
    const bin = atob(LZ4_WASM_BASE64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const ex = new api.Instance(new api.Module(bytes), {}).exports as WasmExports;
    return { mem: new Uint8Array(ex.memory.buffer), decompress: ex.decompress, compress: ex.compress };
  } catch {
    return null; // code generation disallowed, or no WebAssembly: the TypeScript loops run
  }
}

/** The kernels, or null when disabled or unavailable in this runtime. */
export function lz4Kernels(): Lz4Kernels | null {
  if (!enabled) return null;
  if (kernels === undefined) kernels = instantiate();
  return kernels;
}

/**
 * Turns the WebAssembly kernels on (the default) or off for this process; returns whether they are
 * now in use (false where the runtime cannot instantiate them).
 */
export function useWasmKernels(on: boolean): boolean {
  enabled = on;
  return lz4Kernels() !== null;
}
