import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { compressBlockBound, decompressBlock, decompressBlockAt, decompressLoops } from "../../lib/ltx/lz4-block.ts";
import { compressBlock } from "../../lib/ltx/lz4-compress.ts";
import { isLtxError } from "../../lib/errors.ts";
import { useWasmKernels } from "../../lib/ltx/wasm-kernels.ts";

function rng(seed: number) {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) & 0xff;
}

/** SQLite-like pages: a header, runs of text records, zero space. */
function sqliteLikePage(size: number, seed: number): Uint8Array {
  const r = rng(seed);
  const p = new Uint8Array(size);
  const words = ["alice", "bob", "carol", "insert", "update", "2026-11-24", "user@example.com", "lorem ipsum"];
  let i = 100 + (r() % 64);
  while (i < size * 0.8) {
    const w = words[r() % words.length]!;
    for (let k = 0; k < w.length && i < size; k++) p[i++] = w.charCodeAt(k);
    p[i++] = r();
    if (r() % 5 === 0) i += r() % 40;
  }
  return p;
}

const roundTrip = (src: Uint8Array) => {
  const dst = new Uint8Array(compressBlockBound(src.length));
  const n = compressBlock(src, dst);
  const out = new Uint8Array(src.length);
  expect(decompressBlock(dst.subarray(0, n), out)).toBe(src.length);
  expect(out).toEqual(src);
  return n;
};

