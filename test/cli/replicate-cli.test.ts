import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LtxError } from "../../lib/errors.ts";
import { runReplicate, type ReplicateDeps, type ReplicateFunction, type ReplicationHandleLike, type StopSignal } from "../../lib/cli/replicate.ts";
import { captureIO } from "./capture-io.ts";
import { memoryReplica, type Replica } from "../../lib/replica/replica.ts";
import { listLevel } from "../../lib/replica/list.ts";
import { writeStagedReplica } from "../replica/fixtures.ts";

const T0 = Date.UTC(2026, 11, 1, 20, 0, 0);
const TIME = "time=2026-12-01T20:00:00.000Z";

class FakeHandle extends EventTarget implements ReplicationHandleLike {
  syncs = 0;
  closes = 0;
  snapshots = 0;
  closeResult: Promise<void> = Promise.resolve();
  syncResult?: () => Promise<bigint>;
  constructor(
    readonly db: string,
    readonly log: string[],
    readonly txid: bigint,
    withSnapshot: boolean,
  ) {
    super();
    if (!withSnapshot) this.snapshot = undefined;
  }
  async sync(): Promise<bigint> {
    this.syncs++;
    this.log.push(`sync ${this.db}`);
    return this.syncResult ? this.syncResult() : this.txid;
  }
  close(): Promise<void> {
    this.closes++;
    this.log.push(`close ${this.db}`);
    return this.closeResult;
  }
  status() {
    return {};
  }
  snapshot?: () => Promise<unknown> = async () => {
    this.snapshots++;
    this.log.push(`snapshot ${this.db}`);
  };
}

/** A stand-in for replicate() that records its calls; `started(n)` resolves once n databases run. */
function fake(opts: { snapshot?: boolean; failOn?: string } = {}) {
  const calls: Array<{ db: string; urls: string[]; options: Record<string, unknown> }> = [];
  const handles: FakeHandle[] = [];
  const events: string[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const replicate: ReplicateFunction = async (db, replicas, options) => {
    calls.push({ db, urls: replicas.map((r) => r.url), options: { ...options, env: undefined } });
    if (db === opts.failOn) throw new LtxError("IO_ERROR", `cannot open ${db}: disk on fire`);
    const h = new FakeHandle(db, events, BigInt(handles.length + 1) * 0x10n, opts.snapshot !== false);
    handles.push(h);
    events.push(`start ${db}`);
    for (const w of waiters.splice(0)) (handles.length >= w.n ? w.resolve() : waiters.push(w));
    return h;
  };
  const started = (n: number) => new Promise<void>((resolve) => (handles.length >= n ? resolve() : waiters.push({ n, resolve })));
  return { replicate, calls, handles, events, started };
}

/**
 * Resolves after the command has subscribed to the handle replicate() returned: it does so in the
 * microtasks that follow replicate()'s promise, all run before a timer fires.
 */
const subscribed = () => new Promise((r) => setTimeout(r, 0));

function harness(f: ReturnType<typeof fake>, extra: Partial<ReplicateDeps> = {}) {
  const io = captureIO();
  let handler: ((s: StopSignal) => void) | undefined;
  const deps: ReplicateDeps = {
    io,
    replicate: f.replicate,
    env: {},
    now: () => T0,
    onSignal: (fn) => {
      handler = fn;
      return () => (handler = undefined);
    },
    ...extra,
  };
  return { io, deps, signal: (s: StopSignal) => handler!(s), subscribed: () => handler !== undefined };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "ltxkit-repl-"));
}

function writeConfig(dir: string, text: string): string {
  const p = join(dir, "litestream.yml");
  writeFileSync(p, text);
  return p;
}

/** Runs a script of this package under the runtime running the tests (Deno needs `run -A`). */
function runtimeArgs(script: string, args: string[]): [string, string[]] {
  return (globalThis as { Deno?: unknown }).Deno ? [process.execPath, ["run", "-A", script, ...args]] : [process.execPath, [script, ...args]];
}

const lines = (s: string) => s.split("\n").filter(Boolean);

