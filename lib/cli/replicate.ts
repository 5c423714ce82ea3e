/**
 * `ltxkit replicate`: continuous replication of live SQLite databases, with the flags, config file
 * and log lines of `litestream replicate` (spec: litestream-replica.md §3, §4.4, §9). Each database
 * of the config runs through `replicate()`; SIGINT or SIGTERM closes every database (a final sync,
 * bounded by `shutdown-sync-timeout`) and exits 0.
 *
 * Logs go to stderr in Go's slog text format; with `-json`, the same records are JSON lines on
 * stdout (`{"time","level","msg",…}`, durations in nanoseconds as slog's JSON handler writes them).
 */
import { S3Store } from "../store/s3.ts";
import { spawn as spawnChild } from "node:child_process";
import { promises as fsp } from "node:fs";
import os from "node:os";
import process from "node:process";
import { FsStore } from "../adapters/fs-store.ts";
import { LtxError, isLtxError } from "../errors.ts";
import { FileSink } from "../adapters/fs-sink.ts";
import { loadSqliteWasm } from "../adapters/sqlite-wasm.ts";
import { integrityCheck } from "../replica/integrity.ts";
import { enforceSnapshotRetention } from "../replica/retention.ts";
import { calcRestorePlan } from "../replica/plan.ts";
import { restore } from "../replica/restore.ts";
import type { CompactionConfig } from "../replica/schedule.ts";
import { SNAPSHOT_LEVEL } from "../replica/file-info.ts";
import { writeLtxFile } from "../replica/list.ts";
import type { L0Source } from "../replica/replicator.ts";
import { openReplica, parseReplicaURL, redact } from "../replica/url.ts";
import { type Replica } from "../replica/replica.ts";
import { s3Layout } from "../replica/layout.ts";
import { formatTXID } from "../ltx/txid.ts";
import { parseArgs, bool, str } from "./args.ts";
import { DEFAULT_LEASE_TTL } from "../replica/lease.ts";
import { configFromArgs, defaultConfigPath, findSQLiteDatabases, formatGoDuration, parseGoDuration, loadConfigFile, matchPattern, DEFAULT_CONFIG_PATH, type ReplicateConfig, type ReplicateDbConfig, type WatchedDirectory } from "./config.ts";
import type { CliIO } from "./io.ts";
import type { Command } from "./run.ts";

/** The surface of a running replication that the command uses (the Replicator's, plus an optional snapshot). */
export interface ReplicationHandleLike {
  /** Resolves with a TXID once everything committed before the call is in every replica. */
  sync(): Promise<bigint>;
  /** Final sync, bounded by `shutdownTimeout`, then stop. */
  close(): Promise<void>;
  status(): unknown;
  addEventListener(type: "sync" | "upload" | "error" | "snapshot" | "compact" | "lease", fn: (ev: Event) => void): void;
  /** Writes a level-9 snapshot now (`-once -force-snapshot`). */
  snapshot?(): Promise<unknown>;
  /** The capture side (a Replicator's L0Source): used for `-force-snapshot` when there is no snapshot(). */
  readonly source?: Pick<L0Source, "snapshot">;
}

/** Options the command passes to `replicate()` for one database (a subset of ReplicateOptions). */
export interface CliReplicateOptions {
  monitorInterval: number;
  syncInterval: number;
  checkpointInterval: number;
  minCheckpointPageCount: number;
  truncatePageN: number;
  busyTimeout: number;
  metaPath?: string;
  compaction: Partial<CompactionConfig>;
  shutdownTimeout?: number;
  maxSyncWalBytes?: number;
  env: Record<string, string | undefined>;
  /** The single-writer lease (lock.json) on every replica; absent with `-no-lease`. */
  lease?: { ttl: number; keepAlive?: boolean };
}

/** `replicate(db, replicas, options)` of ltxkit/node, or a stand-in. */
export type ReplicateFunction = (db: string, replicas: Replica[], options: CliReplicateOptions) => Promise<ReplicationHandleLike>;

