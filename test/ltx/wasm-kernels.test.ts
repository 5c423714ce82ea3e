/**
 * The WebAssembly LZ4 kernels against the TypeScript loops: the embedded module is what lz4.wat
 * assembles to; both decompressors give the same bytes and the same verdicts on valid, truncated and
 * mutated blocks; both compressors write the same blocks.
 */
import { describe, it, expect, afterEach } from "vitest";
import { compressBlockBound, decompressBlock, decompressLoops } from "../../lib/ltx/lz4-block.ts";
import { compressBlock, compressLoops } from "../../lib/ltx/lz4-compress.ts";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc64 } from "../../lib/ltx/checksum.ts";
import { lz4Kernels, useWasmKernels, useWasmModules, WASM_IN, WASM_OUT } from "../../lib/ltx/wasm-kernels.ts";
import { LZ4_WASM_BASE64 } from "../../lib/ltx/wasm/lz4-module.ts";
import { CRC64_WASM_BASE64 } from "../../lib/ltx/wasm/crc64-module.ts";
import { isLtxError } from "../../lib/errors.ts";

const WASM_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "lib", "ltx", "wasm");

function rng(seed: number) {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) & 0xff;
}

/** Pages with text runs, repeats at short and long distances, zero runs and noise. */
function page(size: number, seed: number): Uint8Array {
  const r = rng(seed);
  const p = new Uint8Array(size);
  const words = ["alice", "bob", "insert into t values", "2026-12-01T11:00:00Z", "x", "user@example.com"];
  let i = r() % 32;
  while (i < size) {
    const kind = r() % 6;
    if (kind < 3) {
      const w = words[r() % words.length]!;
      for (let k = 0; k < w.length && i < size; k++) p[i++] = w.charCodeAt(k);
    } else if (kind === 3) i += r() % 90; // zeros
    else if (kind === 4) for (let k = r() % 20; k > 0 && i < size; k--) p[i++] = r(); // noise
    else for (let k = 0, b = r() % 7 + 1, n = r() % 40; k < n && i < size; k++, i++) p[i] = p[i - b] ?? 0; // short-offset repeats
  }
  return p;
}

/** "ok:<hex of output>" or the error code, from one decompressor. */
function verdict(fn: () => number, out: Uint8Array): string {
  try {
    const n = fn();
    return `ok:${n}:${Buffer.from(out.subarray(0, n)).toString("hex")}`;
  } catch (e) {
    return isLtxError(e) ? e.code : `crash:${String(e)}`;
  }
}

afterEach(() => void useWasmKernels(true));

