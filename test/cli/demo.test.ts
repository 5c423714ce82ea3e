/**
 * `npm start` (`ltxkit demo`) through the built binary: an application writes a SQLite file while
 * replicate() runs, then compaction and verified restores. The demo's own verdicts are checked
 * against independent readings: the restored files opened here with the test's SQLite driver (row
 * counts, integrity), and, with Go present, `litestream restore` v0.5.16 of the demo's replica.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { mustGoTool, skipWithoutGo } from "../../conformance/go-tools.ts";
import { goEnv } from "../../conformance/litestream/replicate.ts";
import { contentHash } from "../capture/app.ts";
import { open } from "../capture/driver.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = join(ROOT, JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).bin.ltxkit);
// The binary is a Node program; under Bun and Deno it is still run by Node.
const g = globalThis as { Bun?: unknown; Deno?: unknown };
const NODE = g.Bun || g.Deno ? "node" : process.execPath;
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

/** The driver the binary's Node must pick: node:sqlite from 22.13, else better-sqlite3. */
function expectedDriver(): string {
  const [maj, min] = execFileSync(NODE, ["-p", "process.versions.node"], { encoding: "utf8" }).trim().split(".").map(Number) as [number, number];
  return maj > 22 || (maj === 22 && min >= 13) ? "node:sqlite" : "better-sqlite3";
}

interface Restore { target: string; step: string; txid: string; expectedTXID: string; files: string[]; integrity: string; contentHash: string; expectedHash: string; fileSha256: string; ok: boolean; path: string }
interface Report { driver: string; replica: string; steps: { name: string; txid: string; time: string; contentHash: string; pages: number; rows: number }[]; ladderLevels: number[]; levels: number[]; restores: Restore[]; errors: string[]; ok: boolean }

/** Integrity, row count and the test's own content hash of a restored file, read with the test's driver. */
function readBack(path: string): { integrity: string; rows: number; hash: string } {
  const c = open(path);
  try {
    const integrity = c.query("PRAGMA integrity_check").map((r) => String(Object.values(r)[0])).join("; ");
    const rows = Number(Object.values(c.query("SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM events) AS n")[0]!)[0]);
    return { integrity, rows, hash: contentHash(c) };
  } finally {
    c.close();
  }
}

describe("ltxkit demo (npm start) through the built binary", () => {
  const dir = join(mkdtempSync(join(tmpdir(), "ltxkit-demo-test-")), "d");
  let run: { code: number | null; stdout: string; stderr: string };
  let r: Report;
  const shaBefore = new Map<string, string>();
  beforeAll(() => {
    const p = spawnSync(NODE, [BIN, "demo", "--json", "--dir", dir], { encoding: "utf8", timeout: 170_000 });
    run = { code: p.status, stdout: p.stdout, stderr: p.stderr };
    if (run.code === 0 || run.code === 1) r = JSON.parse(run.stdout);
    for (const x of r?.restores ?? []) shaBefore.set(x.path, sha(x.path));
  }, 180_000);

  it("exits 0 with every restore verified, naming the runtime's driver, levels 0, 1, 2, 3 and 9 present", () => {
    expect(run.code, run.stderr + run.stdout.slice(-2000)).toBe(0);
    expect(r.ok).toBe(true);
    expect(r.errors).toEqual([]);
    expect(r.driver).toBe(expectedDriver());
    expect(r.levels).toEqual(expect.arrayContaining([0, 1, 2, 3, 9]));
    expect(r.steps.map((s) => s.name)).toContain("application PRAGMA wal_checkpoint(PASSIVE)");
    expect(r.steps.map((s) => s.name)).toContain("VACUUM");
    // TXIDs strictly increase, one per sync()
    const txids = r.steps.map((s) => BigInt("0x" + s.txid));
    for (let i = 1; i < txids.length; i++) expect(txids[i]! > txids[i - 1]!, r.steps[i]!.name).toBe(true);
    const targets = r.restores.map((x) => x.target.split(" ")[0]);
    expect(targets.filter((t) => t === "TXID").length).toBeGreaterThanOrEqual(3);
    expect(targets.slice(-2)).toEqual(["timestamp", "latest"]);
    for (const x of r.restores) {
      const step = r.steps.find((s) => s.name === x.step)!;
      expect([x.ok, x.integrity, x.txid, x.contentHash], x.target).toEqual([true, "ok", step.txid, step.contentHash]);
      expect(x.expectedHash).toBe(step.contentHash);
    }
    expect(r.restores[r.restores.length - 1]!.step).toBe(r.steps[r.steps.length - 1]!.name);
  });

  it("each restored file, read back here, is sound with its step's row count; different steps restore to different content", () => {
    expect(run.code, run.stderr).toBe(0);
    const byStep = new Map<string, string>();
    for (const x of r.restores) {
      expect(shaBefore.get(x.path), x.target).toBe(x.fileSha256);
      const got = readBack(x.path);
      const step = r.steps.find((s) => s.name === x.step)!;
      expect([got.integrity, got.rows], x.target).toEqual(["ok", step.rows]);
      if (byStep.has(x.step)) expect(got.hash, x.target).toBe(byStep.get(x.step));
      byStep.set(x.step, got.hash);
    }
    // Steps whose recorded content differs restore to different content (a demo restoring one point for all would fail).
    const distinct = new Set(r.restores.map((x) => x.expectedHash)).size;
    expect(new Set(byStep.values()).size).toBe(distinct);
    expect(distinct).toBeGreaterThanOrEqual(4);
  });

  it("refuses a --dir that is not empty (exit 2)", () => {
    const p = spawnSync(NODE, [BIN, "demo", "--dir", dir], { encoding: "utf8", timeout: 60_000 });
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/not empty/);
  });

  it.skipIf(skipWithoutGo("litestream-v0.5.16"))("litestream restore v0.5.16 of the demo's replica gives the bytes of ltxkit's restore, at the latest point and at each restored TXID", () => {
    expect(run.code, run.stderr).toBe(0);
    const ls = mustGoTool("litestream-v0.5.16");
    for (const x of r.restores.filter((x) => x.target === "latest" || x.target.startsWith("TXID "))) {
      const out = join(dir, "..", `go-${x.txid}-${x.target.split(" ")[0]}.db`);
      const args = ["restore", "-o", out, ...(x.target === "latest" ? [] : ["-txid", x.txid]), `file://${r.replica}`];
      execFileSync(ls, args, { stdio: "pipe", env: goEnv() });
      expect(sha(out), x.target).toBe(x.fileSha256);
    }
  });
});