/** A child process started by `-exec`. */
export interface ChildLike {
  /** Resolves when the child exits: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

export type StopSignal = "SIGINT" | "SIGTERM";

/** What the command takes from its surroundings; every field has a process default. */
export interface ReplicateDeps {
  io: CliIO;
  replicate?: ReplicateFunction;
  env?: Record<string, string | undefined>;
  cwd?: string;
  now?: () => number;
  /** Subscribes to SIGINT/SIGTERM; returns an unsubscribe function. */
  onSignal?: (fn: (sig: StopSignal) => void) => () => void;
  /** Starts `-exec CMD` through the shell with inherited stdio. */
  spawn?: (cmd: string, env: Record<string, string | undefined>) => ChildLike;
  /** Opens a replica URL with the given environment (credentials). */
  openReplica?: (url: string, env: Record<string, string | undefined>) => Replica;
  /** Extra time allowed beyond the shutdown timeout before giving up on close (ms, default 5000). */
  closeMarginMs?: number;
  /** Restores a database file from a replica (`-restore-if-db-not-exists`); resolves false when the replica holds no backup. */
  restoreDb?: (path: string, replica: Replica) => Promise<boolean>;
  /** How often watched directories are rescanned for new or removed databases (ms, default 1000). */
  watchInterval?: number;
}

const USAGE = `usage: ltxkit replicate [flags]
       ltxkit replicate [flags] DB_PATH REPLICA_URL [REPLICA_URL...]

Replicates SQLite databases continuously, as \`litestream replicate\` does: the databases and
replicas come from a Litestream-format config file, or from one DB_PATH and its replica URLs.

  -config PATH      config file (default $LITESTREAM_CONFIG, else ${DEFAULT_CONFIG_PATH})
  -no-expand-env    do not expand $VAR and \${VAR} in the config file
  -once             one sync of every database and its replicas, then exit (not with -exec)
  -force-snapshot   with -once: also write a snapshot (level 9) of every database
  -enforce-retention
                    with -once: also delete snapshots older than the snapshot retention, and
                    the level files below the oldest snapshot kept
  -restore-if-db-not-exists
                    restore a database that does not exist from its first replica before
                    replicating it (no backup yet: start fresh); also a per-database config key
  -log-level LEVEL  trace, debug, info (default), warn or error; default $LOG_LEVEL
  -exec CMD         run CMD through the shell beside replication; exit with its exit code when it
                    exits (replication is closed first). Overrides the config's exec:
  -json             log records as JSON lines on stdout instead of text on stderr
  -no-lease         do not take the single-writer lease (lock.json) on the replicas
  -lease-ttl D      lease duration without renewal (default 30s, renewed every third of it)
  -lease-keep-alive renew the lease while idle too, so a standby never takes it from this
                    writer while it runs (one conditional PUT per TTL/3 per replica)

Single writer: each replica's lock.json lease (Litestream's protocol) is acquired before anything
is written to it and renewed every third of its TTL while there is something to write; an idle
database lets it lapse (no requests) and re-takes it before its next write, unless another writer
took it meanwhile (then this one stops writing to that replica: with a standby waiting for the
lease, use -lease-keep-alive). Another process holding it makes this one wait ("waiting for
lease") until the lease expires; a writer that loses its lease stops writing to that replica and
keeps its local files. The store must enforce conditional writes (checked once).

Stops on SIGINT or SIGTERM: each database does a final sync (bounded by shutdown-sync-timeout,
default 30s), then the command exits 0. Exit codes: 0 success, 1 failure, 2 usage error.`;

export const command: Command = {
  summary: "replicate live SQLite databases to replicas (like `litestream replicate`)",
  usage: USAGE,
  run: (argv, io) => runReplicate(argv, { io }),
};

// ---------------------------------------------------------------------------------------------
// Logging in Go's slog formats

type LogValue = string | number | boolean | bigint | { duration: number };
type Level = "DEBUG" | "INFO" | "WARN" | "ERROR";

/** slog's numeric levels, with Litestream's TRACE (DEBUG-4). */
const LEVELS: Record<string, number> = { TRACE: -8, DEBUG: -4, INFO: 0, WARN: 4, WARNING: 4, ERROR: 8 };

/** The threshold of `-log-level` / `$LOG_LEVEL` (case-insensitive, as Litestream reads them); INFO when unset. */
export function parseLogLevel(value: string | undefined, from: string): number {
  if (value === undefined || value === "") return LEVELS.INFO!;
  const n = LEVELS[value.toUpperCase()];
  if (n === undefined) throw new LtxError("INVALID_ARGUMENT", `${from}: unknown log level ${JSON.stringify(value)} (trace, debug, info, warn or error)`);
  return n;
}

/** A logger writing Go slog records: text on stderr, or JSON lines on stdout. */
export class SlogLogger {
  constructor(
    private readonly io: CliIO,
    private readonly json: boolean,
    private readonly now: () => number = Date.now,
    /** Records below this slog level are dropped (default 0, INFO). */
    private readonly minLevel = 0,
  ) {}

