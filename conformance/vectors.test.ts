/**
 * Every LTX vector written by the Go library (and the independent Python writer) decodes to the
 * values of its manifest; every truncation of every vector yields a typed error. The edge cases
 * (exact codes, Go's verdicts) are in test/ltx/edge-vectors.test.ts and edge-go.test.ts.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it, expect } from "vitest";
import { decodeLtx, Decoder, verifyLtx, type LtxFormat } from "../lib/ltx/decoder.ts";
import { formatChecksum } from "../lib/ltx/txid.ts";
import { LtxError } from "../lib/errors.ts";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "vectors", "ltx-vectors");
const manifest = JSON.parse(readFileSync(join(DIR, "manifest.json"), "utf8"));
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const read = (p: string) => new Uint8Array(readFileSync(join(DIR, p)));
const fmt = (f: string): LtxFormat => (f === "v1z" ? "v1" : (f as LtxFormat));

interface Entry {
  path: string;
  format: string;
  size: number;
  sha256: string;
  go_verify: Record<string, string>;
  header?: Record<string, unknown>;
  pages?: { pgno: number; offset: number; size: number; data_sha256: string }[];
  page_index?: Record<string, { offset: number; size: number }>;
  trailer?: { post_apply: string; file_checksum: string };
}
const files: Entry[] = manifest.files;
const valid = files.filter((f) => !f.path.startsWith("edge/"));
const edge = files.filter((f) => f.path.startsWith("edge/"));

describe("Go-written vectors decode to their manifest values", () => {
  for (const f of valid) {
    it(f.path, async () => {
      const bytes = read(f.path);
      expect(sha(bytes)).toBe(f.sha256);
      const d = await decodeLtx(bytes, { format: fmt(f.format), strict: true });
      const h = f.header!;
      expect(d.header.flags).toBe(h.flags);
      expect(d.header.pageSize).toBe(h.page_size);
      expect(d.header.commit).toBe(h.commit);
      expect(d.header.minTXID).toBe(BigInt(h.min_txid as number));
      expect(d.header.maxTXID).toBe(BigInt(h.max_txid as number));
      expect(d.header.timestamp).toBe(h.timestamp_ms);
      expect(formatChecksum(d.header.preApplyChecksum)).toBe(h.pre_apply);
      expect(d.header.walOffset).toBe(h.wal_offset);
      expect(d.header.walSize).toBe(h.wal_size);
      expect(d.header.walSalt1).toBe(h.wal_salt1);
      expect(d.header.walSalt2).toBe(h.wal_salt2);
      // JSON numbers above 2^53 lose precision in the manifest; compare at that precision.
      expect(Number(d.header.nodeID)).toBe(h.node_id);
      expect(d.pages.map((p) => [p.pgno, sha(p.data)])).toEqual(f.pages!.map((p) => [p.pgno, p.data_sha256]));
      if (f.page_index) {
        const idx = Object.fromEntries(d.index.map((e) => [String(e.pgno), { offset: e.offset, size: e.size }]));
        expect(idx).toEqual(f.page_index);
      }
      expect(formatChecksum(d.trailer.postApplyChecksum)).toBe(f.trailer!.post_apply);
      expect(formatChecksum(d.trailer.fileChecksum)).toBe(f.trailer!.file_checksum);
    });
  }

  it("applies db_chains to the recorded images", async () => {
    for (const chain of manifest.db_chains as { files: string[]; commit: number; db_sha256: string; db_size: number }[]) {
      let db = new Uint8Array(0);
      for (const p of chain.files) {
        const e = files.find((x) => x.path === p)!;
        const d = await decodeLtx(read(p), { format: fmt(e.format) });
        const ps = d.header.pageSize;
        const size = Math.max(db.length, d.header.commit * ps);
        const next = new Uint8Array(size);
        next.set(db.subarray(0, Math.min(db.length, size)));
        for (const pg of d.pages) next.set(pg.data, (pg.pgno - 1) * ps);
        db = next.subarray(0, d.header.commit * ps);
      }
      expect(db.length).toBe(chain.db_size);
      expect(sha(db), chain.files.join("+")).toBe(chain.db_sha256);
    }
  });

  it("vector 10 decodes to its source SQLite database byte for byte", async () => {
    const d = await decodeLtx(read("v3-block/10-encode-db-sqlite4096.ltx"));
    const db = read("sqlite/10-source.db");
    const out = new Uint8Array(d.header.commit * d.header.pageSize);
    for (const p of d.pages) out.set(p.data, (p.pgno - 1) * d.header.pageSize);
    expect(out).toEqual(db);
  });
});

describe("truncations of every vector are typed errors (at every length; every 97th length in files above 20 kB)", () => {
  for (const f of [...valid, ...edge.filter((e) => e.go_verify["ltx@HEAD-8cb8f8e"] === "ok")]) {
    it(f.path, async () => {
      const bytes = read(f.path);
      const step = bytes.length > 20000 ? 97 : 1;
      for (let n = 0; n < bytes.length; n += step) {
        const r = await verifyLtx(bytes.subarray(0, n), { format: fmt(f.format) }).then(() => null, (e) => e);
        expect(r, `truncated at ${n}`).toBeInstanceOf(LtxError);
      }
    });
  }
});

describe("streamed input decodes like bytes in memory", () => {
  async function* chunked(b: Uint8Array, sizes: number[]) {
    for (let i = 0, k = 0; i < b.length; k++) {
      const n = sizes[k % sizes.length]!;
      yield b.slice(i, i + n);
      i += n;
    }
  }
  for (const f of valid.filter((v) => v.format !== "v1z")) {
    it(f.path, async () => {
      const bytes = read(f.path);
      const whole = await decodeLtx(bytes, { format: fmt(f.format), strict: false });
      for (const sizes of [[1], [3, 97, 1, 4096], [65536]]) {
        const r = new Decoder(chunked(bytes, sizes), { format: fmt(f.format) });
        await r.readHeader();
        const got: { pgno: number; sha: string }[] = [];
        let waits = 0;
        for (;;) {
          let p = r.tryReadPageView();
          if (p === undefined) {
            waits++;
            p = await r.readPageView();
          }
          if (!p) break;
          got.push({ pgno: p.pgno, sha: sha(p.data) });
        }
        const { trailer } = await r.close();
        expect(got).toEqual(whole.pages.map((p) => ({ pgno: p.pgno, sha: sha(p.data) })));
        expect(trailer).toEqual(whole.trailer);
        // One-byte chunks can never hold a whole page frame, so every page needed more input.
        if (sizes[0] === 1) expect(waits).toBe(whole.pages.length + 1);
      }
      // A stream cut short is an end-of-file error, not a hang.
      const cut = bytes.subarray(0, Math.floor(bytes.length / 2));
      const e = await verifyLtx(chunked(cut, [7]), { format: fmt(f.format) }).then(() => null, (x) => x);
      expect(e).toBeInstanceOf(LtxError);
    });
  }
});

describe("seeded random mutations never crash", () => {
  it("flips bytes in every valid vector", async () => {
    let seed = 42;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (const f of valid) {
      const bytes = read(f.path);
      for (let t = 0; t < 60; t++) {
        const m = bytes.slice();
        for (let k = 0; k < 1 + (rnd() % 3); k++) m[rnd() % m.length] = rnd() & 0xff;
        const r = await verifyLtx(m, { format: fmt(f.format) }).then(() => null, (e) => e);
        if (r !== null) expect(r, `${f.path} mutation ${t}: ${r}`).toBeInstanceOf(LtxError);
      }
    }
  });
});
