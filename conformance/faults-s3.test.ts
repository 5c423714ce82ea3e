/**
 * Faults between ltxkit and a real S3 server (Ceph RGW), injected by the proxy in
 * conformance/fault-proxy/proxy.ts (127.0.0.1 only): 5xx, 429 with Retry-After, connection resets
 * before and after the server acted, stalls of the answer and of the body, truncated and slow
 * bodies, requests forwarded twice.
 *
 * - Each fault on each S3 operation the store uses, one at a time, with both fetches (the global
 *   fetch and node:http's, the CLI's): the operation returns what the server holds.
 * - A 429's Retry-After is waited out before the retry.
 * - replicate() with an application writing, its compaction ladder and snapshots, and restores at
 *   acknowledged TXIDs, all through the proxy at a fault rate for LTXKIT_FAULT_SECONDS (default 60):
 *   every sync() that resolved restores afterwards to the content it acknowledged, the levels have no
 *   TXID gap, every restore during the run is byte-identical to the content at its TXID or fails with
 *   a typed error and leaves no output. A report of the faults injected and recovered is printed.
 *
 * LTXKIT_FAULT_SEED replays the PRNG choices (the proxy's faults, the workload); the seed is printed.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSink } from "../lib/adapters/fs-sink.ts";
import { httpFetch } from "../lib/adapters/http-fetch.ts";
import { replicate } from "../lib/adapters/replicate.ts";
import { isLtxError } from "../lib/errors.ts";
import type { FileInfo } from "../lib/replica/file-info.ts";
import { s3Layout } from "../lib/replica/layout.ts";
import { listAll } from "../lib/replica/list.ts";
import { compactReplica } from "../lib/replica/compact.ts";
import { calcRestorePlan, planFromListings } from "../lib/replica/plan.ts";
import type { Replica } from "../lib/replica/replica.ts";
import { restore } from "../lib/replica/restore.ts";
import { S3Store, type S3StoreOptions } from "../lib/store/s3.ts";
import { contentHash } from "../test/capture/app.ts";
import { open, openApp } from "../test/capture/driver.ts";
import { s3env, skipS3 } from "../test/store/s3-env.ts";
import { FAULT_KINDS, mulberry32, startFaultProxy, taggedFetch, type FaultKind, type FaultProxy, type RequestKind } from "./fault-proxy/proxy.ts";

const SEED = Number(process.env.LTXKIT_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31)) >>> 0;
const SECONDS = Number(process.env.LTXKIT_FAULT_SECONDS ?? 40);
/** Scales the fault rates (default 1; 0 with LTXKIT_FAULT_SCHEDULE=0 gives a clean baseline). */
const RATE = Number(process.env.LTXKIT_FAULT_RATE ?? 1);
const SCHEDULED = process.env.LTXKIT_FAULT_SCHEDULE !== "0";
/** ACKs restored after the run: a sample (the first, the newest and this many more), or all with LTXKIT_FAULT_VERIFY=all. */
const VERIFY = process.env.LTXKIT_FAULT_VERIFY === "all" ? Infinity : Number(process.env.LTXKIT_FAULT_VERIFY ?? 20);
/** The client's per-request timeout; the proxy's stalls last longer. */
const TIMEOUT_MS = 1500;
const STALL_MS = 2500;

