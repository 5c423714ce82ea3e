/**
 * Regenerates conformance/fixtures/go-ltx: LTX files written by the Go library (superfly/ltx v0.5.2
 * through our ltxoracle) from real SQLite databases and seeded random page sets, with manifest.json
 * of the expected decoded values. Needs the Go tools (bash conformance/install-go-tools.sh).
 *   npx deno run -A conformance/gen-fixtures.ts
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { mustGoTool } from "./go-tools.ts";
import { snapshotPages, sparsePages } from "../test/ltx/helpers.ts";
import { lockPgno } from "../lib/ltx/checksum.ts";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "fixtures", "go-ltx");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const manifest: unknown[] = [];

function encode(name: string, spec: Record<string, unknown>, pages: { pgno: number; data: Uint8Array }[], ps: number) {
  const rec = new Uint8Array(pages.length * (4 + ps));
  pages.forEach((p, i) => {
    new DataView(rec.buffer).setUint32(i * (4 + ps), p.pgno);
    rec.set(p.data, i * (4 + ps) + 4);
  });
  const tmp = join(out, ".tmp");
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, "spec.json"), JSON.stringify(spec));
  writeFileSync(join(tmp, "pages"), rec);
  execFileSync(mustGoTool("ltxoracle"), ["encode", join(out, name), join(tmp, "spec.json"), join(tmp, "pages")]);
  rmSync(tmp, { recursive: true });
  const decoded = JSON.parse(execFileSync(mustGoTool("ltxoracle"), ["decode", join(out, name)], { encoding: "utf8" }));
  manifest.push({ file: name, ...decoded, path: undefined });
}

// Seeded random page sets: every page size, snapshots and incrementals, NoChecksum.
for (let ps = 512; ps <= 65536; ps *= 2) {
  encode(`random-${ps}-snapshot.ltx`, { flags: 2, pageSize: ps, commit: 5, minTXID: 1, maxTXID: 1, timestamp: 1_700_000_000_000 }, snapshotPages(ps, 5, ps), ps);
  encode(`random-${ps}-incremental.ltx`, { flags: 2, pageSize: ps, commit: 12, minTXID: 2, maxTXID: 7, timestamp: 1_700_000_001_000 }, sparsePages(ps, 12, ps + 1), ps);
}
// Real SQLite databases at three page sizes, as snapshots.
for (const ps of [1024, 4096, 65536]) {
  const db = join(out, `.db-${ps}`);
  execFileSync("python3", ["-c", `
import sqlite3, random
c = sqlite3.connect(${JSON.stringify(db)}); c.execute("PRAGMA page_size=${ps}")
c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, v BLOB)"); c.execute("CREATE INDEX t_name ON t(name)")
r = random.Random(${ps})
with c:
    for i in range(600): c.execute("INSERT INTO t VALUES (?,?,?)", (i, "name-%d" % r.randrange(10**6), bytes(r.randrange(256) for _ in range(r.randrange(10, 300)))))
c.close()`]);
  const bytes = new Uint8Array(readFileSync(db));
  rmSync(db);
  const commit = bytes.length / ps;
  const pages = [];
  for (let p = 1; p <= commit; p++) if (p !== lockPgno(ps)) pages.push({ pgno: p, data: bytes.slice((p - 1) * ps, p * ps) });
  encode(`sqlite-${ps}.ltx`, { flags: 2, pageSize: ps, commit, minTXID: 1, maxTXID: 1, timestamp: 1_700_000_002_000 }, pages, ps);
  (manifest[manifest.length - 1] as Record<string, unknown>).db_sha256 = sha(bytes);
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 1) + "\n");
console.log(`wrote ${manifest.length} fixtures to ${out}`);
