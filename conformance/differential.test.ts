/**
 * Differential checks against the Go library: files our encoder writes are accepted by Go's
 * decoders (ltx v0.5.2, which Litestream v0.5.16 links, and for frame files also v0.5.1, which
 * Litestream ≤ v0.5.15 links) with identical page contents and checksums; files Go writes decode
 * identically in ours; our compactor and Go's agree on content. Never compares compressed bytes.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { encodeLtxBytes, type Page, type PageEncoding } from "../lib/ltx/encoder.ts";
import { literalBlockSize } from "../lib/ltx/lz4-compress.ts";
import { decodeLtx, Decoder } from "../lib/ltx/decoder.ts";
import { compactLtx } from "../lib/ltx/compactor.ts";
import { CHECKSUM_FLAG, DatabaseChecksum } from "../lib/ltx/checksum.ts";
import { formatChecksum, formatTXID } from "../lib/ltx/txid.ts";
import { mustGoTool, skipWithoutGo } from "./go-tools.ts";
import { header, snapshotPages, sparsePages } from "../test/ltx/helpers.ts";

const SIZES = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const skip = skipWithoutGo("ltx-v0.5.2", "ltx-v0.5.1", "ltxoracle");

interface OracleOut {
  path: string;
  error?: string;
  header?: Record<string, unknown>;
  pages?: { pgno: number; sha256: string }[];
  trailer?: { postApplyChecksum: string; fileChecksum: string };
}
function oracleDecode(paths: string[]): OracleOut[] {
  const out = execFileSync(mustGoTool("ltxoracle"), ["decode", ...paths], { encoding: "utf8", maxBuffer: 64 << 20 });
  return out.trim().split("\n").map((l) => JSON.parse(l));
}

describe.skipIf(skip)("ltxkit-written files are read by Go", () => {
  const dir = mkdtempSync(join(tmpdir(), "ltxkit-diff-"));
  const made: { path: string; pages: Page[]; encoding: PageEncoding; compress: boolean; bytes: Uint8Array; post: bigint; file: bigint }[] = [];
  // compress false: stored pages (literal-only LZ4 blocks, stored-block frames), what capture L0 files hold.
  for (const encoding of ["block", "frame"] as PageEncoding[]) for (const compress of [true, false]) {
    for (const ps of SIZES) {
      for (const nc of [false, true]) {
        const snap = snapshotPages(ps, 6, ps + (nc ? 1 : 0));
        const hs = header({ pageSize: ps, commit: 6, flags: nc ? 2 : 0 });
        const b1 = encodeLtxBytes(hs, snap, { pageEncoding: encoding, compress });
        const c = new DatabaseChecksum(ps);
        snap.forEach((p) => c.add(p.pgno, p.data));
        const inc = sparsePages(ps, 9, ps * 3 + (nc ? 1 : 0));
        const hi = header({ pageSize: ps, commit: 9, flags: nc ? 2 : 0, minTXID: 2n, maxTXID: 4n, preApplyChecksum: nc ? 0n : c.value() });
        const b2 = encodeLtxBytes(hi, inc, { pageEncoding: encoding, compress, postApplyChecksum: nc ? undefined : CHECKSUM_FLAG | 0xabcdefn });
        for (const [name, bytes, pages] of [["snap", b1, snap], ["inc", b2, inc]] as const) {
          const path = join(dir, `${encoding}-${compress ? "lz4" : "stored"}-${ps}-${nc ? "nc" : "ck"}-${name}.ltx`);
          writeFileSync(path, bytes);
          const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
          made.push({ path, pages: pages as Page[], encoding, compress, bytes, post: v.getBigUint64(bytes.length - 16), file: v.getBigUint64(bytes.length - 8) });
        }
      }
    }
  }

  it("the stored files hold stored pages: a literal-only LZ4 block (token 0xF0) or a stored frame block (bit 31) per page", () => {
    const stored = made.filter((m) => !m.compress);
    expect(stored).toHaveLength(made.length / 2);
    for (const m of stored) {
      const b = m.bytes;
      const ps = new DataView(b.buffer, b.byteOffset).getUint32(8);
      if (m.encoding === "block") {
        expect(new DataView(b.buffer, b.byteOffset).getUint32(106), m.path).toBe(literalBlockSize(ps));
        expect(b[110], m.path).toBe(0xf0);
      } else expect(b[100 + 6 + 10]! & 0x80, m.path).toBe(0x80);
    }
  });

  it("ltx v0.5.2 verify accepts every file (both encodings, compressed and stored pages, every page size, both checksum modes)", () => {
    const out = execFileSync(mustGoTool("ltx-v0.5.2"), ["verify", ...made.map((m) => m.path)], { encoding: "utf8" });
    expect(out.trim()).toBe("ok");
  });

  it("ltx v0.5.1 (Litestream ≤ v0.5.15) accepts every frame-encoded file (compressed and stored blocks)", () => {
    const frames = made.filter((m) => m.encoding === "frame").map((m) => m.path);
    const out = execFileSync(mustGoTool("ltx-v0.5.1"), ["verify", ...frames], { encoding: "utf8" });
    expect(out.trim()).toBe("ok");
  });

  it("Go decodes the same pages and checksums", () => {
    const res = oracleDecode(made.map((m) => m.path));
    res.forEach((r, i) => {
      const m = made[i]!;
      expect(r.error, m.path).toBeUndefined();
      expect(r.pages).toEqual(m.pages.map((p) => ({ pgno: p.pgno, sha256: sha(p.data) })));
      expect(r.trailer).toEqual({ postApplyChecksum: formatChecksum(m.post), fileChecksum: formatChecksum(m.file) });
    });
  });
});

describe.skipIf(skip)("Go-written files decode identically in ltxkit", () => {
  it("random page sets at every page size, snapshots and incrementals", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-goenc-"));
    for (const ps of SIZES) {
      for (const [kind, pages, h] of [
        ["snap", snapshotPages(ps, 7, ps + 11), { pageSize: ps, commit: 7, minTXID: 1, maxTXID: 1, flags: 2 }],
        ["inc", sparsePages(ps, 12, ps + 12), { pageSize: ps, commit: 12, minTXID: 3, maxTXID: 5, flags: 2 }],
      ] as const) {
        const rec = new Uint8Array(pages.length * (4 + ps));
        pages.forEach((p, i) => {
          new DataView(rec.buffer).setUint32(i * (4 + ps), p.pgno);
          rec.set(p.data, i * (4 + ps) + 4);
        });
        const spec = join(dir, `${ps}-${kind}.json`), pf = join(dir, `${ps}-${kind}.pages`), out = join(dir, `${ps}-${kind}.ltx`);
        writeFileSync(spec, JSON.stringify({ ...h, timestamp: 1_700_000_000_000 }));
        writeFileSync(pf, rec);
        execFileSync(mustGoTool("ltxoracle"), ["encode", out, spec, pf]);
        const d = await decodeLtx(new Uint8Array(readFileSync(out)), { strict: true });
        expect(d.pages.map((p) => [p.pgno, sha(p.data)])).toEqual(pages.map((p) => [p.pgno, sha(p.data)]));
        expect(formatTXID(d.header.maxTXID)).toBe(formatTXID(BigInt(h.maxTXID)));
      }
    }
  });

  it("our compactor and Go's produce the same content", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-gocompact-"));
    const inputs: string[] = [];
    let commit = 0;
    for (let t = 1; t <= 6; t++) {
      // Commits 10, 12, 13, 6 (shrink), 15, 16; growth pages are always written, as SQLite does.
      const next = t === 1 ? 10 : t === 4 ? 6 : 10 + t;
      const sparse = t === 1 ? snapshotPages(4096, 10, 1) : sparsePages(4096, next, 100 + t);
      const have = new Set(sparse.map((p) => p.pgno));
      const growth = snapshotPages(4096, next, 200 + t).filter((p) => p.pgno > commit && !have.has(p.pgno));
      const pages = [...sparse, ...growth].filter((p) => p.pgno <= next).sort((a, b) => a.pgno - b.pgno);
      commit = next;
      const h = header({ pageSize: 4096, commit, minTXID: BigInt(t), maxTXID: BigInt(t), flags: 2 });
      const p = join(dir, `${t}.ltx`);
      writeFileSync(p, encodeLtxBytes(h, pages, { pageEncoding: t % 2 ? "block" : "frame" }));
      inputs.push(p);
    }
    const goOut = join(dir, "go.ltx");
    execFileSync(mustGoTool("ltxoracle"), ["compact", goOut, ...inputs]);
    const ours = compactLtx(inputs.map((p) => new Decoder(new Uint8Array(readFileSync(p)))), { headerFlags: 2 });
    const parts: Uint8Array[] = [];
    for await (const c of ours as unknown as AsyncIterable<Uint8Array>) parts.push(c);
    const mine = await decodeLtx(Buffer.concat(parts), { strict: true });
    const theirs = await decodeLtx(new Uint8Array(readFileSync(goOut)), { strict: true });
    expect(mine.header).toEqual(theirs.header);
    expect(mine.pages).toEqual(theirs.pages);
  });
});
