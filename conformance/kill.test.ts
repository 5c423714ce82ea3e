/**
 * Faults: the replicating process is killed with SIGKILL at random points (during capture, sync,
 * upload, checkpoint, compaction and its own restart) and restarted on the same database and file
 * replica, many times. The application (conformance/kill/child.mjs, run by Node against dist/)
 * prints `ACK <txid> <hash>` after each sync() resolves, the hash of its content taken before the
 * call. After every kill the replica must hold every acknowledged commit: each sampled ACK restores
 * to its hash with integrity_check ok, the levels are contiguous, and latest is at least the newest
 * ACK. At the end `litestream restore` v0.5.16 at the newest ACK gives ltxkit's bytes.
 *
 * The same runs against an S3 replica on Ceph RGW (fewer kills: each restart lists the bucket).
 *
 * LTXKIT_KILLS (default 50) and LTXKIT_KILLS_S3 (default 15) set the number of kills;
 * LTXKIT_KILL_SEED replays a run's random choices (kill delays, the child's workload, the sampled
 * ACKs); the seed is printed.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { FsStore } from "../lib/adapters/fs-store.ts";
import type { FileInfo } from "../lib/replica/file-info.ts";
import { fileLayout } from "../lib/replica/layout.ts";
import { listAll } from "../lib/replica/list.ts";
import { calcRestorePlan } from "../lib/replica/plan.ts";
import type { Replica } from "../lib/replica/replica.ts";
import { restoreAndCheck } from "../test/capture/app.ts";
import { openReplica } from "../lib/replica/url.ts";
import { S3Store } from "../lib/store/s3.ts";
import { s3env, skipS3 } from "../test/store/s3-env.ts";
import { goTool, skipWithoutGo } from "./go-tools.ts";
import { goEnv } from "./litestream/replicate.ts";
import { mulberry32 } from "./fault-proxy/proxy.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CHILD = join(ROOT, "conformance", "kill", "child.mjs");
const g = globalThis as { Bun?: unknown; Deno?: unknown };
const NODE = g.Bun || g.Deno ? "node" : process.execPath;
const KILLS = Number(process.env.LTXKIT_KILLS ?? 50);
const KILLS_S3 = Number(process.env.LTXKIT_KILLS_S3 ?? 15);
const SEED = Number(process.env.LTXKIT_KILL_SEED ?? Math.floor(Math.random() * 2 ** 31)) >>> 0;

const rand = mulberry32(SEED);
const int = (n: number) => Math.floor(rand() * n);

interface Ack { txid: bigint; hash: string; run: number }
interface Run { acks: Ack[]; stderr: string; code: number | null; signal: string | null; waitedForAck: boolean; delay: number }

/** Starts the child; kills it `delay` ms after its first ACK (or after its start when `afterAck` is false). */
function runChild(db: string, replicaUrl: string, run: number, afterAck: boolean, delay: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CHILD, db, replicaUrl, String((SEED + run * 7919) >>> 0)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let stderr = "";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const kill = () => child.kill("SIGKILL");
    // a child that never acknowledges is a failed recovery: killed after 60 s and reported
    const guard = setTimeout(kill, 60_000);
    if (!afterAck) timer = setTimeout(kill, delay);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      const first = !out.includes("\n");
      out += d;
      if (afterAck && first && out.includes("\n") && !timer) timer = setTimeout(kill, delay);
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      const acks: Ack[] = [];
      // only complete lines count: a line cut by the kill was never acknowledged to anyone
      for (const line of out.split("\n").slice(0, -1)) {
        const m = /^ACK ([0-9a-f]{16}) ([0-9a-f]{64})$/.exec(line);
        if (!m) throw new Error(`run ${run}: unexpected child output ${JSON.stringify(line)}`);
        acks.push({ txid: BigInt("0x" + m[1]), hash: m[2]!, run });
      }
      resolve({ acks, stderr, code, signal, waitedForAck: afterAck, delay });
    });
  });
}

/** Files of a level must follow each other without gap or overlap (the snapshot level: each starts at 1). */
function checkContiguous(files: FileInfo[]): void {
  const byLevel = new Map<number, FileInfo[]>();
  for (const f of files) byLevel.set(f.level, [...(byLevel.get(f.level) ?? []), f]);
  for (const [level, list] of byLevel) {
    list.sort((a, b) => (a.minTXID < b.minTXID ? -1 : a.minTXID > b.minTXID ? 1 : 0));
    if (level === 9) {
      for (const f of list) expect(f.minTXID, `snapshot ${f.key}`).toBe(1n);
      continue;
    }
    // L0 is kept whole (l0Retention of an hour): it starts at TXID 1
    if (level === 0) expect(list[0]!.minTXID, "first L0 file").toBe(1n);
    for (let i = 1; i < list.length; i++) expect(list[i]!.minTXID, `level ${level}: ${list[i - 1]!.key} then ${list[i]!.key}`).toBe(list[i - 1]!.maxTXID + 1n);
  }
}

const hex = (t: bigint) => t.toString(16).padStart(16, "0");

interface Target {
  name: string;
  skip: boolean;
  kills: number;
  /** A fresh replica: its URL for the child and for Go, and the Replica to check it with. */
  make(dir: string): { url: string; replica: Replica };
}

