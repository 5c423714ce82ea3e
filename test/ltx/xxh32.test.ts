import { describe, it, expect } from "vitest";
import { xxh32 } from "../../lib/ltx/xxh32.ts";

describe("xxh32", () => {
  it("matches the reference test values", () => {
    const enc = new TextEncoder();
    expect(xxh32(new Uint8Array(0))).toBe(0x02cc5d05);
    expect(xxh32(new Uint8Array(0), 1)).toBe(0x0b2cb792);
    expect(xxh32(enc.encode("a"))).toBe(0x550d7456);
    expect(xxh32(enc.encode("abc"))).toBe(0x32d153ff);
    expect(xxh32(enc.encode("Nobody inspects the spammish repetition"))).toBe(0xe2293b2f);
    // The LZ4 frame descriptor 64 40 hashes to a header checksum byte of 0xA7.
    expect((xxh32(new Uint8Array([0x64, 0x40])) >>> 8) & 0xff).toBe(0xa7);
  });

  it("matches the lz4 CLI's content checksums of long inputs, aligned and at every misalignment", () => {
    // Expected: the last four bytes of `lz4 -q` of bytes (i * 131 + 7) & 255 (the frame's content checksum).
    const want: [number, number][] = [[16, 0x64287c90], [100, 0xcc7d31ef], [4096, 0xe4d29ca7], [65536, 0xb9257a26]];
    for (const [n, sum] of want) {
      for (let off = 0; off < 8; off++) {
        const buf = new Uint8Array(n + 8);
        for (let i = 0; i < n; i++) buf[off + i] = (i * 131 + 7) & 255;
        expect(xxh32(buf.subarray(off, off + n)), `${n} bytes at offset ${off}`).toBe(sum);
      }
    }
  });

  it("gives the same value on the aligned and the byte path at every length up to 300", () => {
    const buf = new Uint8Array(304 + 4);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 73 + 11) & 255;
    const shifted = new Uint8Array(buf.length + 1);
    for (let n = 0; n <= 300; n++) {
      shifted.set(buf.subarray(4, 4 + n), 1);
      expect(xxh32(buf.subarray(4, 4 + n), n), `${n} bytes`).toBe(xxh32(shifted.subarray(1, 1 + n), n));
    }
  });
});