  log(level: Level, msg: string, attrs: Record<string, LogValue | undefined> = {}): void {
    if (LEVELS[level]! < this.minLevel) return;
    const time = new Date(this.now()).toISOString();
    if (this.json) {
      const rec: Record<string, unknown> = { time, level, msg };
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined) continue;
        rec[k] = typeof v === "object" ? Math.round(v.duration * 1e6) : typeof v === "bigint" ? formatTXID(v) : v;
      }
      this.io.out(JSON.stringify(rec));
      return;
    }
    let line = `time=${time} level=${level} msg=${quote(msg)}`;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined) continue;
      const s = typeof v === "object" ? formatGoDuration(v.duration) : typeof v === "bigint" ? formatTXID(v) : String(v);
      line += ` ${k}=${quote(s)}`;
    }
    this.io.err(line);
  }
  debug(msg: string, attrs?: Record<string, LogValue | undefined>): void {
    this.log("DEBUG", msg, attrs);
  }
  info(msg: string, attrs?: Record<string, LogValue | undefined>): void {
    this.log("INFO", msg, attrs);
  }
  warn(msg: string, attrs?: Record<string, LogValue | undefined>): void {
    this.log("WARN", msg, attrs);
  }
  error(msg: string, attrs?: Record<string, LogValue | undefined>): void {
    this.log("ERROR", msg, attrs);
  }
}

