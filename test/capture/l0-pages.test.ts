/**
 * encodePages (the capture's L0 encoding without a ReadableStream) against encodeLtxBytes, the
 * encoder the LTX vectors check: the same bytes for the same header and pages in both page
 * encodings, decodable to the pages given, and a failing page source fails the body.
 */
import { describe, expect, it } from "vitest";
import { encodePages, rechunk, windowed } from "../../lib/capture/l0-pages.ts";
import { decodeLtx } from "../../lib/ltx/decoder.ts";
import { encodeLtxBytes, type Page, type PageEncoding } from "../../lib/ltx/encoder.ts";
import { HEADER_FLAG_NO_CHECKSUM, type Header } from "../../lib/ltx/header.ts";
import { concat } from "../../lib/util/bytes.ts";

const pageSize = 4096;
const header: Header = {
  flags: HEADER_FLAG_NO_CHECKSUM,
  pageSize,
  commit: 40,
  minTXID: 7n,
  maxTXID: 7n,
  timestamp: 1_700_000_000_123,
  preApplyChecksum: 0n,
  walOffset: 32 + 5 * (pageSize + 24),
  walSize: 3 * (pageSize + 24),
  walSalt1: 0x01020304,
  walSalt2: 0x0a0b0c0d,
  nodeID: 0n,
};

/** Pages with content that differs per page and compresses partly. */
function pages(pgnos: number[]): Page[] {
  return pgnos.map((pgno) => {
    const data = new Uint8Array(pageSize);
    let x = pgno * 2654435761;
    for (let i = 0; i < pageSize; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      data[i] = i % 3 === 0 ? pgno : x >>> 24;
    }
    return { pgno, data };
  });
}

async function* lazily(ps: Page[]): AsyncGenerator<Page> {
  for (const p of ps) yield p;
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of body) parts.push(c);
  return concat(parts, parts.reduce((n, c) => n + c.length, 0));
}

describe("encodePages", () => {
  for (const encoding of ["block", "frame"] as PageEncoding[]) {
    it(`gives the bytes of encodeLtxBytes for the same header and pages (${encoding} encoding), and they decode to those pages`, async () => {
      const ps = pages([1, 2, 5, 17, 39, 40]);
      const got = await collect(rechunk(encodePages(header, lazily(ps), encoding)));
      const want = encodeLtxBytes(header, ps, { pageEncoding: encoding });
      expect(got.length).toBe(want.length);
      expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
      const d = await decodeLtx(got);
      expect(d.header.maxTXID).toBe(7n);
      expect(d.pages.map((p) => p.pgno)).toEqual([1, 2, 5, 17, 39, 40]);
      for (let i = 0; i < ps.length; i++) expect(Buffer.from(d.pages[i]!.data).equals(Buffer.from(ps[i]!.data))).toBe(true);
    });
  }

  it("a page source that fails fails the body with its error, before the trailer", async () => {
    async function* failing(): AsyncGenerator<Page> {
      yield pages([1])[0]!;
      throw new Error("frame overwritten");
    }
    const seen: number[] = [];
    const run = (async () => {
      for await (const c of encodePages(header, failing(), "block")) seen.push(c.length);
    })();
    await expect(run).rejects.toThrow("frame overwritten");
    expect(seen.length).toBe(2); // the header and the one page
  });
});

describe("windowed()", () => {
  const file = new Uint8Array(8 << 20).map((_, i) => (i * 7) & 0xff);
  const counting = () => {
    const asked: number[] = [];
    const f = { size: async () => file.length, read: async (o: number, n: number) => (asked.push(n), file.slice(o, o + n)), close: async () => {} };
    return { f, asked };
  };

  it("grows the window (16 KiB doubling to 1 MiB) only for reads that go on where it ended", async () => {
    const { f, asked } = counting();
    const w = windowed(f);
    for (let o = 0; o < 3 << 20; o += 4096) expect((await w.read(o, 4096))[5]).toBe(((o + 5) * 7) & 0xff);
    expect(asked).toEqual([16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20, 1 << 20, 1 << 20]);
  });

  it("reads 16 KiB for each scattered read (frames at offsets in page order)", async () => {
    const { f, asked } = counting();
    const w = windowed(f);
    for (const o of [5 << 20, 1 << 20, 3 << 20, 200 << 10, 7 << 20]) expect((await w.read(o, 4096))[0]).toBe((o * 7) & 0xff);
    expect(asked).toEqual([16 << 10, 16 << 10, 16 << 10, 16 << 10, 16 << 10]);
  });
});
