/**
 * Retention by the built `ltxkit compact` CLI, checked with Go `litestream restore` v0.5.16: on a
 * staged file replica (five snapshots of different ages, L1–L3, 40 L0 files), a pass with snapshot
 * and L0 retention deletes exactly what the spec's rules allow (expected sets written out by hand:
 * test/replica/fixtures.ts STAGES shows the replica), and afterwards every TXID that a remaining
 * chain still ends at restores byte-identically with Go and ltxkit (and equals the source image),
 * while every deleted point, restorable before the pass, is refused by both.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { main } from "../lib/cli/run.ts";
import { openReplicaFromEnv } from "../lib/adapters/replica-node.ts";
import { listAll } from "../lib/replica/list.ts";
import { formatTXID } from "../lib/ltx/txid.ts";
import { captureIO } from "../test/cli/capture-io.ts";
import { writeStagedReplica, type SimStep } from "../test/replica/fixtures.ts";
import { goTool, skipWithoutGo } from "./go-tools.ts";
import { goEnv } from "./litestream/replicate.ts";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "..");
const MIN = 60_000;

/** Builds the CLI (tsc -p tsconfig.build.json) into a temporary directory; returns its main.js. */
function buildCli(into: string): string {
  writeFileSync(join(into, "package.json"), JSON.stringify({ type: "module" }));
  symlinkSync(join(ROOT, "node_modules"), join(into, "node_modules"));
  execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.build.json"), "--outDir", join(into, "dist")], { stdio: "pipe" });
  return join(into, "dist", "cli", "main.js");
}

async function goRestore(url: string, txid: bigint, out: string): Promise<{ ok: true } | { ok: false; error: string }> {
  try {
    await run(goTool("litestream-v0.5.16")!, ["restore", "-o", out, "-txid", formatTXID(txid), url], { env: goEnv() });
    return { ok: true };
  } catch (e) {
    return { ok: false, error: String((e as { stderr?: string }).stderr ?? e) };
  }
}

async function ltxkitRestore(url: string, txid: bigint, out: string): Promise<{ code: number; stderr: string }> {
  const io = captureIO();
  const code = await main(["restore", "-o", out, "-txid", formatTXID(txid), url], io);
  return { code, stderr: io.stderr };
}

describe.skipIf(skipWithoutGo("litestream-v0.5.16"))("ltxkit compact with retention, restored by Go Litestream v0.5.16", () => {
  const dir = mkdtempSync(join(tmpdir(), "ltxkit-retention-go-"));
  const replicaDir = join(dir, "replica");
  const url = `file://${replicaDir}`;
  let cli = "";
  let steps: SimStep[] = [];
  const start = Date.now() - 3 * 3600_000;
  const ts = (t: number) => start + t * MIN;

  beforeAll(async () => {
    mkdirSync(join(dir, "cli"));
    cli = buildCli(join(dir, "cli"));
    steps = await writeStagedReplica(openReplicaFromEnv(replicaDir), { start, interval: MIN });
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("deletes exactly the expected snapshots, files below the floor and L0 files; Go restores what remains and refuses what went", async () => {
    // Before the pass, the points retention will remove restore with Go.
    for (const t of [8n, 22n, 33n]) {
      const out = join(dir, `before-${t}.db`);
      const g = await goRestore(url, t, out);
      expect(g.ok, `TXID ${t} before retention: ${g.ok ? "" : g.error}`).toBe(true);
      expect(new Uint8Array(readFileSync(out))).toEqual(steps[Number(t) - 1]!.db);
    }

    // Snapshot retention cut at ts(33): snapshots 1-8, 1-22 and 1-30 are older, 1-36 and 1-40 are
    // not; floor = 30. L0 retention 1 min: every L0 file is older and covered by L1 (max 40), so all
    // but the newest (40) go.
    const retention = `${Date.now() - ts(33)}ms`;
    const { stdout } = await run(process.execPath, [cli, "compact", "--level", "9", "--snapshot-retention", retention, "--l0-retention", "1m", "--json", replicaDir], { env: goEnv() });
    const report = JSON.parse(stdout) as { written: unknown[]; deleted: { level: number; min_txid: string; max_txid: string }[] };
    expect(report.written).toEqual([]);
    const name = (f: { level: number; min_txid: string; max_txid: string }) => `${f.level}:${BigInt(`0x${f.min_txid}`)}-${BigInt(`0x${f.max_txid}`)}`;
    const l0Gone = Array.from({ length: 39 }, (_, i) => `0:${i + 1}-${i + 1}`);
    expect(report.deleted.map(name)).toEqual([...l0Gone, "9:1-8", "9:1-22", "9:1-30", "1:1-8", "1:9-15", "1:16-22", "2:1-15"]);
    const left = (await listAll(openReplicaFromEnv(replicaDir))).map((f) => `${f.level}:${f.minTXID}-${f.maxTXID}`);
    expect(left).toEqual(["0:40-40", "1:23-30", "1:31-36", "1:37-40", "2:16-30", "2:31-40", "3:1-15", "9:1-36", "9:1-40"]);

    // The chains left end at 15 (L3 1-15), 30 (L3 1-15 + L2 16-30), 36 (snapshot 1-36) and 40
    // (snapshot 1-40, and the latest point). Every other TXID is gone.
    const reachable = new Set([15, 30, 36, 40]);
    const seen: number[] = [];
    for (let t = 1; t <= 40; t++) {
      const goOut = join(dir, `go-${t}.db`), myOut = join(dir, `ltxkit-${t}.db`);
      const g = await goRestore(url, BigInt(t), goOut);
      const m = await ltxkitRestore(url, BigInt(t), myOut);
      if (reachable.has(t)) {
        expect(g.ok, `Go restore of TXID ${t}: ${g.ok ? "" : g.error}`).toBe(true);
        expect(m.code, `ltxkit restore of TXID ${t}: ${m.stderr}`).toBe(0);
        const a = new Uint8Array(readFileSync(goOut));
        expect(new Uint8Array(readFileSync(myOut)), `TXID ${t}: ltxkit = Go`).toEqual(a);
        expect(a, `TXID ${t}: Go = source`).toEqual(steps[t - 1]!.db);
        seen.push(t);
      } else {
        expect(g.ok, `Go restored deleted TXID ${t}`).toBe(false);
        expect((g as { error: string }).error, `TXID ${t}`).toContain("no matching backup files available");
        expect(m.code, `ltxkit restored deleted TXID ${t}`).toBe(1);
        expect(m.stderr, `TXID ${t}`).toContain("no matching backup files available");
      }
    }
    expect(seen).toEqual([15, 30, 36, 40]);
    const latest = join(dir, "go-latest.db");
    await run(goTool("litestream-v0.5.16")!, ["restore", "-o", latest, url], { env: goEnv() });
    expect(new Uint8Array(readFileSync(latest))).toEqual(steps[39]!.db);
  }, 300_000);
});
