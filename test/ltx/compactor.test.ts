import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it, expect } from "vitest";
import { Compactor, compactLtx, isContiguous } from "../../lib/ltx/compactor.ts";
import { Decoder, decodeLtx } from "../../lib/ltx/decoder.ts";
import { encodeLtxBytes } from "../../lib/ltx/encoder.ts";
import { expectedCompaction, header, manyCompactionInputs, mixedPage } from "./helpers.ts";
import { newHeader } from "../../lib/ltx/header.ts";

const V = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "conformance", "vectors", "ltx-vectors");
const vec = (p: string) => new Uint8Array(readFileSync(join(V, p)));
const reader = (b: Uint8Array) => new Decoder(b);

async function collect(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const r = s.getReader();
  for (;;) {
    const { done, value } = await r.read();
    if (done) break;
    parts.push(value);
  }
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

describe("Compactor (Go semantics)", () => {
  for (const enc of ["v3-block", "v3-frame"]) {
    it(`${enc}: 02+03 gives the pages and checksums of Go's 04, and 03+05 those of 06`, async () => {
      const out = await collect(compactLtx([reader(vec(`${enc}/02-snapshot-3pages.ltx`)), reader(vec(`${enc}/03-incremental-2-3.ltx`))]));
      const got = await decodeLtx(out, { strict: true });
      const want = await decodeLtx(vec(`${enc}/04-compacted-1-3.ltx`));
      expect(got.header).toEqual({ ...want.header });
      expect(got.pages).toEqual(want.pages);
      expect(got.trailer.postApplyChecksum).toBe(want.trailer.postApplyChecksum);

      const out2 = await collect(compactLtx([reader(vec(`${enc}/03-incremental-2-3.ltx`)), reader(vec(`${enc}/05-incremental-4-shrink.ltx`))]));
      const got2 = await decodeLtx(out2, { strict: true });
      const want2 = await decodeLtx(vec(`${enc}/06-compacted-2-4.ltx`));
      expect(got2.header).toEqual(want2.header);
      expect(got2.pages.map((p) => p.pgno)).toEqual([2]);
      expect(got2.pages).toEqual(want2.pages);
    });
  }

  it("checks contiguity like Go (overlap allowed, gaps not)", async () => {
    expect(isContiguous(5n, 6n, 7n)).toBe(true);
    expect(isContiguous(5n, 3n, 7n)).toBe(true);
    expect(isContiguous(5n, 7n, 8n)).toBe(false);
    expect(isContiguous(5n, 2n, 5n)).toBe(false);
    const mk = (min: bigint, max: bigint, ps = 512) => encodeLtxBytes(header({ pageSize: ps, commit: 1, minTXID: min, maxTXID: max, flags: 2 }), [{ pgno: 1, data: mixedPage(ps, Number(min)) }]);
    const c = new Compactor([reader(mk(1n, 2n)), reader(mk(4n, 4n))], { headerFlags: 2 });
    await expect(c.open()).rejects.toMatchObject({ code: "NON_CONTIGUOUS", message: expect.stringContaining("non-contiguous transaction ids in input files: (0000000000000001,0000000000000002) -> (0000000000000004,0000000000000004)") });
    const c2 = new Compactor([reader(mk(1n, 2n)), reader(mk(3n, 3n, 1024))], { headerFlags: 2 });
    await expect(c2.open()).rejects.toMatchObject({ code: "PAGE_SIZE_MISMATCH" });
    await expect(new Compactor([]).open()).rejects.toThrow(/at least one input reader required/);
    const ok = await collect(compactLtx([reader(mk(1n, 2n)), reader(mk(2n, 5n))], { headerFlags: 2 }));
    const d = await decodeLtx(ok);
    expect([d.header.minTXID, d.header.maxTXID]).toEqual([1n, 5n]);
    expect(d.pages[0]!.data).toEqual(mixedPage(512, 2));
  });

  it("verifies every input checksum and reports which input failed", async () => {
    const a = encodeLtxBytes(header({ pageSize: 512, commit: 1, flags: 2 }), [{ pgno: 1, data: mixedPage(512, 1) }]);
    const b = encodeLtxBytes(header({ pageSize: 512, commit: 1, minTXID: 2n, maxTXID: 2n, flags: 2 }), [{ pgno: 1, data: mixedPage(512, 2) }]);
    b[b.length - 1]! ^= 1;
    const c = new Compactor([reader(a), reader(b)], { headerFlags: 2 });
    const err = await (async () => {
      for await (const _ of c.pages()) {
        // drain
      }
    })().catch((e) => e);
    expect(err.code).toBe("CHECKSUM_MISMATCH");
    expect(err.message).toMatch(/close reader 1/);
  });

  it("merges 40 sparse, overlapping inputs: the newest copy of each page wins, from whichever input holds it", async () => {
    const inputs = manyCompactionInputs();
    const want = expectedCompaction(inputs);
    // The inputs are built so that the newest copies come from many inputs, the snapshot included.
    const sources = new Set([...want.values()].map((w) => w.input));
    expect(sources.size).toBeGreaterThanOrEqual(15);
    expect(sources.has(0) && sources.has(39)).toBe(true);
    expect(want.get(47)!.input, "page 47 keeps its pre-shrink copy").toBe(0);
    const files = inputs.map((f, i) => encodeLtxBytes(f.header, f.pages, { pageEncoding: i % 2 ? "frame" : "block" }));
    const out = await decodeLtx(await collect(compactLtx(files.map(reader), { headerFlags: 2 })), { strict: true });
    expect(out.header).toEqual(newHeader({ flags: 2, pageSize: 1024, commit: 50, minTXID: 1n, maxTXID: inputs[39]!.header.maxTXID, timestamp: inputs[39]!.header.timestamp }));
    // Each page names the input it came from in its first four bytes.
    expect(out.pages.map((p) => [p.pgno, new DataView(p.data.buffer, p.data.byteOffset).getUint32(0)])).toEqual([...want].sort((a, b) => a[0] - b[0]).map(([pgno, w]) => [pgno, w.input]));
    for (const p of out.pages) expect(p.data, `page ${p.pgno}`).toEqual(want.get(p.pgno)!.data);
  });
});