const unique = (what: string) => `faults-${what}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const hex = (t: bigint) => t.toString(16).padStart(16, "0");

function store(proxy: FaultProxy, client: string, o: Partial<S3StoreOptions> = {}, inner?: (r: Request) => Promise<Response>): S3Store {
  return new S3Store({ ...s3env, endpoint: proxy.url, timeoutMs: TIMEOUT_MS, fetch: taggedFetch(client, inner), ...o });
}

async function readAll(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(s).arrayBuffer());
}

describe.skipIf(skipS3)("S3 store through the fault proxy: each fault on each operation", () => {
  let proxy: FaultProxy;
  const schedule: Array<{ nth: number; kind: RequestKind; fault: FaultKind }> = [];
  const ops: RequestKind[] = ["PutObject", "GetObject", "HeadObject", "ListObjectsV2", "DeleteObjects", "UploadPart", "CreateMultipartUpload", "CompleteMultipartUpload"];
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: s3env.endpoint, seed: SEED, stallMs: STALL_MS, retryAfterSeconds: 1 });
  });
  afterAll(async () => {
    console.log(`per-operation faults:\n${proxy.report()}`);
    await proxy.close();
  });

  for (const [fetchName, inner] of [["global fetch", undefined], ["node:http fetch", httpFetch]] as const) {
    for (const fault of FAULT_KINDS) {
      it(`${fault} on put, multipart put, get, ranged stream, head, list and delete (${fetchName}): every answer is the server's`, async () => {
        // a fresh proxy per case: its schedule faults the first request of each operation
        const p = await startFaultProxy({
          target: s3env.endpoint,
          seed: SEED,
          stallMs: STALL_MS,
          retryAfterSeconds: 1,
          schedule: [...ops.map((kind) => ({ nth: 1, kind, fault })), { nth: 1, kind: "GetObject" as const, pathIncludes: "/streamed", fault }],
        });
        try {
          const s = store(p, "ops", { partSize: 5 << 20 }, inner);
          const prefix = unique(`op-${fault}`);
          const small = new Uint8Array(70_000).map((_, i) => (i * 31 + 7) & 0xff);
          const big = new Uint8Array((5 << 20) + 4096).map((_, i) => (i * 13 + 1) & 0xff);
          await s.put(`${prefix}/small`, small);
          await s.put(`${prefix}/big`, big);
          await new S3Store({ ...s3env }).put(`${prefix}/streamed`, small);
          expect(Buffer.compare(Buffer.from((await s.get(`${prefix}/small`))!), Buffer.from(small))).toBe(0);
          const stream = await s.getStream(`${prefix}/streamed`, { offset: 1000, length: 50_000 });
          // a streamed body arrives whole, or fails typed when it was cut (a restore resumes at the byte it stopped)
          const got = await readAll(stream!).catch((e) => e);
          const expectCode = fault === "truncate" ? "STORE_ERROR" : fault === "stall-body" ? "TIMEOUT" : null;
          if (expectCode) expect([isLtxError(got), (got as { code?: string }).code], String(got)).toEqual([true, expectCode]);
          else expect(Buffer.compare(Buffer.from(got), Buffer.from(small.subarray(1000, 51_000)))).toBe(0);
          expect((await s.head(`${prefix}/big`))?.size).toBe(big.length);
          const keys: string[] = [];
          for await (const b of s.list(`${prefix}/`)) keys.push(b.key);
          expect(keys).toEqual([`${prefix}/big`, `${prefix}/small`, `${prefix}/streamed`]);
          await s.delete([`${prefix}/big`, `${prefix}/small`, `${prefix}/streamed`]);
          // checked without the proxy
          const direct = new S3Store({ ...s3env });
          const left: string[] = [];
          for await (const b of direct.list(`${prefix}/`)) left.push(b.key);
          expect(left).toEqual([]);
          expect(p.counts.injected[fault], p.report()).toBeGreaterThan(0);
          expect(p.counts.retryAfterViolations).toBe(0);
          for (const [k, n] of Object.entries(p.counts.injected)) proxy.counts.injected[k as FaultKind] += n;
          for (const [k, n] of Object.entries(p.counts.recovered)) proxy.counts.recovered[k as FaultKind] += n;
          proxy.counts.requests += p.counts.requests;
          proxy.counts.forwarded += p.counts.forwarded;
        } finally {
          await p.close();
        }
      }, 120_000);
    }
  }

  it("a 429's Retry-After is waited out before the retry (2 s, far above the store's first backoff)", async () => {
    const p = await startFaultProxy({ target: s3env.endpoint, seed: SEED, retryAfterSeconds: 2, schedule: [{ nth: 1, kind: "PutObject", fault: "429" }, { nth: 1, kind: "GetObject", fault: "429" }] });
    try {
      const s = store(p, "retry-after");
      const key = `${unique("retry-after")}/x`;
      await s.put(key, new Uint8Array([1, 2, 3]));
      expect(Array.from((await s.get(key))!)).toEqual([1, 2, 3]);
      for (const m of ["PUT", "GET"]) {
        const arrivals = p.log.filter((e) => e.method === m && e.path.endsWith(key)).map((e) => e.at);
        expect(arrivals.length, m).toBe(2);
        expect(arrivals[1]! - arrivals[0]!, `${m}: the retry came before Retry-After`).toBeGreaterThanOrEqual(2000);
      }
      expect(p.counts.injected["429"]).toBe(2);
      expect(p.counts.recovered["429"]).toBe(2);
      expect(p.counts.retryAfterViolations).toBe(0);
      await new S3Store({ ...s3env }).delete([key]);
    } finally {
      await p.close();
    }
  }, 60_000);
});

