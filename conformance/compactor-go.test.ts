/**
 * Compaction of many sparse, overlapping inputs, with the expected output taken from Go's
 * ltx.Compactor (v0.5.2, through the ltxoracle, NoChecksum output as Litestream runs it): ltxkit's
 * compactor gives the same header and the same pages, and Go's pages come from many different
 * inputs (the snapshot among them), so a compactor that looks at only the newest inputs fails.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { compactLtx } from "../lib/ltx/compactor.ts";
import { decodeLtx, Decoder } from "../lib/ltx/decoder.ts";
import { encodeLtxBytes } from "../lib/ltx/encoder.ts";
import { formatChecksum, formatTXID } from "../lib/ltx/txid.ts";
import { mustGoTool, skipWithoutGo } from "./go-tools.ts";
import { expectedCompaction, manyCompactionInputs } from "../test/ltx/helpers.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe.skipIf(skipWithoutGo("ltxoracle"))("compaction of 40 sparse, overlapping inputs matches Go's ltx.Compactor", () => {
  it("same header and pages as Go; Go's pages come from many inputs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-compact-many-"));
    const inputs = manyCompactionInputs();
    const paths = inputs.map((f, i) => {
      const p = join(dir, `${String(i).padStart(2, "0")}.ltx`);
      writeFileSync(p, encodeLtxBytes(f.header, f.pages, { pageEncoding: i % 2 ? "frame" : "block" }));
      return p;
    });
    const goOut = join(dir, "go.ltx");
    execFileSync(mustGoTool("ltxoracle"), ["compact", goOut, ...paths]);
    const go = JSON.parse(execFileSync(mustGoTool("ltxoracle"), ["decode", goOut], { encoding: "utf8" })) as {
      error?: string; header: Record<string, unknown>; pages: { pgno: number; sha256: string }[]; trailer: Record<string, string>;
    };
    expect(go.error).toBeUndefined();

    // Where each of Go's pages came from (every input page is distinct).
    const source = new Map<string, number>();
    inputs.forEach((f, i) => f.pages.forEach((p) => source.set(sha(p.data), i)));
    const goSources = go.pages.map((p) => [p.pgno, source.get(p.sha256)]);
    const distinct = new Set(goSources.map((s) => s[1]));
    expect(distinct.size, "inputs Go's pages come from").toBeGreaterThanOrEqual(15);
    expect(distinct.has(0) && distinct.has(39)).toBe(true);
    // The model the unit test uses agrees with Go.
    expect(goSources).toEqual([...expectedCompaction(inputs)].sort((a, b) => a[0] - b[0]).map(([pgno, w]) => [pgno, w.input]));

    const parts: Uint8Array[] = [];
    for await (const c of compactLtx(paths.map((p) => new Decoder(new Uint8Array(readFileSync(p)))), { headerFlags: 2 }) as unknown as AsyncIterable<Uint8Array>) parts.push(c);
    const mine = await decodeLtx(new Uint8Array(Buffer.concat(parts)), { strict: true });
    expect(mine.pages.map((p) => ({ pgno: p.pgno, sha256: sha(p.data) }))).toEqual(go.pages);
    const h = mine.header;
    expect({
      flags: h.flags, pageSize: h.pageSize, commit: h.commit, minTXID: formatTXID(h.minTXID), maxTXID: formatTXID(h.maxTXID), timestamp: h.timestamp,
      preApplyChecksum: formatChecksum(h.preApplyChecksum), walOffset: h.walOffset, walSize: h.walSize, walSalt1: h.walSalt1, walSalt2: h.walSalt2,
      nodeID: h.nodeID.toString(16).padStart(16, "0"),
    }).toEqual(go.header);
    expect(formatChecksum(mine.trailer.postApplyChecksum)).toBe(go.trailer.postApplyChecksum);
  });
});
