import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { decodeFrame, decodeFrameToEnd, encodeFrame, frameLength } from "../../lib/ltx/lz4-frame.ts";
import { isLtxError } from "../../lib/errors.ts";
import { mustHaveTool, skipWithout } from "../tools.ts";

const skipLz4 = skipWithout("lz4", "LZ4 frame interop with the reference CLI");

function page(size: number, seed: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = "abcdefgh".charCodeAt((Math.floor(i / 13) + seed) % 8);
  return p;
}

describe("LZ4 frame", () => {
  it("writes Go's frame layout and reads it back", () => {
    const p = page(512, 1);
    const f = encodeFrame(p);
    expect([...f.subarray(0, 7)]).toEqual([0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7]);
    expect(frameLength(f, 0)).toBe(f.length);
    const out = new Uint8Array(512);
    expect(decodeFrame(f, out)).toBe(512);
    expect(out).toEqual(p);
    // Frame = block + 19 bytes (+ the 6-byte page header = block + 25 in an LTX file).
    const blen = f[7]! | (f[8]! << 8);
    expect(f.length).toBe(blen + 19);
  });

  it("stores incompressible pages as a stored block, exactly as Go does", () => {
    let s = 99;
    const p = Uint8Array.from({ length: 512 }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24);
    const f = encodeFrame(p);
    expect([...f.subarray(7, 11)]).toEqual([0x00, 0x02, 0x00, 0x80]);
    expect(f.length).toBe(512 + 19);
    const out = new Uint8Array(512);
    decodeFrame(f, out);
    expect(out).toEqual(p);
  });

  it("reports -1 until the frame is complete", () => {
    const f = encodeFrame(page(4096, 2));
    for (let n = 0; n < f.length; n++) expect(frameLength(f.subarray(0, n), 0)).toBe(-1);
    const padded = new Uint8Array(f.length + 10);
    padded.set(f, 3);
    expect(frameLength(padded, 3)).toBe(f.length);
  });

  it("rejects corruption with typed errors", () => {
    const f = encodeFrame(page(1024, 3));
    const out = new Uint8Array(1024);
    const mut = (i: number, v: number) => {
      const c = f.slice();
      c[i] = v;
      return c;
    };
    expect(() => decodeFrame(mut(0, 0), out)).toThrow(/bad magic/);
    expect(() => decodeFrame(mut(6, 0), out)).toThrow(/header checksum/);
    expect(() => decodeFrame(mut(f.length - 1, f[f.length - 1]! ^ 1), out)).toThrow(/frame checksum/);
    expect(() => decodeFrame(f, new Uint8Array(100))).toThrow();
    for (let n = 0; n < f.length; n++) {
      try {
        decodeFrame(f.subarray(0, n), out);
        throw new Error("accepted a truncated frame");
      } catch (e) {
        expect(isLtxError(e), String(e)).toBe(true);
      }
    }
  });

  it.skipIf(skipLz4)("interoperates with the lz4 CLI in both directions", () => {
    mustHaveTool("lz4");
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-lz4-"));
    const data = new Uint8Array(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
    writeFileSync(join(dir, "in"), data);
    for (const flags of [[], ["--content-size"], ["-BX"], ["-B4"], ["-B4", "-BD"], ["--no-frame-crc"]]) {
      execFileSync("lz4", ["-q", "-f", ...flags, join(dir, "in"), join(dir, "in.lz4")]);
      const frame = new Uint8Array(readFileSync(join(dir, "in.lz4")));
      expect(frameLength(frame, 0)).toBe(frame.length);
      expect(decodeFrameToEnd(frame, 1 << 20)).toEqual(data);
      expect(() => decodeFrameToEnd(frame, 1000)).toThrow(/more than 1000 bytes/);
    }
    const p = page(65536, 5);
    writeFileSync(join(dir, "ours.lz4"), encodeFrame(p));
    execFileSync("lz4", ["-q", "-d", "-f", join(dir, "ours.lz4"), join(dir, "ours")]);
    expect(new Uint8Array(readFileSync(join(dir, "ours")))).toEqual(p);
  });
});