describe("LZ4 WebAssembly kernels", () => {
  it("are available in this runtime", () => {
    expect(lz4Kernels()).not.toBeNull();
  });

  it("embed exactly what lib/ltx/wasm/*.wat assemble to (both kernels)", async () => {
    // @ts-expect-error: a plain .mjs dev script
    const { assemble, KERNELS } = await import("../../lib/ltx/wasm/build.mjs");
    const embedded: Record<string, string> = { LZ4_WASM_BASE64, CRC64_WASM_BASE64 };
    expect(KERNELS.map((k: { name: string }) => k.name).sort()).toEqual(Object.keys(embedded).sort());
    for (const k of KERNELS) {
      const bytes: Uint8Array = await assemble(k);
      expect(Buffer.from(bytes).toString("base64"), k.wat).toBe(embedded[k.name]);
      // The shipped .wasm file (for runtimes that import modules) holds the same bytes.
      expect(Buffer.from(bytes).equals(readFileSync(join(WASM_DIR, k.wasm))), k.wasm).toBe(true);
    }
  });

  it("run from modules compiled ahead of time where compiling from bytes is forbidden", () => {
    const wa = globalThis.WebAssembly;
    const lz4Module = new wa.Module(readFileSync(join(WASM_DIR, "lz4.wasm")));
    const crcModule = new wa.Module(readFileSync(join(WASM_DIR, "crc64.wasm")));
    const before = lz4Kernels()!.mem.buffer;
    const original = wa.Module;
    // An edge worker's embedder: no code generation from bytes.
    (wa as { Module: unknown }).Module = function () {
      throw new Error("Wasm code generation disallowed by embedder");
    };
    try {
      expect(useWasmModules({ lz4: lz4Module, crc64: crcModule })).toEqual({ lz4: true, crc64: true });
      expect(useWasmModules({ lz4: {} })).toEqual({ lz4: true, crc64: true }); // not a kernel module: ignored
    } finally {
      (wa as { Module: unknown }).Module = original;
    }
    expect(lz4Kernels()!.mem.buffer, "the kernels now run in the injected instance").not.toBe(before);
    const src = page(65536, 3);
    const a = new Uint8Array(compressBlockBound(src.length)), b = new Uint8Array(compressBlockBound(src.length));
    const n = compressBlock(src, a);
    expect(Buffer.from(a.subarray(0, n)).equals(Buffer.from(b.subarray(0, compressLoops(src, b))))).toBe(true);
    const out = new Uint8Array(src.length);
    expect(decompressBlock(a.subarray(0, n), out)).toBe(src.length);
    expect(out).toEqual(src);
    const wasmCrc = crc64(src);
    useWasmKernels(false);
    expect(wasmCrc).toBe(crc64(src));
  });

  it("decompress exactly as the TypeScript loops, including every verdict on damaged blocks", () => {
    const r = rng(99);
    let damaged = 0, rejected = 0;
    for (let t = 0; t < 400; t++) {
      const ps = 512 << (t % 8);
      const src = page(ps, t);
      const buf = new Uint8Array(compressBlockBound(ps));
      const block = buf.slice(0, compressLoops(src, buf));
      const cases = [block, block.subarray(0, r() % block.length)];
      const m = block.slice();
      for (let k = 0; k < 1 + (r() % 3); k++) m[r() % m.length] = r();
      cases.push(m);
      for (const c of cases) {
        const b = new Uint8Array(ps);
        const ts = verdict(() => decompressLoops(c, 0, c.length, b, 0), b);
        // The raw kernel: it must accept exactly what the loops accept, with the same bytes.
        const k = lz4Kernels()!;
        k.mem.set(c, WASM_IN);
        const got = k.decompress(c.length, ps);
        const wasm = got < 0 ? "rejected" : `ok:${got}:${Buffer.from(k.mem.subarray(WASM_OUT, WASM_OUT + got)).toString("hex")}`;
        expect(wasm, `page size ${ps}, case ${t}`).toBe(ts.startsWith("ok") ? ts : "rejected");
        // And through the public function, errors keep their codes.
        const a = new Uint8Array(ps);
        expect(verdict(() => decompressBlock(c, a), a)).toBe(ts);
        if (c !== block) damaged++;
        if (!ts.startsWith("ok")) rejected++;
      }
      expect(verdict(() => decompressBlock(block, new Uint8Array(ps)), new Uint8Array(0)).startsWith("ok:" + ps)).toBe(true);
    }
    expect(damaged).toBe(800);
    expect(rejected).toBeGreaterThan(300);
  });

  it("decode into outputs of every size up to their capacity, and reject overflows", () => {
    const src = page(4096, 5);
    const buf = new Uint8Array(compressBlockBound(4096));
    const block = buf.subarray(0, compressBlock(src, buf));
    for (const cap of [4095, 4096, 4097, 8192]) {
      const a = new Uint8Array(cap), b = new Uint8Array(cap);
      expect(verdict(() => decompressBlock(block, a), a)).toBe(verdict(() => decompressLoops(block, 0, block.length, b, 0), b));
    }
  });

  it("compress to the same blocks as the TypeScript loops", () => {
    for (let t = 0; t < 120; t++) {
      const ps = [0, 1, 12, 13, 14, 100, 512, 4096, 65536][t % 9]!;
      const src = t % 9 < 6 ? Uint8Array.from({ length: ps }, (_, i) => (i * 7) % 5) : page(ps, t);
      const a = new Uint8Array(compressBlockBound(ps)), b = new Uint8Array(compressBlockBound(ps));
      const na = compressBlock(src, a);
      const nb = compressLoops(src, b);
      expect(Buffer.from(a.subarray(0, na)).equals(Buffer.from(b.subarray(0, nb))), `input ${t} (${ps} bytes)`).toBe(true);
      const out = new Uint8Array(ps);
      expect(decompressBlock(a.subarray(0, na), out)).toBe(ps);
      expect(out).toEqual(src);
    }
  });

  it("can be turned off: the TypeScript loops then do the work", () => {
    const src = page(4096, 8);
    const buf = new Uint8Array(compressBlockBound(4096));
    expect(useWasmKernels(false)).toBe(false);
    expect(lz4Kernels()).toBeNull();
    const n = compressBlock(src, buf);
    const out = new Uint8Array(4096);
    expect(decompressBlock(buf.subarray(0, n), out)).toBe(4096);
    expect(out).toEqual(src);
    expect(useWasmKernels(true)).toBe(true);
  });
});