for (const wasm of [true, false])
describe(`LZ4 block (${wasm ? "WebAssembly kernels" : "TypeScript loops"})`, () => {
  beforeAll(() => void useWasmKernels(wasm));
  afterAll(() => void useWasmKernels(true));

  it("decodes the annotated block of the spec (512-byte SQLite header page)", () => {
    const block = new Uint8Array([0xff, 0x03, ...new TextEncoder().encode("SQLite format 3"), 0x00, 0x02, 0x00, 0x01, 0x00, 0xff, 0xca, 0x00, 0x02, 0x00, 0xe0, ...new Array(14).fill(0)]);
    expect(block.length).toBe(42);
    const out = new Uint8Array(512);
    expect(decompressBlock(block, out)).toBe(512);
    expect(new TextDecoder().decode(out.subarray(0, 15))).toBe("SQLite format 3");
    expect(out[16]).toBe(2);
    expect(out.subarray(18).every((b) => b === 0)).toBe(true);
  });

  it("round-trips every page size with real compression", () => {
    for (let ps = 512; ps <= 65536; ps *= 2) {
      for (let s = 0; s < 4; s++) {
        const page = sqliteLikePage(ps, s * 31 + ps);
        const n = roundTrip(page);
        expect(n).toBeLessThan(ps * 0.7);
      }
      const zeros = new Uint8Array(ps);
      expect(roundTrip(zeros)).toBeLessThan(ps / 100 + 20);
      const r = rng(ps);
      const random = Uint8Array.from({ length: ps }, r);
      expect(roundTrip(random)).toBeLessThanOrEqual(compressBlockBound(ps));
    }
    for (const n of [0, 1, 5, 12, 13, 14, 20, 100]) roundTrip(Uint8Array.from({ length: n }, (_, i) => i % 3));
  });

  it("works on views with odd offsets", () => {
    const big = new Uint8Array(4096 + 3);
    big.set(sqliteLikePage(4096, 9), 3);
    const src = big.subarray(3);
    const dst = new Uint8Array(compressBlockBound(4096) + 5).subarray(5);
    const n = compressBlock(src, dst);
    const out = new Uint8Array(4096 + 1).subarray(1);
    expect(decompressBlock(dst.subarray(0, n), out)).toBe(4096);
    expect(out).toEqual(src);
  });

  it("rejects output buffers below the bound", () => {
    expect(() => compressBlock(new Uint8Array(100), new Uint8Array(50))).toThrow(/bound/);
  });

  it("rejects malformed blocks with CORRUPT_LZ4", () => {
    const bad = [
      [], // empty
      [0x10], // literal run past input
      [0x00, 0x00, 0x00], // offset zero
      [0x10, 0x41, 0x05, 0x00], // offset beyond output start
      [0xf0], // truncated literal length
      [0x1f, 0x41, 0x01, 0x00], // truncated match length
      [0x10, 0x41, 0x01], // truncated offset
    ];
    for (const b of bad) {
      let e: unknown;
      try {
        decompressBlock(new Uint8Array(b), new Uint8Array(64));
      } catch (err) {
        e = err;
      }
      expect(isLtxError(e, "CORRUPT_LZ4"), `block ${JSON.stringify(b)}`).toBe(true);
    }
    // A match running past the output.
    expect(() => decompressBlock(new Uint8Array([0x1f, 0x41, 0x01, 0x00, 0xff, 0x00]), new Uint8Array(64))).toThrow(/overflows/);
  });

  it("decodes or rejects short-token sequences at every output position near the end (exact lengths, bytes and verdicts)", () => {
    // d literals and a 4-byte match, then one sequence with both lengths in its token (14 literals,
    // an 18-byte match at offset 1), then six 4-byte matches and an empty last sequence: d + 60 bytes
    // of output from an input long enough that the short sequence is far from the input's end. Fits
    // a 96-byte output up to d = 36; beyond, the short sequence's match or a later one overflows it.
    for (let d = 16; d <= 64; d++) {
      const block = [0xf0, d - 15, ...new Array(d).fill(0x61), 0x01, 0x00, 0xee, ...new Array(14).fill(0x62), 0x01, 0x00];
      for (let k = 0; k < 6; k++) block.push(0x00, 0x01, 0x00);
      block.push(0x00);
      const out = new Uint8Array(96);
      let e: unknown, got: number | undefined;
      try {
        got = decompressBlock(new Uint8Array(block), out);
      } catch (err) {
        e = err;
      }
      if (d + 60 <= 96) {
        expect(got, `d = ${d}`).toBe(d + 60);
        expect(out.subarray(0, d + 60), `d = ${d}`).toEqual(Uint8Array.from({ length: d + 60 }, (_, i) => (i < d + 4 ? 0x61 : 0x62)));
      } else expect(isLtxError(e, "CORRUPT_LZ4") && /overflows the output/.test(e.message), `d = ${d}: ${String(e)}`).toBe(true);
    }
  });

  it("rejects input and output ranges outside their buffers with INVALID_ARGUMENT", () => {
    const block = new Uint8Array([0x10, 0x41]);
    for (const fn of [decompressBlockAt, decompressLoops]) {
      for (const [from, to, start] of [[0, 3, 0], [-1, 2, 0], [2, 1, 0], [0, 2, 65], [0, 2, -1]] as const) {
        let e: unknown;
        try {
          fn(block, from, to, new Uint8Array(64), start);
        } catch (err) {
          e = err;
        }
        expect(isLtxError(e, "INVALID_ARGUMENT"), `${fn.name}(${from}, ${to}, ${start})`).toBe(true);
      }
      expect(fn(block, 0, 2, new Uint8Array(64), 0)).toBe(1);
    }
  });

  it("never crashes on truncations and mutations (seeded fuzz)", () => {
    const r = rng(12345);
    let errors = 0;
    for (let t = 0; t < 300; t++) {
      const page = sqliteLikePage(1024, t);
      const dst = new Uint8Array(compressBlockBound(1024));
      const n = compressBlock(page, dst);
      const block = dst.slice(0, n);
      for (let cut = 0; cut < n; cut += 1 + (r() % 7)) {
        try {
          decompressBlock(block.subarray(0, cut), new Uint8Array(1024));
        } catch (e) {
          expect(isLtxError(e, "CORRUPT_LZ4")).toBe(true);
          errors++;
        }
      }
      const m = block.slice();
      for (let k = 0; k < 1 + (r() % 4); k++) m[r() % n] = r();
      try {
        decompressBlock(m, new Uint8Array(1024));
      } catch (e) {
        expect(isLtxError(e, "CORRUPT_LZ4")).toBe(true);
      }
    }
    expect(errors).toBeGreaterThan(100);
  });
});