interface Ack {
  txid: bigint;
  hash: string;
}

/** Levels must follow each other without gap or overlap (snapshots start at 1); L0 is kept whole here. */
function checkContiguous(files: FileInfo[]): void {
  const byLevel = new Map<number, FileInfo[]>();
  for (const f of files) byLevel.set(f.level, [...(byLevel.get(f.level) ?? []), f]);
  expect(byLevel.get(0)?.[0]?.minTXID, "first L0 file").toBe(1n);
  for (const [level, list] of byLevel) {
    if (level === 9) {
      for (const f of list) expect(f.minTXID, `snapshot ${f.key}`).toBe(1n);
      continue;
    }
    for (let i = 1; i < list.length; i++) expect(list[i]!.minTXID, `level ${level}: ${list[i - 1]!.key} then ${list[i]!.key}`).toBe(list[i - 1]!.maxTXID + 1n);
  }
}

describe.skipIf(skipS3)(`replicate, compaction and restore through the fault proxy for ${SECONDS} s`, () => {
  it("no acknowledged TXID lost, no gap, every restore byte-identical to the content at its TXID or a typed error with no output", async () => {
    const base: Partial<Record<FaultKind, number>> = { "500": 0.02, "503": 0.02, "429": 0.01, "reset-before": 0.02, "reset-after": 0.02, stall: 0.008, "stall-body": 0.008, truncate: 0.02, duplicate: 0.02, slow: 0.02 };
    const rates = Object.fromEntries(Object.entries(base).map(([k, r]) => [k, r * RATE]));
    // every kind at least once, early, on uploads and on the restores' reads
    const schedule = (SCHEDULED ? FAULT_KINDS : []).flatMap((fault, i) => [
      { nth: 3 + 4 * i, kind: "PutObject" as const, fault },
      { nth: 2 + 5 * i, kind: "GetObject" as const, fault },
    ]);
    const proxy = await startFaultProxy({ target: s3env.endpoint, seed: SEED, rates, schedule, stallMs: STALL_MS });
    console.log(`fault run: LTXKIT_FAULT_SEED=${SEED} LTXKIT_FAULT_SECONDS=${SECONDS} LTXKIT_FAULT_RATE=${RATE}${SCHEDULED ? "" : " LTXKIT_FAULT_SCHEDULE=0"}`);
    const rand = mulberry32(SEED ^ 0x5bd1e995);
    const int = (n: number) => Math.floor(rand() * n);
    const prefix = unique("replicate");
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-faults-s3-"));
    const dbPath = join(dir, "app.db");
    const replicaVia = (s: S3Store): Replica => ({ url: `s3://${s3env.bucket}/${prefix}`, kind: "s3", store: s, layout: s3Layout(prefix), timestampFromMetadata: true });
    const app = openApp(dbPath, { autocheckpoint: 0 });
    app.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT, b BLOB); CREATE INDEX IF NOT EXISTS tv ON t (v)");
    const h = await replicate(dbPath, replicaVia(store(proxy, "replicator")), {
      monitorInterval: 50,
      syncInterval: 50,
      minCheckpointPageCount: 40,
      checkpointInterval: 500,
      compaction: { levels: [1000, 3000], snapshotInterval: 5000, snapshotRetention: 3_600_000, l0Retention: 3_600_000 },
      retries: { initialDelay: 50, maxDelay: 1000 },
      syncTimeout: 60_000,
    });
    const events = { compact: 0, snapshot: 0, errors: new Map<string, number>() };
    h.addEventListener("compact", (e) => void (e.detail.file && events.compact++));
    h.addEventListener("snapshot", () => void events.snapshot++);
    h.addEventListener("error", (e) => {
      const c = e.detail.error.code;
      events.errors.set(c, (events.errors.get(c) ?? 0) + 1);
      if (process.env.LTXKIT_FAULT_VERBOSE) console.log(`replication error: ${c} ${e.detail.error.message}`);
      expect(e.detail.error.message).not.toContain(s3env.secretAccessKey);
    });

    const transaction = () => {
      const count = Number(app.query("SELECT count(*) AS n FROM t")[0]!.n);
      app.exec("BEGIN IMMEDIATE");
      const ops = 1 + int(20);
      for (let i = 0; i < ops; i++) {
        const r = rand();
        if (r < 0.5 || count < 50) {
          const blob = rand() < 0.15 ? new Uint8Array(500 + int(6000)).fill(int(256)) : null;
          app.query("INSERT INTO t (v, b) VALUES (?, ?)", [`r${int(1e9)} `.repeat(1 + int(20)), blob]);
        } else if (r < 0.8) {
          app.query("UPDATE t SET v = v || ?, b = CASE WHEN ? THEN randomblob(?) ELSE b END WHERE id % ? = ?", [String(int(100)), rand() < 0.1 ? 1 : 0, 100 + int(3000), 7 + int(20), int(7)]);
        } else {
          app.query("DELETE FROM t WHERE id IN (SELECT id FROM t ORDER BY random() LIMIT ?)", [count > 400 ? 60 : 1 + int(10)]);
        }
      }
      app.exec("COMMIT");
    };

    const acks: Ack[] = [];
    let syncFailures = 0;
    const syncMs: number[] = [];
    const restores = { ok: 0, typed: 0, codes: new Map<string, number>() };
    const restoreDir = join(dir, "restores");
    mkdirSync(restoreDir);
    let stop = false;
    // restores at acknowledged TXIDs while the writer works, through the proxy (both fetches)
    const restorer = (async () => {
      for (let i = 0; !stop; i++) {
        await new Promise((r) => setTimeout(r, 300));
        if (!acks.length) continue;
        const a = acks[int(acks.length)]!;
        const out = join(restoreDir, `r${i}.db`);
        const via = replicaVia(store(proxy, `restore-${i}`, {}, i % 2 ? httpFetch : undefined));
        try {
          await restore(via, { sink: new FileSink(out), txid: a.txid });
        } catch (e) {
          expect(isLtxError(e), `restore ${i} at ${hex(a.txid)} failed untyped: ${e}`).toBe(true);
          restores.typed++;
          const c = (e as { code: string }).code;
          restores.codes.set(c, (restores.codes.get(c) ?? 0) + 1);
          expect(existsSync(out), `restore ${i} failed (${c}) and left ${out}`).toBe(false);
          expect(readdirSync(restoreDir).filter((f) => f.startsWith(`.r${i}.db`)), `restore ${i}: temp files left`).toEqual([]);
          continue;
        }
        const c = open(out);
        try {
          expect(c.query("PRAGMA integrity_check").map((r) => String(Object.values(r)[0])), `restore ${i} at ${hex(a.txid)}`).toEqual(["ok"]);
          expect(contentHash(c), `restore ${i} at ${hex(a.txid)}: content differs from what sync() acknowledged`).toBe(a.hash);
        } finally {
          c.close();
        }
        restores.ok++;
      }
    })();

    const started = Date.now();
    try {
      while (Date.now() - started < SECONDS * 1000) {
        transaction();
        const hash = contentHash(app); // nothing commits between here and sync()
        const t0 = Date.now();
        try {
          const txid = await h.sync({ timeout: 60_000 });
          syncMs.push(Date.now() - t0);
          const prev = acks[acks.length - 1];
          // the same TXID again is right only for a transaction that changed nothing (an UPDATE
          // matching no row commits no page): then the content must be the same too
          if (prev) {
            expect(txid >= prev.txid, `ACK ${hex(txid)} after ${hex(prev.txid)}`).toBe(true);
            if (txid === prev.txid) expect(hash, `ACK ${hex(txid)} again with other content`).toBe(prev.hash);
          }
          acks.push({ txid, hash });
        } catch (e) {
          expect(isLtxError(e), String(e)).toBe(true);
          syncFailures++;
        }
        if (rand() < 0.3) await new Promise((r) => setTimeout(r, int(120)));
      }
    } finally {
      stop = true;
      await restorer;
      proxy.setRates({});
      await h.sync({ timeout: 60_000 }).catch(() => {});
      await h.close();
      app.close();
    }
    // a compaction pass (levels, snapshot, retention) through the proxy: it completes or fails typed; retried until done
    let passes = 0;
    const passCodes = new Map<string, number>();
    for (;;) {
      passes++;
      try {
        await compactReplica(replicaVia(store(proxy, `compact-${passes}`)), { force: true, config: { levels: [1000, 3000], l0Retention: 3_600_000, snapshotRetention: 3_600_000 } });
        break;
      } catch (e) {
        expect(isLtxError(e), `compaction pass failed untyped: ${e}`).toBe(true);
        const c = (e as { code: string }).code;
        passCodes.set(c, (passCodes.get(c) ?? 0) + 1);
        expect(passes, `compaction passes keep failing: ${e}`).toBeLessThan(20);
      }
    }
    const report = proxy.report();
    await proxy.close();

    // the replica, read without the proxy: contiguous levels, every ACK restores to its content
    const clean = replicaVia(new S3Store({ ...s3env }));
    const files = await listAll(clean);
    checkContiguous(files);
    const newest = acks[acks.length - 1]!;
    const plan = await calcRestorePlan(clean);
    expect(plan[plan.length - 1]!.maxTXID >= newest.txid, "latest below the newest ACK").toBe(true);
    const byLevel: FileInfo[][] = Array.from({ length: 10 }, (_, l) => files.filter((f) => f.level === l));
    const verifyDir = mkdtempSync(join(tmpdir(), "ltxkit-faults-verify-"));
    // every ACK has a plan from TXID 1 to exactly its TXID, each file continuing the one before
    for (const a of acks) {
      const p = planFromListings(byLevel, { txid: a.txid });
      expect([p[0]?.minTXID, p[p.length - 1]?.maxTXID], `plan of ACK ${hex(a.txid)}`).toEqual([1n, a.txid]);
      for (let i = 1; i < p.length; i++) expect(p[i]!.minTXID <= p[i - 1]!.maxTXID + 1n, `plan of ACK ${hex(a.txid)}: gap before ${p[i]!.key}`).toBe(true);
    }
    const sample = new Set<Ack>([acks[0]!, newest]);
    while (sample.size < Math.min(acks.length, VERIFY + 2)) sample.add(acks[int(acks.length)]!);
    const verifyStart = Date.now();
    let planFiles = 0;
    for (const [i, a] of [...sample].entries()) {
      const out = join(verifyDir, `v${i}.db`);
      const p = planFromListings(byLevel, { txid: a.txid });
      planFiles += p.length;
      await restore(clean, { sink: new FileSink(out), plan: p });
      const c = open(out);
      try {
        expect(c.query("PRAGMA integrity_check").map((r) => String(Object.values(r)[0])), `ACK ${hex(a.txid)}`).toEqual(["ok"]);
        expect(contentHash(c), `ACK ${hex(a.txid)}: restored content differs from what sync() acknowledged`).toBe(a.hash);
      } finally {
        c.close();
      }
      rmSync(out);
    }
    const levels = [...new Set(files.map((f) => f.level))].sort();
    console.log(
      [
        report,
        `writer: ${acks.length} ACKs up to TXID ${hex(newest.txid)} (sync() ms: median ${syncMs.sort((a, b) => a - b)[syncMs.length >> 1]}, max ${syncMs[syncMs.length - 1]}), ${syncFailures} sync() rejected (typed), every ACK planned from TXID 1 without a gap, ${sample.size} sampled ACKs restored afterwards to their content (${planFiles} files, ${Date.now() - verifyStart} ms)`,
        `compaction pass through the proxy: done in ${passes} attempt(s), failures ${JSON.stringify(Object.fromEntries(passCodes))}`,
        `replicator: ${events.compact} compacted files, ${events.snapshot} snapshots, levels ${levels.join(",")}; errors reported ${JSON.stringify(Object.fromEntries(events.errors))}`,
        `restores during the run through the proxy: ${restores.ok} byte-identical, ${restores.typed} typed failures ${JSON.stringify(Object.fromEntries(restores.codes))} with no output left`,
      ].join("\n"),
    );
    expect(acks.length).toBeGreaterThan(10);
    expect(restores.ok).toBeGreaterThan(0);
    expect(events.compact).toBeGreaterThan(0);
    expect(events.snapshot).toBeGreaterThan(0);
    if (SCHEDULED) for (const k of FAULT_KINDS) expect(proxy.counts.injected[k], `${k} never injected`).toBeGreaterThan(0);
    expect(proxy.counts.retryAfterViolations, "a retry came before the Retry-After its 429 asked for").toBe(0);
  }, SECONDS * 1000 + 600_000);
});