describe("ltxkit replicate (in-process, replicate() replaced by a recorder)", () => {
  it("starts every configured database with its settings, logs Litestream's lines, and on SIGTERM closes each and exits 0", async () => {
    const dir = tmp();
    const cfg = writeConfig(
      dir,
      `shutdown-sync-timeout: 10s
levels: [{interval: 15s}]
dbs:
  - path: ${dir}/a.db
    monitor-interval: 250ms
    checkpoint-interval: 30s
    busy-timeout: 2s
    min-checkpoint-page-count: 500
    truncate-page-n: 9000
    max-sync-wal-bytes: 4194304
    meta-path: ${dir}/meta-a
    replicas:
      - {path: ${dir}/bk-a, sync-interval: 2s}
      - {type: s3, bucket: bkt, path: a, endpoint: "http://127.0.0.1:9", region: r1, access-key-id: AK, secret-access-key: SK}
  - path: ${dir}/b.db
    replica: {url: "file://${dir}/bk-b"}
`,
    );
    const f = fake();
    const h = harness(f);
    const run = runReplicate(["-config", cfg], h.deps);
    await f.started(2);
    expect(f.calls).toEqual([
      {
        db: `${dir}/a.db`,
        urls: [`${dir}/bk-a`, "s3://bkt/a?endpoint=http%3A%2F%2F127.0.0.1%3A9&region=r1&forcePathStyle=true"],
        options: { monitorInterval: 250, syncInterval: 2000, checkpointInterval: 30000, minCheckpointPageCount: 500, truncatePageN: 9000, busyTimeout: 2000, metaPath: `${dir}/meta-a`, maxSyncWalBytes: 4194304, compaction: { levels: [15000] }, shutdownTimeout: 10000, env: undefined, lease: { ttl: 30000 } },
      },
      { db: `${dir}/b.db`, urls: [`${dir}/bk-b`], options: { monitorInterval: 1000, syncInterval: 1000, checkpointInterval: 60000, minCheckpointPageCount: 1000, truncatePageN: 121359, busyTimeout: 1000, compaction: { levels: [15000] }, shutdownTimeout: 10000, env: undefined, lease: { ttl: 30000 } } },
    ]);
    expect(f.handles.map((x) => x.closes)).toEqual([0, 0]);
    h.signal("SIGTERM");
    expect(await run).toBe(0);
    expect(f.handles.map((x) => [x.syncs, x.closes])).toEqual([
      [0, 1],
      [0, 1],
    ]);
    expect(lines(h.io.stderr)).toEqual([
      `${TIME} level=INFO msg="initialized db" path=${dir}/a.db`,
      `${TIME} level=INFO msg="replicating to" type=file sync-interval=2s path=${dir}/bk-a`,
      `${TIME} level=INFO msg="replicating to" type=s3 sync-interval=1s bucket=bkt path=a region=r1 endpoint=http://127.0.0.1:9`,
      `${TIME} level=INFO msg="initialized db" path=${dir}/b.db`,
      `${TIME} level=INFO msg="replicating to" type=file sync-interval=1s path=${dir}/bk-b`,
      `${TIME} level=INFO msg="signal received, ltxkit shutting down" signal=terminated`,
      `${TIME} level=INFO msg="ltxkit shut down"`,
    ]);
    expect(h.io.stdout).toBe("");
    expect(h.io.stderr).not.toContain("SK");
    expect(h.subscribed()).toBe(false);
  });

  it("the lease is on by default (30s), -lease-ttl sets its TTL, -lease-keep-alive renews it while idle, -no-lease turns it off; lease events are logged", async () => {
    const dir = tmp();
    for (const [flags, lease] of [[[], { ttl: 30000 }], [["-lease-ttl", "3s"], { ttl: 3000 }], [["-lease-keep-alive"], { ttl: 30000, keepAlive: true }], [["-no-lease"], undefined]] as const) {
      const f = fake();
      const h = harness(f);
      const run = runReplicate([...flags, `${dir}/a.db`, `${dir}/r`], h.deps);
      await f.started(1);
      expect(f.calls[0]!.options.lease, flags.join(" ")).toEqual(lease);
      if (lease?.ttl === 3000) {
        await subscribed();
        const ev = (state: string, more: Record<string, unknown>) => Object.assign(new Event("lease"), { detail: { url: `${dir}/r`, state, owner: "h:1", ...more } });
        f.handles[0]!.dispatchEvent(ev("waiting", { holder: "other:9", generation: 4, expiresAt: "2026-12-01T20:00:30.5Z" }));
        f.handles[0]!.dispatchEvent(ev("acquired", { holder: "h:1", generation: 5, expiresAt: "2026-12-01T20:00:33Z" }));
        f.handles[0]!.dispatchEvent(ev("renewed", { holder: "h:1", generation: 5, expiresAt: "2026-12-01T20:00:34Z" }));
        f.handles[0]!.dispatchEvent(ev("lost", { holder: "other:9", generation: 6, error: new LtxError("LEASE_LOST", "lease not held; held by other:9") }));
        expect(lines(h.io.stderr).slice(2)).toEqual([
          `${TIME} level=INFO msg="waiting for lease" path=${dir}/a.db replica=${dir}/r holder=other:9 expires_at=2026-12-01T20:00:30.5Z`,
          `${TIME} level=INFO msg="lease acquired" path=${dir}/a.db replica=${dir}/r owner=h:1 generation=5 expires_at=2026-12-01T20:00:33Z`,
          `${TIME} level=ERROR msg="lease lost, replica stopped" path=${dir}/a.db replica=${dir}/r holder=other:9 error="lease not held; held by other:9 [LEASE_LOST]"`,
        ]);
      }
      h.signal("SIGTERM");
      expect(await run).toBe(0);
    }
  });

  it("-once syncs each database once and closes it, exits 0; -force-snapshot also snapshots each", async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, `dbs:\n  - {path: ${dir}/a.db, replica: {path: ${dir}/ra}}\n  - {path: ${dir}/b.db, replica: {path: ${dir}/rb}}\n`);
    let f = fake();
    let h = harness(f);
    expect(await runReplicate(["-config", cfg, "-once"], h.deps)).toBe(0);
    expect(f.events).toEqual([`start ${dir}/a.db`, `start ${dir}/b.db`, `sync ${dir}/a.db`, `sync ${dir}/b.db`, `close ${dir}/a.db`, `close ${dir}/b.db`]);
    expect(lines(h.io.stderr).slice(4)).toEqual([
      `${TIME} level=INFO msg="syncing database" path=${dir}/a.db`,
      `${TIME} level=INFO msg="synced database" path=${dir}/a.db txid=0000000000000010`,
      `${TIME} level=INFO msg="syncing database" path=${dir}/b.db`,
      `${TIME} level=INFO msg="synced database" path=${dir}/b.db txid=0000000000000020`,
      `${TIME} level=INFO msg="one-shot replication complete"`,
      `${TIME} level=INFO msg="replication complete, ltxkit shutting down"`,
      `${TIME} level=INFO msg="ltxkit shut down"`,
    ]);
    f = fake();
    h = harness(f);
    expect(await runReplicate(["--config", cfg, "--once", "--force-snapshot"], h.deps)).toBe(0);
    expect(f.events).toEqual([`start ${dir}/a.db`, `start ${dir}/b.db`, `sync ${dir}/a.db`, `snapshot ${dir}/a.db`, `sync ${dir}/b.db`, `snapshot ${dir}/b.db`, `close ${dir}/a.db`, `close ${dir}/b.db`]);
    expect(h.io.stderr).toContain(`${TIME} level=INFO msg="taking snapshot" path=${dir}/b.db\n`);
  });

  it("-once exits 1 when a sync fails or snapshots are unavailable, after closing every database", async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, `dbs:\n  - {path: ${dir}/a.db, replica: {path: ${dir}/ra}}\n  - {path: ${dir}/b.db, replica: {path: ${dir}/rb}}\n`);
    let f = fake();
    let h = harness(f);
    const run = runReplicate(["-config", cfg, "-once"], h.deps);
    await f.started(1);
    f.handles[0]!.syncResult = () => Promise.reject(new LtxError("STORE_ERROR", "PUT failed: 503"));
    expect(await run).toBe(1);
    expect(f.events).toEqual([`start ${dir}/a.db`, `start ${dir}/b.db`, `sync ${dir}/a.db`, `close ${dir}/a.db`, `close ${dir}/b.db`]);
    expect(h.io.stderr).toContain(`${TIME} level=ERROR msg="one-shot replication failed" path=${dir}/a.db error="PUT failed: 503 [STORE_ERROR]"\n`);
    expect(h.io.stderr).not.toContain("one-shot replication complete");

    f = fake({ snapshot: false });
    h = harness(f);
    expect(await runReplicate(["-config", cfg, "-once", "-force-snapshot"], h.deps)).toBe(1);
    expect(h.io.stderr).toContain('error="snapshots on demand are not available in this build of ltxkit [UNSUPPORTED]"');
    expect(f.handles.map((x) => x.closes)).toEqual([1, 1]);
  });

  it("-once -enforce-retention deletes the snapshots past retention and the level files below the oldest kept, after the sync", async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, `dbs:\n  - {path: ${dir}/a.db, replica: {path: ${dir}/ra}}\n`);
    // five snapshots and L1–L3 written in 2025: every snapshot is past the default 24h retention
    const r = memoryReplica();
    await writeStagedReplica(r, { start: 1_760_000_000_000, interval: 60_000 });
    const f = fake();
    const h = harness(f, { openReplica: () => r });
    expect(await runReplicate(["-config", cfg, "-once", "-enforce-retention"], h.deps)).toBe(0);
    const left: string[] = [];
    for (const level of [1, 2, 3, 9]) for (const fi of await listLevel(r, level)) left.push(`${level}:${fi.minTXID}-${fi.maxTXID}`);
    // the same cut the retention tests derive: the newest snapshot (1-40) is kept, floor 36
    expect(left).toEqual(["1:31-36", "1:37-40", "2:31-40", "3:1-15", "9:1-40"]);
    expect(f.events).toEqual([`start ${dir}/a.db`, `sync ${dir}/a.db`, `close ${dir}/a.db`]);
    expect(h.io.stderr).toContain(`${TIME} level=INFO msg="synced database" path=${dir}/a.db txid=0000000000000010\n${TIME} level=INFO msg="enforcing retention" path=${dir}/a.db\n`);
  });

  it("-log-level (or $LOG_LEVEL) drops records below the level; the flag wins over the variable", async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, `dbs:\n  - {path: ${dir}/a.db, replica: {path: ${dir}/ra}}\n`);
    for (const [args, env, expected] of [
      [["-log-level", "warn"], {}, [] as string[]],
      [[], { LOG_LEVEL: "ERROR" }, []],
      [["-log-level", "INFO"], { LOG_LEVEL: "error" }, ["syncing database", "synced database", "one-shot replication complete", "replication complete, ltxkit shutting down", "ltxkit shut down"]],
    ] as const) {
      const f = fake();
      const h = harness(f, { env: { ...env } });
      expect(await runReplicate(["-config", cfg, "-once", ...args], h.deps)).toBe(0);
      expect(lines(h.io.stderr).map((l) => /msg="?([^"]*)"?/.exec(l)![1]).filter((m) => !["initialized db", "replicating to"].includes(m!))).toEqual(expected);
    }
    // an error still passes -log-level warn
    const f = fake();
    const h = harness(f);
    const run = runReplicate(["-config", cfg, "-log-level", "warn"], h.deps);
    await f.started(1);
    const ev = new Event("error") as Event & { error?: unknown };
    ev.error = new LtxError("STORE_ERROR", "upload failed: 500");
    await new Promise((r) => setTimeout(r, 10)); // the command subscribes once replicate() returns
    f.handles[0]!.dispatchEvent(ev);
    h.signal("SIGINT");
    expect(await run).toBe(0);
    expect(lines(h.io.stderr)).toEqual([`${TIME} level=ERROR msg="replication error" path=${dir}/a.db error="upload failed: 500 [STORE_ERROR]"`]);
    await expect(runReplicate(["-config", cfg, "-log-level", "loud"], harness(fake()).deps)).rejects.toThrow('-log-level: unknown log level "loud" (trace, debug, info, warn or error)');
    await expect(runReplicate(["-config", cfg], harness(fake(), { env: { LOG_LEVEL: "chatty" } }).deps)).rejects.toThrow('$LOG_LEVEL: unknown log level "chatty"');
  });

  it("-restore-if-db-not-exists restores a missing database from its first replica before starting it; an existing one, or no backup, starts as is", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "present.db"), "x");
    const cfg = writeConfig(dir, `dbs:\n  - {path: ${dir}/missing.db, replicas: [{path: ${dir}/r1}, {path: ${dir}/r2}]}\n  - {path: ${dir}/present.db, replica: {path: ${dir}/r3}}\n  - {path: ${dir}/fresh.db, replica: {path: ${dir}/r4}}\n`);
    const restored: string[] = [];
    const f = fake();
    const h = harness(f, {
      restoreDb: async (path: string, replica: Replica) => {
        restored.push(`${path} <- ${replica.url}`);
        f.events.push(`restore ${path}`);
        return !path.endsWith("fresh.db");
      },
    });
    expect(await runReplicate(["-config", cfg, "-once", "-restore-if-db-not-exists"], h.deps)).toBe(0);
    expect(restored).toEqual([`${dir}/missing.db <- ${dir}/r1`, `${dir}/fresh.db <- ${dir}/r4`]);
    expect(f.events.slice(0, 3)).toEqual([`restore ${dir}/missing.db`, `restore ${dir}/fresh.db`, `start ${dir}/missing.db`]);
    expect(lines(h.io.stderr).slice(0, 6)).toEqual([
      `${TIME} level=INFO msg="attempting restore before replication" path=${dir}/missing.db`,
      `${TIME} level=INFO msg="restore completed" path=${dir}/missing.db`,
      `${TIME} level=INFO msg="database exists, skipping restore" path=${dir}/present.db`,
      `${TIME} level=INFO msg="attempting restore before replication" path=${dir}/fresh.db`,
      `${TIME} level=INFO msg="no backup found, starting fresh" path=${dir}/fresh.db`,
      `${TIME} level=INFO msg="initialized db" path=${dir}/missing.db`,
    ]);
    // without the flag or the key, nothing is restored; a failed restore exits 1 before any database starts
    const f2 = fake();
    expect(await runReplicate(["-config", cfg, "-once"], harness(f2, { restoreDb: async () => { throw new Error("must not restore"); } }).deps)).toBe(0);
    const cfgKey = writeConfig(dir, `dbs:\n  - {path: ${dir}/missing.db, restore-if-db-not-exists: true, replica: {path: ${dir}/r1}}\n`);
    const f3 = fake();
    const h3 = harness(f3, { restoreDb: async () => { throw new LtxError("CHECKSUM_MISMATCH", "file checksum mismatch"); } });
    expect(await runReplicate(["-config", cfgKey], h3.deps)).toBe(1);
    expect(f3.events).toEqual([]);
    expect(h3.io.stderr).toContain(`level=ERROR msg="restore failed" path=${dir}/missing.db error="file checksum mismatch [CHECKSUM_MISMATCH]"`);
  });

  it("a watched directory: databases that appear are started with the directory's settings, removed ones are closed", async () => {
    const dir = tmp();
    const tenants = join(dir, "tenants");
    mkdirSync(tenants);
    const sqliteFile = (p: string) => writeFileSync(p, Buffer.concat([Buffer.from("SQLite format 3\0"), Buffer.alloc(84)]));
    sqliteFile(join(tenants, "a.db"));
    const cfg = writeConfig(dir, `dbs:\n  - dir: ${tenants}\n    pattern: "*.db"\n    watch: true\n    monitor-interval: 250ms\n    replica: {path: ${dir}/bk}\n`);
    const f = fake();
    const h = harness(f, { watchInterval: 20 });
    const run = runReplicate(["-config", cfg], h.deps);
    await f.started(1);
    writeFileSync(join(tenants, "notes.txt"), "not a database");
    writeFileSync(join(tenants, "c.db"), "not a database either");
    sqliteFile(join(tenants, "b.db"));
    await f.started(2);
    expect(f.calls.map((c) => [c.db, c.urls, c.options.monitorInterval])).toEqual([
      [join(tenants, "a.db"), [join(dir, "bk", "a.db")], 250],
      [join(tenants, "b.db"), [join(dir, "bk", "b.db")], 250],
    ]);
    rmSync(join(tenants, "a.db"));
    for (let i = 0; i < 200 && f.handles[0]!.closes === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(f.handles.map((x) => x.closes)).toEqual([1, 0]);
    h.signal("SIGTERM");
    expect(await run).toBe(0);
    expect(f.handles.map((x) => x.closes)).toEqual([1, 1]);
    expect(f.calls.length).toBe(2);
    expect(h.io.stderr).toContain(`msg="added database from directory" path=${join(tenants, "b.db")} dir=${tenants}`);
    expect(h.io.stderr).toContain(`msg="database removed from directory, closing" path=${join(tenants, "a.db")}`);
  });

  it("takes DB_PATH and REPLICA_URLs instead of a config, relative paths from the working directory", async () => {
    const dir = tmp();
    const f = fake();
    const h = harness(f, { cwd: dir });
    expect(await runReplicate(["-once", "app.db", `file://${dir}/r1`, "r2"], h.deps)).toBe(0);
    expect(f.calls.map((c) => [c.db, c.urls])).toEqual([[`${dir}/app.db`, [`${dir}/r1`, `${dir}/r2`]]]);
  });

  it("expands $VAR in the config unless -no-expand-env", async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, "dbs:\n  - path: $DATA/a.db\n    replica: {path: '${DATA}/r'}\n");
    let f = fake();
    let h = harness(f, { env: { DATA: dir }, cwd: dir });
    expect(await runReplicate(["-config", cfg, "-once"], h.deps)).toBe(0);
    expect(f.calls.map((c) => [c.db, c.urls])).toEqual([[`${dir}/a.db`, [`${dir}/r`]]]);
    f = fake();
    h = harness(f, { env: { DATA: dir }, cwd: dir });
    expect(await runReplicate(["-config", cfg, "-once", "-no-expand-env"], h.deps)).toBe(0);
    expect(f.calls.map((c) => [c.db, c.urls])).toEqual([[`${dir}/$DATA/a.db`, [`${dir}/\${DATA}/r`]]]);
  });

  it("reads $LITESTREAM_CONFIG when -config is absent", async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, `dbs:\n  - {path: ${dir}/env.db, replica: {path: ${dir}/r}}\n`);
    const f = fake();
    const h = harness(f, { env: { LITESTREAM_CONFIG: cfg } });
    expect(await runReplicate(["-once"], h.deps)).toBe(0);
    expect(f.calls.map((c) => c.db)).toEqual([`${dir}/env.db`]);
  });

  it("-json writes the records as JSON lines on stdout (durations in nanoseconds, TXIDs as hex)", async () => {
    const dir = tmp();
    const f = fake();
    const h = harness(f);
    expect(await runReplicate(["-json", "-once", `${dir}/a.db`, `${dir}/r`], h.deps)).toBe(0);
    expect(h.io.stderr).toBe("");
    expect(lines(h.io.stdout).map((l) => JSON.parse(l))).toEqual([
      { time: "2026-12-01T20:00:00.000Z", level: "INFO", msg: "initialized db", path: `${dir}/a.db` },
      { time: "2026-12-01T20:00:00.000Z", level: "INFO", msg: "replicating to", type: "file", "sync-interval": 1_000_000_000, path: `${dir}/r` },
      { time: "2026-12-01T20:00:00.000Z", level: "INFO", msg: "syncing database", path: `${dir}/a.db` },
      { time: "2026-12-01T20:00:00.000Z", level: "INFO", msg: "synced database", path: `${dir}/a.db`, txid: "0000000000000010" },
      { time: "2026-12-01T20:00:00.000Z", level: "INFO", msg: "one-shot replication complete" },
      { time: "2026-12-01T20:00:00.000Z", level: "INFO", msg: "replication complete, ltxkit shutting down" },
      { time: "2026-12-01T20:00:00.000Z", level: "INFO", msg: "ltxkit shut down" },
    ]);
  });

  it("logs replication errors reported by a running database", async () => {
    const dir = tmp();
    const f = fake();
    const h = harness(f);
    const run = runReplicate([`${dir}/a.db`, `${dir}/r`], h.deps);
    await f.started(1);
    await subscribed();
    const ev = new Event("error") as Event & { error?: unknown };
    ev.error = new LtxError("STORE_ERROR", "upload of 0000000000000003 failed: 500");
    f.handles[0]!.dispatchEvent(ev);
    h.signal("SIGINT");
    expect(await run).toBe(0);
    expect(h.io.stderr).toContain(`${TIME} level=ERROR msg="replication error" path=${dir}/a.db error="upload of 0000000000000003 failed: 500 [STORE_ERROR]"\n`);
    expect(h.io.stderr).toContain('msg="signal received, ltxkit shutting down" signal=interrupt\n');
  });

  it("when one database cannot start, closes those already started and exits 1", async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, `dbs:\n  - {path: ${dir}/a.db, replica: {path: ${dir}/ra}}\n  - {path: ${dir}/b.db, replica: {path: ${dir}/rb}}\n  - {path: ${dir}/c.db, replica: {path: ${dir}/rc}}\n`);
    const f = fake({ failOn: `${dir}/b.db` });
    const h = harness(f);
    expect(await runReplicate(["-config", cfg], h.deps)).toBe(1);
    expect(f.events).toEqual([`start ${dir}/a.db`, `close ${dir}/a.db`]);
    expect(f.calls.map((c) => c.db)).toEqual([`${dir}/a.db`, `${dir}/b.db`]);
    expect(h.io.stderr).toContain(`level=ERROR msg="cannot open database" path=${dir}/b.db error="cannot open ${dir}/b.db: disk on fire [IO_ERROR]"\n`);
  });

  it("bounds the shutdown: a close that outlasts shutdown-sync-timeout, or a second signal, exits 1", async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, `shutdown-sync-timeout: 0s\ndbs:\n  - {path: ${dir}/a.db, replica: {path: ${dir}/ra}}\n`);
    let f = fake();
    let h = harness(f, { closeMarginMs: 0 });
    let run = runReplicate(["-config", cfg], h.deps);
    await f.started(1);
    f.handles[0]!.closeResult = new Promise(() => {});
    h.signal("SIGTERM");
    expect(await run).toBe(1);
    expect(h.io.stderr).toContain(`${TIME} level=ERROR msg="shutdown timed out" timeout=0s\n`);

    f = fake();
    h = harness(f); // default bound: 30s + 5s, ended by the second signal
    run = runReplicate([`${dir}/a.db`, `${dir}/ra`], h.deps);
    await f.started(1);
    f.handles[0]!.closeResult = new Promise(() => {});
    h.signal("SIGINT");
    await new Promise((r) => setImmediate(r));
    h.signal("SIGINT");
    expect(await run).toBe(1);
    expect(h.io.stderr).toContain(`${TIME} level=WARN msg="shutdown sync skipped by user interrupt"\n`);
  });

  it("-exec runs the command through the shell, closes replication when it exits, and exits with its code", async () => {
    const dir = tmp();
    const f = fake();
    const h = harness(f);
    const marker = join(dir, "ran");
    expect(await runReplicate(["-exec", `test -n "$HOME" && touch ${marker}; exit 7`, `${dir}/a.db`, `${dir}/r`], { ...h.deps, env: process.env })).toBe(7);
    expect(existsSync(marker)).toBe(true);
    expect(f.handles[0]!.closes).toBe(1);
    expect(h.io.stderr).toContain(`${TIME} level=INFO msg="subprocess exited, ltxkit shutting down" code=7\n`);

    // exec: from the config, overridden by -exec
    const cfg = writeConfig(dir, `exec: exit 3\ndbs:\n  - {path: ${dir}/a.db, replica: {path: ${dir}/r}}\n`);
    expect(await runReplicate(["-config", cfg], harness(fake()).deps)).toBe(3);
    expect(await runReplicate(["-config", cfg, "-exec", "exit 0"], harness(fake()).deps)).toBe(0);
  });

  it("-exec forwards SIGTERM to the child, waits for it, and exits with the child's code", async () => {
    const dir = tmp();
    const ready = join(dir, "ready");
    const f = fake();
    const h = harness(f);
    const got = join(dir, "got-term");
    const run = runReplicate(["-exec", `trap 'touch ${got}; exit 5' TERM; touch ${ready}; while :; do sleep 0.05; done`, `${dir}/a.db`, `${dir}/r`], h.deps);
    await f.started(1);
    while (!existsSync(ready)) await new Promise((r) => setTimeout(r, 20));
    h.signal("SIGTERM");
    // Deno's node:child_process reports the signal it delivered instead of the exit code the child
    // chose in its trap, so there the command can only exit 0 (a child ended by our signal)
    expect(await run).toBe((globalThis as { Deno?: unknown }).Deno ? 0 : 5);
    expect(existsSync(got)).toBe(true);
    expect(f.handles[0]!.closes).toBe(1);
    expect(lines(h.io.stderr).slice(2)).toEqual([
      `${TIME} level=INFO msg="signal received, ltxkit shutting down" signal=terminated`,
      `${TIME} level=INFO msg="sending signal to exec process"`,
      `${TIME} level=INFO msg="waiting for exec process to close"`,
      `${TIME} level=INFO msg="ltxkit shut down"`,
    ]);
  });
});

