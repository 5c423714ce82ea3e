import { describe, it, expect, afterEach } from "vitest";
import { Crc64, crc64, pageChecksum, DatabaseChecksum, databaseChecksum, lockPgno, CHECKSUM_FLAG } from "../../lib/ltx/checksum.ts";
import { crc64Kernel, useWasmKernels } from "../../lib/ltx/wasm-kernels.ts";

const enc = new TextEncoder();
const fill = (n: number, c: string | number) => new Uint8Array(n).fill(typeof c === "string" ? c.charCodeAt(0) : c);

/** Bit-at-a-time reference straight from the definition (BigInt; slow but obviously right). */
function refCrc(data: Uint8Array): bigint {
  let c = (1n << 64n) - 1n;
  for (const b of data) {
    c ^= BigInt(b);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ 0xd800000000000000n : c >> 1n;
  }
  return c ^ ((1n << 64n) - 1n);
}

describe("CRC-64/ISO", () => {
  it("gives Go's check value", () => {
    expect(crc64(enc.encode("123456789"))).toBe(0xb90956c775a41001n);
    expect(crc64(new Uint8Array(0))).toBe(0n);
  });
  it("matches the bitwise definition at every length 0..255 and every alignment 0..7", () => {
    let seed = 7;
    const buf = new Uint8Array(300);
    for (let i = 0; i < buf.length; i++) buf[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    for (let off = 0; off < 8; off++) for (let n = 0; n <= 255; n++) {
      const d = buf.subarray(off, off + n);
      expect(crc64(d)).toBe(refCrc(d));
    }
  });
  it("matches the definition on the two-lane path (1 KiB and up) at eight lengths, at every alignment 0..7", () => {
    let seed = 11;
    const buf = new Uint8Array(70000);
    for (let i = 0; i < buf.length; i++) buf[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    for (let off = 0; off < 8; off++) for (const n of [1020, 1024, 1027, 2051, 4096, 4106, 8192 + 5, 65536 + 7]) {
      const d = buf.subarray(off, off + n);
      expect(crc64(d)).toBe(refCrc(d));
      // Streaming across a lane-sized cut equals the one-shot value.
      expect(new Crc64().update(d.subarray(0, 10)).update(d.subarray(10)).digest()).toBe(refCrc(d));
    }
  });
  it("streams: any split gives the same digest", () => {
    const d = enc.encode("The quick brown fox jumps over the lazy dog, again and again and again.");
    const whole = crc64(d);
    for (let cut = 0; cut <= d.length; cut += 3) {
      const h = new Crc64().update(d.subarray(0, cut)).update(d.subarray(cut));
      expect(h.digest()).toBe(whole);
    }
    const h = new Crc64().update(d);
    h.reset();
    expect(h.update(enc.encode("123456789")).digest()).toBe(0xb90956c775a41001n);
  });
});

describe("database checksums (known answers from superfly/ltx tests)", () => {
  it("matches the small databases", () => {
    const db = (pages: Uint8Array[]) => {
      const c = new DatabaseChecksum(pages[0]!.length);
      pages.forEach((p, i) => c.add(i + 1, p));
      return c.value();
    };
    expect(db([fill(1024, "2"), fill(1024, "3")])).toBe(0xe1899b6d587aaaaan);
    expect(db([fill(512, "2"), fill(512, "3")])).toBe(0x8b87423eeeeeeeeen);
    expect(db([fill(512, 1), fill(512, 2), fill(512, 3)])).toBe(0xefffffffecd99000n);
    expect(db([fill(512, "1")])).toBe(0xeb1a999231044dddn);
    expect(new DatabaseChecksum(512).value()).toBe(CHECKSUM_FLAG);
  });
  it("is order-free and supports page updates", () => {
    const a = fill(512, 1), b = fill(512, 2), b2 = fill(512, 9);
    const c = new DatabaseChecksum(512);
    c.add(2, b);
    c.add(1, a);
    c.remove(2, b);
    c.add(2, b2);
    const d = new Uint8Array(1024);
    d.set(a, 0);
    d.set(b2, 512);
    expect(c.value()).toBe(databaseChecksum(d, 512));
    expect(pageChecksum(1, a) & CHECKSUM_FLAG).toBe(CHECKSUM_FLAG);
  });
  it("excludes the lock page: 262155 pages of 'x' at 4 KiB", () => {
    expect(lockPgno(4096)).toBe(262145);
    expect(lockPgno(65536)).toBe(16385);
    const page = fill(4096, "x");
    const c = new DatabaseChecksum(4096);
    for (let p = 1; p <= 262155; p++) c.add(p, p === 262145 ? new Uint8Array(4096) : page);
    expect(c.value()).toBe(0xc19b668c376662c7n);
  });
});

describe("CRC-64/ISO WebAssembly kernel (64 KiB chunks, eight SIMD lanes)", () => {
  afterEach(() => void useWasmKernels(true));
  it("is available in this runtime", () => {
    expect(crc64Kernel()).not.toBeNull();
  });
  it("gives the TypeScript fold's value at chunk boundaries, alignments and streaming splits", () => {
    let seed = 5;
    const buf = new Uint8Array(3 * 65536 + 40);
    for (let i = 0; i < buf.length; i++) buf[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    const cases: [number, number][] = [[0, 65536], [1, 65536], [3, 65537], [0, 131072 + 7], [2, 3 * 65536 + 5]];
    for (const [off, n] of cases) {
      const d = buf.subarray(off, off + n);
      useWasmKernels(false);
      const ts = crc64(d);
      const tsStream = new Crc64().update(d.subarray(0, 13)).update(d.subarray(13)).digest();
      useWasmKernels(true);
      expect(crc64(d), `offset ${off}, ${n} bytes`).toBe(ts);
      expect(new Crc64().update(d.subarray(0, 13)).update(d.subarray(13)).digest()).toBe(tsStream);
      expect(ts).toBe(tsStream);
    }
    // And against the definition itself, once.
    const d = buf.subarray(1, 65536 + 9);
    expect(crc64(d)).toBe(refCrc(d));
  });
  it("keeps the checksums of 64 KiB pages", () => {
    const page = new Uint8Array(65536).map((_, i) => (i * 7) & 0xff);
    useWasmKernels(false);
    const ts = pageChecksum(12, page);
    useWasmKernels(true);
    expect(pageChecksum(12, page)).toBe(ts);
  });
});
