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
});