describe.skipIf(skipS3)("a restore through a proxy that cuts every body", () => {
  it("bodies cut before their first byte, resets after the server answered, 500s: fails with a typed error and leaves no output; through a clean proxy the same restore is byte-identical", async () => {
    const prefix = unique("restore-cut");
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-faults-cut-"));
    const dbPath = join(dir, "app.db");
    const replica: Replica = { url: `s3://${s3env.bucket}/${prefix}`, kind: "s3", store: new S3Store({ ...s3env }), layout: s3Layout(prefix), timestampFromMetadata: true };
    const app = openApp(dbPath, { autocheckpoint: 0 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
    const h = await replicate(dbPath, replica, { monitorInterval: 50, syncInterval: 50, compaction: { levels: [], l0Retention: 3_600_000 } });
    let ack: Ack;
    try {
      for (let i = 0; i < 5; i++) {
        app.query("INSERT INTO t (v, b) VALUES (?, randomblob(20000))", [`row ${i}`]);
        await h.sync();
      }
      ack = { txid: await h.sync(), hash: contentHash(app) };
    } finally {
      await h.close();
      app.close();
    }
    // (a body that stalls after half of what is left makes progress at each attempt, so a restore
    // resumes until it completes: stall-body is covered per operation above)
    for (const fault of ["truncate", "reset-after", "500"] as const) {
      const proxy = await startFaultProxy({ target: s3env.endpoint, seed: SEED, stallMs: STALL_MS, rates: { [fault]: 1 }, truncateTo: 0, spare: ["ListObjectsV2", "HeadObject"] });
      try {
        const out = join(dir, `cut-${fault}.db`);
        const via: Replica = { ...replica, store: store(proxy, "cut", { retries: 1 }) };
        const e = await restore(via, { sink: new FileSink(out), txid: ack.txid, attempts: 2 }).then(
          () => null,
          (err) => err,
        );
        expect(isLtxError(e), `${fault}: ${e}`).toBe(true);
        expect(["STORE_ERROR", "TIMEOUT"], `${fault}: ${e}`).toContain((e as { code: string }).code);
        expect(readdirSync(dir).filter((f) => f.startsWith(`cut-${fault}`) || f.startsWith(`.cut-${fault}`)), `${fault}: output left`).toEqual([]);
        expect(proxy.counts.injected[fault]).toBeGreaterThan(0);
        proxy.setRates({});
        await restore(via, { sink: new FileSink(out), txid: ack.txid });
        const c = open(out);
        try {
          expect(contentHash(c)).toBe(ack.hash);
        } finally {
          c.close();
        }
      } finally {
        await proxy.close();
      }
    }
  }, 120_000);
});