describe("ltxkit replicate (the built binary)", () => {
  const root = join(import.meta.dirname, "..", "..");
  const bin = join(root, "dist", "cli", "main.js");
  const cli = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(...runtimeArgs(bin, ["replicate", ...args]), { encoding: "utf8", env: { PATH: process.env.PATH!, ...env } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it("-h prints the usage and exits 0", () => {
    const r = cli(["-h"]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^usage: ltxkit replicate \[flags\]\n/);
    expect(r.err).toContain("-force-snapshot");
  });

  it("exits 2 on flag misuse with Litestream's messages", () => {
    const dir = tmp();
    const cfg = writeConfig(dir, `exec: sleep 1\ndbs:\n  - {path: ${dir}/a.db, replica: {path: ${dir}/r}}\n`);
    const cases: Array<[string[], string]> = [
      [[`${dir}/a.db`], `ltxkit replicate: must specify at least one replica URL for ${dir}/a.db [INVALID_ARGUMENT]\n`],
      [["-config", cfg, `${dir}/a.db`, `${dir}/r`], "ltxkit replicate: cannot specify a replica URL and the -config flag [INVALID_ARGUMENT]\n"],
      [["-force-snapshot", `${dir}/a.db`, `${dir}/r`], "ltxkit replicate: cannot specify -force-snapshot flag without -once [INVALID_ARGUMENT]\n"],
      [["-once", "-exec", "true", `${dir}/a.db`, `${dir}/r`], "ltxkit replicate: cannot specify -once flag with -exec [INVALID_ARGUMENT]\n"],
      [["-once", "-config", cfg], "ltxkit replicate: cannot specify -once flag with -exec [INVALID_ARGUMENT]\n"],
      [["-bogus"], "ltxkit replicate: unknown flag: -bogus [INVALID_ARGUMENT]\n"],
      [["-config"], "ltxkit replicate: flag -config needs a value [INVALID_ARGUMENT]\n"],
      [["-enforce-retention", `${dir}/a.db`, `${dir}/r`], "ltxkit replicate: cannot specify -enforce-retention flag without -once [INVALID_ARGUMENT]\n"],
      [["-log-level", "verbose", `${dir}/a.db`, `${dir}/r`], 'ltxkit replicate: -log-level: unknown log level "verbose" (trace, debug, info, warn or error) [INVALID_ARGUMENT]\n'],
      [["-lease-ttl", "soon", `${dir}/a.db`, `${dir}/r`], 'ltxkit replicate: invalid -lease-ttl: "soon" (a duration such as 30s) [INVALID_ARGUMENT]\n'],
      [["-lease-ttl", "0s", `${dir}/a.db`, `${dir}/r`], 'ltxkit replicate: invalid -lease-ttl: "0s" (a duration such as 30s) [INVALID_ARGUMENT]\n'],
      [["-no-lease", "-lease-ttl", "3s", `${dir}/a.db`, `${dir}/r`], "ltxkit replicate: cannot specify -lease-ttl with -no-lease [INVALID_ARGUMENT]\n"],
      [["-no-lease", "-lease-keep-alive", `${dir}/a.db`, `${dir}/r`], "ltxkit replicate: cannot specify -lease-keep-alive with -no-lease [INVALID_ARGUMENT]\n"],
    ];
    for (const [args, err] of cases) expect(cli(args), args.join(" ")).toEqual({ code: 2, out: "", err });
  });

  it("exits 1 on a missing or invalid config, naming the file and the key", () => {
    const dir = tmp();
    expect(cli([], { LITESTREAM_CONFIG: join(dir, "nope.yml") })).toEqual({ code: 1, out: "", err: `ltxkit replicate: config file not found: ${join(dir, "nope.yml")} [INVALID_CONFIG]\n` });
    const bad = writeConfig(dir, `dbs:\n  - path: ${dir}/a.db\n    replica:\n      path: ${dir}/r\n      sync_interval: 1s\n`);
    expect(cli(["-config", bad])).toEqual({ code: 1, out: "", err: `ltxkit replicate: ${bad}: dbs[0].replica.sync_interval: unknown key [INVALID_CONFIG]\n` });
    const nocreds = writeConfig(dir, `dbs:\n  - path: ${dir}/a.db\n    replica: {url: "s3://bkt/a?endpoint=http://127.0.0.1:9"}\n`);
    // Empty, not absent: Deno's child_process merges `env` into the parent's environment.
    const noKeys = { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", LITESTREAM_ACCESS_KEY_ID: "", LITESTREAM_SECRET_ACCESS_KEY: "" };
    expect(cli(["-config", nocreds], noKeys)).toEqual({ code: 1, out: "", err: `ltxkit replicate: database ${dir}/a.db: replica s3://bkt/a?endpoint=http%3A%2F%2F127.0.0.1%3A9&forcePathStyle=true: s3 replica: credentials missing (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) [INVALID_CONFIG]\n` });
    const empty = writeConfig(dir, "dbs: []\n");
    expect(cli(["--config", empty])).toEqual({ code: 1, out: "", err: "ltxkit replicate: no databases specified in configuration [INVALID_CONFIG]\n" });
  });

  it("is listed by ltxkit -h", () => {
    const r = spawnSync(...runtimeArgs(bin, ["-h"]), { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("  replicate  replicate live SQLite databases to replicas (like `litestream replicate`)\n");
  });
});