const TARGETS: Target[] = [
  {
    name: "file replica",
    skip: false,
    kills: KILLS,
    make(dir) {
      const replicaDir = join(dir, "replica");
      return { url: replicaDir, replica: { url: replicaDir, kind: "file", store: new FsStore(replicaDir), layout: fileLayout, timestampFromMetadata: false } };
    },
  },
  {
    name: "S3 replica on Ceph RGW",
    skip: skipS3,
    kills: KILLS_S3,
    make() {
      const url = `s3://${s3env.bucket}/kill-${Date.now().toString(36)}?endpoint=${encodeURIComponent(s3env.endpoint)}&region=${s3env.region}&forcePathStyle=true`;
      return { url, replica: openReplica(url, { env: process.env, s3Store: (o) => new S3Store(o) }) };
    },
  },
];

// dist/ is built once before any test file runs (test/setup/build-dist.ts).

for (const target of TARGETS) {
  const state: { url?: string; replica?: Replica; newest?: Ack } = {};
  const kills = target.kills;

  describe.skipIf(target.skip)(`SIGKILL of the replicating process never loses an acknowledged commit (${target.name})`, () => {
    it(`${kills} kills at random points, each followed by a restart: every ACK restores to its content, TXIDs stay contiguous`, async () => {
      console.log(`kill test (${target.name}): LTXKIT_KILL_SEED=${SEED} kills=${kills}`);
      const dir = mkdtempSync(join(tmpdir(), "ltxkit-kill-"));
      const db = join(dir, "app.db");
      const { url, replica } = target.make(dir);
      const acks: Ack[] = [];
      let restores = 0;
      let noAckRuns = 0;
      for (let run = 0; run < kills; run++) {
        // most kills land while the child works (sync, upload, checkpoint, compaction); some during its start and resume
        const afterAck = run === 0 || rand() < 0.8;
        const delay = afterAck ? int(1500) : int(900);
        const r = await runChild(db, url, run, afterAck, delay);
        const ctx = `run ${run} (${afterAck ? `${delay} ms after its first ACK` : `${delay} ms after start`}, seed ${SEED})`;
        expect(r.signal, `${ctx}: the child ended by itself (code ${r.code}): ${r.stderr}`).toBe("SIGKILL");
        if (afterAck) expect(r.acks.length, `${ctx}: no ACK within 60 s after the restart: ${r.stderr}`).toBeGreaterThan(0);
        if (!r.acks.length) noAckRuns++;
        for (const a of r.acks) {
          const prev = acks[acks.length - 1];
          // an ACK TXID below an earlier one would mean the numbering went back over acknowledged
          // commits; the same TXID again is right only for a transaction that changed nothing
          if (prev) {
            expect(a.txid >= prev.txid, `${ctx}: ACK ${hex(a.txid)} after ACK ${hex(prev.txid)}`).toBe(true);
            if (a.txid === prev.txid) expect(a.hash, `${ctx}: ACK ${hex(a.txid)} again (runs ${prev.run} and ${a.run}) with other content`).toBe(prev.hash);
          }
          acks.push(a);
        }
        if (!acks.length) continue;
        const newest = acks[acks.length - 1]!;

        // the replica, the child dead: contiguous levels, a latest plan reaching the newest ACK
        const files = await listAll(replica);
        checkContiguous(files);
        const plan = await calcRestorePlan(replica);
        const latestTXID = plan[plan.length - 1]!.maxTXID;
        expect(latestTXID >= newest.txid, `${ctx}: latest ${hex(latestTXID)} below the newest ACK ${hex(newest.txid)}`).toBe(true);
        const latest = await restoreAndCheck(replica);
        expect(latest.integrity, `${ctx}: latest`).toBe("ok");
        restores++;

        // every ACK of this run's first few, the newest, the first five ever, and a random sample
        const sample = new Set<Ack>([...acks.slice(0, 5), newest, ...r.acks.slice(0, 2)]);
        for (let i = 0; i < 4; i++) sample.add(acks[int(acks.length)]!);
        for (const a of sample) {
          const got = await restoreAndCheck(replica, a.txid);
          restores++;
          expect([got.integrity, got.hash], `${ctx}: restore at ACK ${hex(a.txid)} (acknowledged in run ${a.run})`).toEqual(["ok", a.hash]);
        }
      }
      expect(acks.length).toBeGreaterThan(kills / 2);
      state.url = url;
      state.replica = replica;
      state.newest = acks[acks.length - 1];
      console.log(`kill test (${target.name}): ${kills} kills (${noAckRuns} before any ACK of their run), ${acks.length} ACKs up to TXID ${hex(state.newest!.txid)}, ${restores} restores checked`);
    }, 900_000);
  });

  describe.skipIf(target.skip || skipWithoutGo("litestream-v0.5.16"))(`the killed replica restores with litestream restore v0.5.16 (${target.name})`, () => {
    it("at the newest ACK, byte-identical to ltxkit's restore and to the acknowledged content", async () => {
      expect(state.newest, "the kill run produced no ACK").toBeDefined();
      const { url, replica, newest } = state as Required<typeof state>;
      const ours = await restoreAndCheck(replica, newest.txid);
      expect([ours.integrity, ours.hash]).toEqual(["ok", newest.hash]);
      const out = join(mkdtempSync(join(tmpdir(), "ltxkit-kill-go-")), "db");
      execFileSync(goTool("litestream-v0.5.16")!, ["restore", "-o", out, "-txid", hex(newest.txid), url.startsWith("s3://") ? url : `file://${url}`], { stdio: "pipe", env: goEnv() });
      expect(Buffer.compare(new Uint8Array(readFileSync(out)), ours.bytes), "go and ltxkit restores differ").toBe(0);
    });
  });
}