/** slog's text handler quotes a value that is empty or holds a space, `=`, `"` or a control character. */
function quote(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s === "" || /[\s="\u0000-\u001f\u007f]/.test(s) ? JSON.stringify(s) : s;
}

const SIGNAL_NAMES: Record<StopSignal, string> = { SIGINT: "interrupt", SIGTERM: "terminated" };

function errorText(e: unknown): string {
  if (e instanceof LtxError) return `${e.message} [${e.code}]`;
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------------------------------------
// Process defaults

function processSignals(fn: (sig: StopSignal) => void): () => void {
  const on = (sig: StopSignal) => () => fn(sig);
  const int = on("SIGINT"), term = on("SIGTERM");
  process.on("SIGINT", int);
  process.on("SIGTERM", term);
  return () => {
    process.off("SIGINT", int);
    process.off("SIGTERM", term);
  };
}

function processSpawn(cmd: string, env: Record<string, string | undefined>): ChildLike {
  const child = spawnChild(cmd, { shell: true, stdio: "inherit", env });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("error", () => resolve({ code: 127, signal: null }));
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  return { exited, kill: (sig) => void child.kill(sig) };
}

async function defaultReplicate(): Promise<ReplicateFunction> {
  const mod = (await import("../adapters/node.ts")) as Record<string, unknown>;
  const fn = mod.replicate;
  if (typeof fn !== "function") throw new LtxError("UNSUPPORTED", "replicate() is not available in this build of ltxkit");
  return fn as ReplicateFunction;
}

// ---------------------------------------------------------------------------------------------

/** Runs `ltxkit replicate` with the given arguments; returns the exit code. */
export async function runReplicate(argv: string[], deps: ReplicateDeps): Promise<number> {
  const env = deps.env ?? process.env;
  const cwd = deps.cwd ?? process.cwd();
  const f = await readFlags(argv, env, cwd);
  const { cfg, once } = f;
  const log = new SlogLogger(deps.io, f.json, deps.now, f.minLevel);
  const open = deps.openReplica ?? ((url, e) => openReplica(url, { env: e, fileStore: (dir) => new FsStore(dir), s3Store: (o) => new S3Store(o) }));
  // Replicas are opened before anything starts, so a bad URL or missing credentials fail fast.
  const planOf = (db: ReplicateDbConfig): Plan => ({
    db,
    replicas: db.replicas.map((r) => {
      try {
        const replica = open(r.url, { ...env, ...r.env });
        return r.keyPrefix !== undefined && replica.kind === "s3" ? { ...replica, layout: s3Layout(r.keyPrefix, true) } : replica;
      } catch (e) {
        // a config problem (exit 1), not a misuse of the command line
        if (f.fromConfig && e instanceof LtxError) throw new LtxError("INVALID_CONFIG", `database ${db.path}: replica ${redact(r.url)}: ${e.message}`, { cause: e });
        throw e;
      }
    }),
  });
  const plans = cfg.dbs.map(planOf);
  // -restore-if-db-not-exists: before any database is opened, as Litestream does
  if (!(await restoreMissing(plans, log, deps.restoreDb ?? restoreFromReplica))) return 1;

  const replicate = deps.replicate ?? (await defaultReplicate());
  const signals: StopSignal[] = [];
  const waiters: Array<{ seen: number; resolve: () => void }> = [];
  const unsubscribe = (deps.onSignal ?? processSignals)((sig) => {
    signals.push(sig);
    for (const w of waiters.splice(0)) {
      if (signals.length > w.seen) w.resolve();
      else waiters.push(w);
    }
  });
  const r: Run = {
    cfg,
    log,
    deps,
    plans,
    running: [],
    signals,
    nextSignal: (seen: number) =>
      new Promise<void>((resolve) => {
        if (signals.length > seen) resolve();
        else waiters.push({ seen, resolve });
      }),
    closeAll: () => closeAll(r.running, cfg, log, deps, signals, r.nextSignal),
  };
  try {
    const start = async ({ db, replicas }: Plan) => {
      const o = optionsOf(db, cfg, env);
      if (f.lease && replicas.every((x) => x.kind === "s3" || x.kind === "file")) o.lease = f.lease;
      const handle = await replicate(db.path, replicas, o);
      r.running.push({ db, handle });
      handle.addEventListener("error", (ev) => log.error("replication error", { path: db.path, error: errorText(eventError(ev)) }));
      handle.addEventListener("lease", (ev) => logLease(log, db.path, ev));
      log.info("initialized db", { path: db.path });
      db.replicas.forEach((x) => logReplica(log, x.url, x.syncInterval));
    };
    for (const plan of plans) {
      try {
        await start(plan);
      } catch (e) {
        log.error("cannot open database", { path: plan.db.path, error: errorText(e) });
        await r.closeAll();
        return 1;
      }
    }
    for (const w of cfg.watched) log.info("found databases in directory", { dir: w.dir, count: r.running.filter((x) => isUnder(x.db.path, w.dir)).length, watch: true });
    if (once) return await runOnce(r, f.forceSnapshot, f.enforceRetention);
    if (f.execCmd) return await runExec(r, f.execCmd, env);
    const stopWatching = cfg.watched.length ? watchDirectories(cfg, r.running, planOf, start, log, deps) : () => Promise.resolve();
    await r.nextSignal(0);
    log.info("signal received, ltxkit shutting down", { signal: SIGNAL_NAMES[signals[0]!] });
    await stopWatching();
    const closed = await r.closeAll();
    log.info("ltxkit shut down");
    return closed;
  } finally {
    unsubscribe();
  }
}

/** One database to replicate and its opened replicas. */
interface Plan {
  db: ReplicateDbConfig;
  replicas: Replica[];
}

/** A running `replicate`: its databases, the signals received, and how to close them all. */
interface Run {
  cfg: ReplicateConfig;
  log: SlogLogger;
  deps: ReplicateDeps;
  plans: Plan[];
  running: Array<{ db: ReplicateDbConfig; handle: ReplicationHandleLike }>;
  signals: StopSignal[];
  /** Resolves once more than `seen` signals have arrived. */
  nextSignal(seen: number): Promise<void>;
  /** Closes every running database (see closeAll); the exit code it adds. */
  closeAll(): Promise<number>;
}

/** The flags of `replicate`, checked against each other, and the configuration they name. */
async function readFlags(argv: string[], env: Record<string, string | undefined>, cwd: string) {
  const a = parseArgs(argv, [
    { names: ["config"], type: "string" },
    { names: ["once"], type: "boolean" },
    { names: ["force-snapshot"], type: "boolean" },
    { names: ["exec"], type: "string" },
    { names: ["json"], type: "boolean" },
    { names: ["no-expand-env"], type: "boolean" },
    { names: ["enforce-retention"], type: "boolean" },
    { names: ["restore-if-db-not-exists"], type: "boolean" },
    { names: ["log-level"], type: "string" },
    { names: ["no-lease"], type: "boolean" },
    { names: ["lease-ttl"], type: "string" },
    { names: ["lease-keep-alive"], type: "boolean" },
  ]);
  const once = bool(a, "once"), forceSnapshot = bool(a, "force-snapshot");
  const configFlag = str(a, "config");
  if (a.positionals.length === 1) throw new LtxError("INVALID_ARGUMENT", `must specify at least one replica URL for ${a.positionals[0]}`);
  if (a.positionals.length > 1 && configFlag !== undefined) throw new LtxError("INVALID_ARGUMENT", "cannot specify a replica URL and the -config flag");
  if (forceSnapshot && !once) throw new LtxError("INVALID_ARGUMENT", "cannot specify -force-snapshot flag without -once");
  const enforceRetention = bool(a, "enforce-retention");
  if (enforceRetention && !once) throw new LtxError("INVALID_ARGUMENT", "cannot specify -enforce-retention flag without -once");
  const logFlag = str(a, "log-level");
  const minLevel = logFlag !== undefined ? parseLogLevel(logFlag, "-log-level") : parseLogLevel(env.LOG_LEVEL, "$LOG_LEVEL");
  if (once && str(a, "exec")) throw new LtxError("INVALID_ARGUMENT", "cannot specify -once flag with -exec");

  let cfg: ReplicateConfig;
  if (a.positionals.length > 1) {
    const [db, ...urls] = a.positionals;
    cfg = configFromArgs(db!, urls, { cwd });
  } else {
    cfg = await loadConfigFile(configFlag || defaultConfigPath(env), { env, cwd, expandEnv: !bool(a, "no-expand-env") });
  }
  const execCmd = str(a, "exec") || cfg.exec;
  if (once && execCmd) throw new LtxError("INVALID_ARGUMENT", "cannot specify -once flag with -exec");
  if (!cfg.dbs.length && !cfg.watched.length) throw new LtxError("INVALID_CONFIG", "no databases specified in configuration");
  if (bool(a, "restore-if-db-not-exists")) for (const db of cfg.dbs) db.restoreIfNotExists = true;

  const ttlFlag = str(a, "lease-ttl");
  const leaseTtl = ttlFlag === undefined ? DEFAULT_LEASE_TTL : parseGoDuration(ttlFlag);
  if (leaseTtl === null || !(leaseTtl > 0)) throw new LtxError("INVALID_ARGUMENT", `invalid -lease-ttl: ${JSON.stringify(ttlFlag)} (a duration such as 30s)`);
  if (ttlFlag !== undefined && bool(a, "no-lease")) throw new LtxError("INVALID_ARGUMENT", "cannot specify -lease-ttl with -no-lease");
  if (bool(a, "lease-keep-alive") && bool(a, "no-lease")) throw new LtxError("INVALID_ARGUMENT", "cannot specify -lease-keep-alive with -no-lease");
  const lease = bool(a, "no-lease") ? undefined : { ttl: leaseTtl, ...(bool(a, "lease-keep-alive") ? { keepAlive: true } : {}) };

  return {
    cfg,
    once,
    forceSnapshot,
    enforceRetention,
    execCmd,
    lease,
    minLevel,
    json: bool(a, "json"),
    fromConfig: a.positionals.length === 0,
  };
}

/** -restore-if-db-not-exists: restores each missing database from its first replica; false when one failed. */
async function restoreMissing(plans: Plan[], log: SlogLogger, restoreDb: NonNullable<ReplicateDeps["restoreDb"]>): Promise<boolean> {
  for (const { db, replicas } of plans) {
    if (!db.restoreIfNotExists) continue;
    if (await pathExists(db.path)) {
      log.info("database exists, skipping restore", { path: db.path });
      continue;
    }
    log.info("attempting restore before replication", { path: db.path });
    try {
      if (await restoreDb(db.path, replicas[0]!)) log.info("restore completed", { path: db.path });
      else log.info("no backup found, starting fresh", { path: db.path });
    } catch (e) {
      log.error("restore failed", { path: db.path, error: errorText(e) });
      return false;
    }
  }
  return true;
}

/** -once: syncs each database (then the forced snapshot and retention, when asked), and closes. */
async function runOnce(r: Run, forceSnapshot: boolean, enforceRetention: boolean): Promise<number> {
  const { log, signals } = r;
  let code = 0;
  for (const { db, handle } of r.running) {
    if (signals.length) break;
    try {
      log.info("syncing database", { path: db.path });
      const txid = await handle.sync();
      log.info("synced database", { path: db.path, txid });
      if (forceSnapshot) {
        log.info("taking snapshot", { path: db.path });
        await writeForcedSnapshot(handle, r.plans.find((p) => p.db === db)!.replicas);
      }
      if (enforceRetention) {
        log.info("enforcing retention", { path: db.path });
        for (const replica of r.plans.find((p) => p.db === db)!.replicas) {
          const deleted = await enforceSnapshotRetention(replica, { config: r.cfg.compaction });
          log.debug("retention enforced", { path: db.path, deleted: deleted.length });
        }
      }
    } catch (e) {
      log.error("one-shot replication failed", { path: db.path, error: errorText(e) });
      code = 1;
      break;
    }
  }
  if (signals.length) log.info("signal received, ltxkit shutting down", { signal: SIGNAL_NAMES[signals[0]!] });
  else {
    if (code === 0) log.info("one-shot replication complete");
    log.info("replication complete, ltxkit shutting down");
  }
  const closed = await r.closeAll();
  log.info("ltxkit shut down");
  return code || closed;
}

/** -exec: runs the command while replicating, forwards signals to it, and exits with its code. */
async function runExec(r: Run, execCmd: string, env: Record<string, string | undefined>): Promise<number> {
  const { log, signals, nextSignal } = r;
  const child = (r.deps.spawn ?? processSpawn)(execCmd, env);
  let forwarded = 0;
  const forward = () => {
    while (forwarded < signals.length) child.kill(signals[forwarded++]!);
  };
  const childDone = child.exited.then((x) => ({ kind: "child" as const, ...x }));
  let result = await Promise.race([childDone, nextSignal(0).then(() => ({ kind: "signal" as const }))]);
  if (result.kind === "signal") {
    log.info("signal received, ltxkit shutting down", { signal: SIGNAL_NAMES[signals[0]!] });
    log.info("sending signal to exec process");
    forward();
    log.info("waiting for exec process to close");
    for (;;) {
      const seen = signals.length;
      const x = await Promise.race([childDone, nextSignal(seen).then(() => null)]);
      if (x) {
        result = x;
        break;
      }
      forward();
    }
  } else log.info("subprocess exited, ltxkit shutting down", { code: result.code ?? undefined, signal: result.signal ?? undefined });
  const exit = result.kind === "child" ? childCode(result, forwarded > 0) : 0;
  const closed = await r.closeAll();
  log.info("ltxkit shut down");
  return closed || exit;
}

/**
 * `-force-snapshot`: a level-9 snapshot of the database at its current position (MinTXID 1), as
 * Litestream's DB.Snapshot, written to every replica.
 */
async function writeForcedSnapshot(handle: ReplicationHandleLike, replicas: Replica[]): Promise<void> {
  if (handle.snapshot) {
    await handle.snapshot();
    return;
  }
  const source = handle.source;
  if (!source) throw new LtxError("UNSUPPORTED", "snapshots on demand are not available in this build of ltxkit");
  for (const r of replicas) {
    const s = await source.snapshot();
    await writeLtxFile(r, SNAPSHOT_LEVEL, 1n, s.txid, s.body, s.timestamp);
  }
}

/**
 * `watch: true` directories: rescans each one every `watchInterval`, starts replicating databases
 * that appeared (a file matching the pattern that begins with the SQLite header) and closes those
 * whose file is gone. Returns a stop function that waits for a rescan in progress.
 */
function watchDirectories(
  cfg: ReplicateConfig,
  running: Array<{ db: ReplicateDbConfig; handle: ReplicationHandleLike }>,
  planOf: (db: ReplicateDbConfig) => { db: ReplicateDbConfig; replicas: Replica[] },
  start: (plan: { db: ReplicateDbConfig; replicas: Replica[] }) => Promise<void>,
  log: SlogLogger,
  deps: ReplicateDeps,
): () => Promise<void> {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pass: Promise<void> = Promise.resolve();
  const failing = new Set<string>(); // logged once until it succeeds
  const scan = async () => {
    for (const w of cfg.watched) {
      let found: string[];
      try {
        found = await findSQLiteDatabases(w.dir, w.pattern, w.recursive);
      } catch {
        found = [];
      }
      const present = new Set(found);
      for (let i = running.length - 1; i >= 0; i--) {
        const r = running[i]!;
        if (!isUnder(r.db.path, w.dir) || present.has(r.db.path) || !matchesWatched(w, r.db.path)) continue;
        running.splice(i, 1);
        log.info("database removed from directory, closing", { path: r.db.path });
        await r.handle.close().catch((e) => log.error("failed to close database", { path: r.db.path, error: errorText(e) }));
      }
      for (const p of found) {
        if (stopped) return;
        if (running.some((r) => r.db.path === p)) continue;
        try {
          await start(planOf(w.configFor(p)));
          failing.delete(p);
          log.info("added database from directory", { path: p, dir: w.dir });
        } catch (e) {
          if (!failing.has(p)) log.error("cannot open database", { path: p, error: errorText(e) });
          failing.add(p);
        }
      }
    }
  };
  const loop = () => {
    timer = setTimeout(() => {
      pass = scan().finally(() => {
        if (!stopped) loop();
      });
    }, deps.watchInterval ?? 1000);
  };
  loop();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await pass;
  };
}

/** Whether a database path is one the watched directory manages (its pattern, its depth). */
function matchesWatched(w: WatchedDirectory, path: string): boolean {
  const rel = path.slice(w.dir.length + 1);
  return (w.recursive || !rel.includes("/")) && matchPattern(w.pattern, rel.slice(rel.lastIndexOf("/") + 1)) === true;
}

function isUnder(path: string, dir: string): boolean {
  return path.startsWith(dir.endsWith("/") ? dir : dir + "/");
}

async function pathExists(p: string): Promise<boolean> {
  try {
    await fsp.stat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw new LtxError("IO_ERROR", `cannot stat ${p}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Restores the newest state of `replica` to `path` (atomically, then PRAGMA quick_check as
 * Litestream's restore-if-db-not-exists does; a failed check removes the file). False when the
 * replica holds no backup.
 */
async function restoreFromReplica(path: string, replica: Replica): Promise<boolean> {
  let plan;
  try {
    plan = await calcRestorePlan(replica, {});
  } catch (e) {
    if (isLtxError(e, "TX_NOT_AVAILABLE") || isLtxError(e, "NO_BACKUPS")) return false;
    throw e;
  }
  await restore(replica, { plan, sink: new FileSink(path) });
  const problems = await integrityCheck(new Uint8Array(await fsp.readFile(path)), "quick", await loadSqliteWasm());
  if (problems.length) {
    await fsp.rm(path, { force: true });
    throw new LtxError("INTEGRITY_CHECK_FAILED", `restored database failed quick_check, removed: ${problems.slice(0, 5).join("; ")}`);
  }
  return true;
}

function optionsOf(db: ReplicateDbConfig, cfg: ReplicateConfig, env: Record<string, string | undefined>): CliReplicateOptions {
  const o: CliReplicateOptions = {
    monitorInterval: db.monitorInterval,
    syncInterval: db.syncInterval,
    checkpointInterval: db.checkpointInterval,
    minCheckpointPageCount: db.minCheckpointPageCount,
    truncatePageN: db.truncatePageN,
    busyTimeout: db.busyTimeout,
    compaction: cfg.compaction,
    env,
  };
  if (db.metaPath !== undefined) o.metaPath = db.metaPath;
  if (db.maxSyncWalBytes !== undefined) o.maxSyncWalBytes = db.maxSyncWalBytes;
  if (cfg.shutdownTimeout !== undefined) o.shutdownTimeout = cfg.shutdownTimeout;
  return o;
}

/** The "replicating to" line of Litestream for a replica URL. */
function logReplica(log: SlogLogger, url: string, syncInterval: number): void {
  const p = parseReplicaURL(url);
  if (p.kind === "s3") log.info("replicating to", { type: "s3", "sync-interval": { duration: syncInterval }, bucket: p.bucket, path: p.prefix, region: p.region ?? "", endpoint: p.endpoint ?? "" });
  else if (p.kind === "file") log.info("replicating to", { type: "file", "sync-interval": { duration: syncInterval }, path: p.path });
  else log.info("replicating to", { type: p.kind, "sync-interval": { duration: syncInterval } });
}

/** Litestream-style lines for lease events (renewals are not logged). */
function logLease(log: SlogLogger, path: string, ev: Event): void {
  const d = (ev as Event & { detail?: unknown }).detail as { url?: string; state?: string; owner?: string; holder?: string; generation?: number; expiresAt?: string; error?: unknown } | undefined;
  if (!d || typeof d !== "object") return;
  const replica = d.url === undefined ? undefined : redact(d.url);
  if (d.state === "acquired") log.info("lease acquired", { path, replica, owner: d.owner, generation: d.generation, expires_at: d.expiresAt });
  else if (d.state === "waiting") log.info("waiting for lease", { path, replica, holder: d.holder ?? "", expires_at: d.expiresAt });
  else if (d.state === "lost") log.error("lease lost, replica stopped", { path, replica, holder: d.holder ?? "", error: d.error === undefined ? undefined : errorText(d.error) });
  else if (d.state === "released") log.info("lease released", { path, replica, owner: d.owner, generation: d.generation });
}

function eventError(ev: Event): unknown {
  const e = ev as Event & { error?: unknown; detail?: unknown };
  if (e.error !== undefined) return e.error;
  const d = e.detail as { error?: unknown } | undefined;
  return d && typeof d === "object" && "error" in d ? d.error : (d ?? "unknown error");
}

/** The exit code for a finished child: its code; 128+N for death by signal N, unless we sent it. */
function childCode(r: { code: number | null; signal: NodeJS.Signals | null }, weSignalled: boolean): number {
  if (r.code !== null) return r.code;
  if (weSignalled) return 0;
  const n = r.signal ? os.constants.signals[r.signal] : undefined;
  return n ? 128 + n : 1;
}

/**
 * Closes every running database at once. Bounded: gives up after the shutdown timeout plus a
 * margin, or at a second signal. Returns 0 when all closed cleanly, else 1.
 */
async function closeAll(
  running: Array<{ db: ReplicateDbConfig; handle: ReplicationHandleLike }>,
  cfg: ReplicateConfig,
  log: SlogLogger,
  deps: ReplicateDeps,
  signals: StopSignal[],
  nextSignal: (seen: number) => Promise<void>,
): Promise<number> {
  if (!running.length) return 0;
  const seen = signals.length;
  let failed = false;
  const all = Promise.all(
    running.map(({ db, handle }) =>
      handle.close().catch((e) => {
        failed = true;
        log.error("failed to close database", { path: db.path, error: errorText(e) });
      }),
    ),
  ).then(() => "closed" as const);
  const bound = (cfg.shutdownTimeout ?? 30_000) + (deps.closeMarginMs ?? 5000);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), bound);
  });
  const interrupted = nextSignal(seen).then(() => "interrupted" as const);
  const r = await Promise.race([all, timeout, interrupted]);
  clearTimeout(timer);
  if (r === "timeout") {
    log.error("shutdown timed out", { timeout: { duration: bound } });
    return 1;
  }
  if (r === "interrupted") {
    log.warn("shutdown sync skipped by user interrupt");
    return 1;
  }
  return failed ? 1 : 0;
}
