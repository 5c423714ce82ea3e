/**
 * The shipping side of Litestream's write path (spec: litestream-replica.md §3.4, §3.5, §4): L0
 * files from a source are uploaded to one or more replicas in TXID order, then merged up the level
 * ladder, snapshotted and pruned in the background.
 *
 * - Each replica's position is read once (one LIST of level 0), then kept in memory.
 * - Uploads go in order, one file at a time, so a replica always holds a gap-free prefix of the
 *   chain; a failure backs off exponentially (bounded) and the queue drains from where it stopped.
 *   Replicas are independent: one failing never delays the others.
 * - A remote ahead of the local position at startup (a restore on a fresh host, Litestream issue
 *   #781) is adopted through `source.adoptRemote`; a remote that is not a continuation of the local
 *   chain stops that replica with REPLICA_MISMATCH and nothing is written to it.
 * - Time comes only from the injected Clock; `tick()` lets a cron job or alarm drive everything
 *   instead of timers.
 */
import { LtxError, isLtxError, wrapError } from "../errors.ts";
import { decodeHeader, HEADER_FLAG_NO_CHECKSUM, HEADER_SIZE, TRAILER_SIZE } from "../ltx/header.ts";
import { formatTXID } from "../ltx/txid.ts";
import { systemClock, type Clock } from "./clock.ts";
import { DEFAULT_COMPACTION_CONFIG, type CompactionConfig } from "./compact.ts";
import type { FileInfo } from "./file-info.ts";
import { Ladder, LevelCache } from "./ladder.ts";
import { listLevel, writeLtxFile } from "./list.ts";
import type { Replica } from "./url.ts";

export type { Clock } from "./clock.ts";

/** Where L0 files come from (the WAL capture of a live database, or a sqlite-wasm capture). */
export interface L0Source {
  /** Local staging replica holding L0 files as `ltx/0/<txid>-<txid>.ltx` (file layout), or a memory replica. The replicator uploads from it and deletes what every replica holds. */
  readonly local: Replica;
  /** Captures everything committed so far into local L0 files; returns the newest local TXID (0n when none). Writes nothing when nothing is new. */
  sync(): Promise<bigint>;
  /** A full snapshot at the current local position: MinTXID 1, MaxTXID = txid, NoChecksum, pages 1..commit. */
  snapshot(): Promise<{ txid: bigint; timestamp: number; body: ReadableStream<Uint8Array> }>;
  /** The remote is ahead of the local position: adopt this remote L0 file (its bytes) as the local position. */
  adoptRemote(txid: bigint, file: Uint8Array): Promise<void>;
  /** Optional: calls `onCommit` soon after a commit lands; returns a stop function. */
  watch?(onCommit: () => void): () => void;
  close(): Promise<void>;
}

/** Options of a Replicator. Durations are milliseconds. */
export interface ReplicatorOptions {
  /** Time source (default: Date.now and setTimeout). */
  clock?: Clock;
  /** How often the source is captured (default 1000, Litestream's monitor-interval). */
  monitorInterval?: number;
  /** How often replicas are uploaded to when no capture wakes them (default 1000, sync-interval). */
  syncInterval?: number;
  /** Levels, snapshot interval and retention, L0 retention (default: Litestream's). */
  compaction?: Partial<CompactionConfig>;
  /** Backoff after a failure: initialDelay doubled per consecutive failure up to maxDelay (default 1000 and 300000, Litestream's 5 min). */
  retries?: { initialDelay?: number; maxDelay?: number };
  /** How long `sync()` keeps retrying a failing replica before it rejects (default 30000). */
  syncTimeout?: number;
  /** How long `close()` tries to upload what is left (default 30000, shutdown-sync-timeout). */
  shutdownTimeout?: number;
  /** How often `close()` retries meanwhile, whatever the backoff (default 500, shutdown-sync-interval). */
  shutdownSyncInterval?: number;
  /** Capture as soon as a commit lands (source.watch) as well as every monitorInterval. */
  eventDriven?: boolean;
  /** Files per upload batch before other work gets a turn (default 256, max-sync-ltx-files). */
  batchSize?: number;
}

/** One replica's state. */
export interface ReplicaStatus {
  url: string;
  /** The newest TXID this replica holds (0n before its position is known). */
  remoteTXID: bigint;
  /** The error of the last failed attempt, while the replica is failing. */
  lastError?: LtxError;
  /** Clock time of the last successful upload. */
  lastUploadAt?: number;
  /** Consecutive failed attempts. */
  failures: number;
  /** True when the replica was stopped for good (REPLICA_MISMATCH). */
  stopped: boolean;
}

/** The replicator's state. */
export interface ReplicatorStatus {
  localTXID: bigint;
  replicas: ReplicaStatus[];
  /** How long the oldest TXID not yet in every replica has waited (0 when all are caught up). */
  lagMs: number;
  /** The current error: the source's, else the first failing replica's. */
  lastError?: LtxError;
}

/** Events a Replicator dispatches; `detail` says what happened. */
export type ReplicatorEventType = "sync" | "upload" | "error" | "snapshot" | "compact";

/** Details per event type. */
export interface ReplicatorEventDetail {
  /** New local TXIDs were captured. */
  sync: { minTXID: bigint; maxTXID: bigint };
  /** L0 files minTXID..maxTXID reached a replica. */
  upload: { url: string; minTXID: bigint; maxTXID: bigint };
  /** A capture (url undefined) or a replica operation failed. */
  error: { url?: string; error: LtxError };
  /** A level-9 snapshot was written. */
  snapshot: { url: string; file: FileInfo };
  /** A compacted file was written (`file`), or files were deleted by retention (`deleted`). */
  compact: { url: string; file?: FileInfo; inputs?: FileInfo[]; deleted?: FileInfo[] };
}

/** An event of a Replicator. */
export class ReplicatorEvent<T extends ReplicatorEventType = ReplicatorEventType> extends Event {
  readonly detail: ReplicatorEventDetail[T];
  constructor(type: T, detail: ReplicatorEventDetail[T]) {
    super(type);
    this.detail = detail;
  }
}

interface RState {
  replica: Replica;
  cache: LevelCache;
  ladder: Ladder;
  /** undefined until level 0 was listed. */
  pos: bigint | undefined;
  failures: number;
  retryAt: number;
  lastError?: LtxError;
  lastUploadAt?: number;
  fatal?: LtxError;
  lane: Promise<void>;
  ladderLane: Promise<void>;
  ladderFailures: number;
  ladderRetryAt: number;
}

const MAX_ADOPT_BYTES = 1 << 30;

/** Ships L0 files from a source to replicas and runs the level ladder on them. */
export class Replicator extends EventTarget {
  readonly source: L0Source;
  #clock: Clock;
  #o: { monitorInterval: number; syncInterval: number; initialDelay: number; maxDelay: number; syncTimeout: number; shutdownTimeout: number; shutdownSyncInterval: number; eventDriven: boolean; batchSize: number };
  #rs: RState[];
  #localPos = 0n;
  #localLow = 1n;
  #captures: { txid: bigint; at: number }[] = [];
  #sourceError: LtxError | undefined;
  #sourceFailures = 0;
  #sourceRetryAt = 0;
  #captureLane: Promise<bigint> | null = null;
  #startup: Promise<void> | null = null;
  #started = false;
  #closed = false;
  #stop = new AbortController();
  #kill = new AbortController();
  #wakeUpload = new Waker();
  #wakeCapture = new Waker();
  #loops: Promise<void>[] = [];
  #unwatch: (() => void) | undefined;

  constructor(source: L0Source, replicas: Replica[], options: ReplicatorOptions = {}) {
    super();
    this.source = source;
    this.#clock = options.clock ?? systemClock;
    const positive = (v: number | undefined, d: number, name: string) => {
      const x = v ?? d;
      if (!(x > 0) || !Number.isFinite(x)) throw new LtxError("INVALID_ARGUMENT", `${name} must be a positive number of ms (got ${x})`);
      return x;
    };
    this.#o = {
      monitorInterval: positive(options.monitorInterval, 1000, "monitorInterval"),
      syncInterval: positive(options.syncInterval, 1000, "syncInterval"),
      initialDelay: positive(options.retries?.initialDelay, 1000, "retries.initialDelay"),
      maxDelay: positive(options.retries?.maxDelay, 300_000, "retries.maxDelay"),
      syncTimeout: positive(options.syncTimeout, 30_000, "syncTimeout"),
      shutdownTimeout: positive(options.shutdownTimeout, 30_000, "shutdownTimeout"),
      shutdownSyncInterval: positive(options.shutdownSyncInterval, 500, "shutdownSyncInterval"),
      eventDriven: options.eventDriven ?? false,
      batchSize: Math.floor(positive(options.batchSize, 256, "batchSize")),
    };
    const config: CompactionConfig = { ...DEFAULT_COMPACTION_CONFIG, ...options.compaction };
    const urls = new Set<string>();
    this.#rs = replicas.map((replica) => {
      if (replica.kind !== "memory" && urls.has(replica.url)) throw new LtxError("INVALID_ARGUMENT", `replica given twice: ${replica.url}`);
      urls.add(replica.url);
      const cache = new LevelCache();
      return { replica, cache, ladder: new Ladder(replica, cache, config), pos: undefined, failures: 0, retryAt: 0, lane: Promise.resolve(), ladderLane: Promise.resolve(), ladderFailures: 0, ladderRetryAt: 0 };
    });
  }

  /** Starts the background loops (capture, upload, one ladder per replica) on the clock. */
  start(): void {
    if (this.#closed) throw new LtxError("INVALID_STATE", "replicator is closed");
    if (this.#started) return;
    this.#started = true;
    if (this.#o.eventDriven && this.source.watch) this.#unwatch = this.source.watch(() => this.#wakeCapture.notify());
    this.#loops.push(this.#captureLoop(), this.#uploadLoop(), ...this.#rs.map((rs) => this.#ladderLoop(rs)));
  }

  /**
   * One step for a cron job or an alarm: capture, upload to every replica (failing ones only when
   * their backoff has passed), delete local files every replica holds, then the due ladder jobs.
   * Replica failures are reported in status() and "error" events; rejects only when the capture
   * fails or the replicator is closed.
   */
  async tick(): Promise<void> {
    this.#checkOpen();
    await this.#ensureStartup();
    await this.#capture();
    await Promise.all(this.#rs.map((rs) => this.#pump(rs)));
    await this.#pruneLocal();
    await Promise.all(this.#rs.map((rs) => this.#ladderStep(rs)));
  }

  /**
   * Captures what is committed, then resolves with the local TXID once every replica holds it.
   * A failing replica is retried with backoff for up to `syncTimeout`; then sync() rejects with its
   * last error (the files stay queued and the background loops keep retrying). A stopped replica
   * (REPLICA_MISMATCH) rejects at once. `timeout` overrides the `syncTimeout` option for this call.
   */
  async sync(options: { timeout?: number } = {}): Promise<bigint> {
    this.#checkOpen();
    return this.#flush(options.timeout ?? this.#o.syncTimeout);
  }

  /** Local TXID, each replica's position and error, and the replication lag. */
  status(): ReplicatorStatus {
    const now = this.#clock.now();
    const replicas: ReplicaStatus[] = this.#rs.map((rs) => {
      const s: ReplicaStatus = { url: rs.replica.url, remoteTXID: rs.pos ?? 0n, failures: rs.failures, stopped: rs.fatal !== undefined };
      const err = rs.fatal ?? rs.lastError;
      if (err) s.lastError = err;
      if (rs.lastUploadAt !== undefined) s.lastUploadAt = rs.lastUploadAt;
      return s;
    });
    const min = this.#minRemote(true);
    const oldest = this.#captures.find((c) => c.txid > min);
    const out: ReplicatorStatus = { localTXID: this.#localPos, replicas, lagMs: oldest && min < this.#localPos ? Math.max(0, now - oldest.at) : 0 };
    const err = this.#sourceError ?? replicas.find((r) => r.lastError)?.lastError;
    if (err) out.lastError = err;
    return out;
  }

  /** Adds a listener for a ReplicatorEvent. */
  override addEventListener<T extends ReplicatorEventType>(type: T, listener: ((e: ReplicatorEvent<T>) => void) | EventListenerObject | null, options?: AddEventListenerOptions | boolean): void {
    super.addEventListener(type, listener as EventListener, options);
  }

  /**
   * Uploads what is left (bounded by `shutdownTimeout`), stops every loop and closes the source.
   * Rejects with the flush error when something could not be uploaded in time; everything is
   * stopped either way.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort();
    this.#unwatch?.();
    this.#wakeCapture.notify();
    this.#wakeUpload.notify();
    let error: unknown;
    const timer = new AbortController();
    const deadline = this.#clock.sleep(this.#o.shutdownTimeout, timer.signal).then(
      () => this.#kill.abort(),
      () => {},
    );
    try {
      await this.#flush(this.#o.shutdownTimeout, this.#o.shutdownSyncInterval);
    } catch (e) {
      error = e;
    }
    this.#kill.abort();
    timer.abort();
    await deadline;
    await Promise.allSettled([...this.#loops, ...this.#rs.flatMap((rs) => [rs.lane, rs.ladderLane])]);
    try {
      await this.source.close();
    } catch (e) {
      error ??= e;
    }
    if (error !== undefined) throw isLtxError(error) ? error : wrapError(error, "close", "STORE_ERROR");
  }

  // ---------------------------------------------------------------- internals

  #checkOpen(): void {
    if (this.#closed) throw new LtxError("INVALID_STATE", "replicator is closed");
  }

  #emit<T extends ReplicatorEventType>(type: T, detail: ReplicatorEventDetail[T]): void {
    this.dispatchEvent(new ReplicatorEvent(type, detail));
  }

  #delay(failures: number): number {
    return Math.min(this.#o.maxDelay, this.#o.initialDelay * 2 ** Math.min(failures - 1, 52));
  }

  /** Captures, then uploads until every replica holds the position; `interval`: retry at this fixed pace instead of the backoff. */
  async #flush(timeout: number, interval?: number): Promise<bigint> {
    await this.#ensureStartup();
    const target = await this.#capture(true);
    const deadline = this.#clock.now() + timeout;
    await Promise.all(this.#rs.map((rs) => this.#drain(rs, target, deadline, interval)));
    await this.#pruneLocal();
    return target;
  }

  /** Uploads to one replica until it holds `target`, sleeping out backoffs until `deadline`. */
  async #drain(rs: RState, target: bigint, deadline: number, interval?: number): Promise<void> {
    const giveUp = () => (rs.lastError ?? new LtxError("TIMEOUT", "replica not reachable")).wrap(`sync: ${rs.replica.url} still failing after ${rs.failures} attempts`);
    try {
      await this.#drainLoop(rs, target, deadline, giveUp, interval);
    } catch (e) {
      // Stopped by close()'s deadline: report why the replica could not be reached.
      if (isLtxError(e, "ABORTED") && this.#kill.signal.aborted && rs.lastError) throw giveUp();
      throw e;
    }
  }

  async #drainLoop(rs: RState, target: bigint, deadline: number, giveUp: () => LtxError, interval?: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (rs.fatal) throw rs.fatal;
      if (rs.pos !== undefined && rs.pos >= target) return;
      const now = this.#clock.now();
      if (interval !== undefined) {
        if (attempt > 0) {
          if (now >= deadline) throw giveUp();
          await this.#clock.sleep(Math.min(interval, deadline - now), this.#kill.signal);
        }
        await this.#pump(rs, false, true);
        continue;
      }
      if (rs.retryAt > now) {
        if (rs.retryAt > deadline) throw giveUp();
        await this.#clock.sleep(rs.retryAt - now, this.#kill.signal);
      }
      await this.#pump(rs);
    }
  }

  // ---- startup: local position, remote positions, adoption of a remote that is ahead

  #ensureStartup(): Promise<void> {
    // A failed startup (the adoption's download, say) is tried again by the next call.
    this.#startup ??= this.#doStartup().catch((e) => {
      this.#startup = null;
      throw e;
    });
    return this.#startup;
  }

  async #doStartup(): Promise<void> {
    const local = await listLevel(this.source.local, 0, { signal: this.#kill.signal });
    this.#localPos = local.reduce((m, f) => (f.maxTXID > m ? f.maxTXID : m), 0n);
    this.#localLow = local[0]?.minTXID ?? 1n;
    await Promise.all(this.#rs.map((rs) => this.#pump(rs, true)));
    // Adopt the replica furthest ahead (Go's checkDatabaseBehindReplica).
    let ahead: RState | undefined;
    for (const rs of this.#rs) if (!rs.fatal && rs.pos !== undefined && rs.pos > this.#localPos && (!ahead || rs.pos > ahead.pos!)) ahead = rs;
    if (ahead) {
      const txid = ahead.pos!;
      const f = ahead.cache.last(0)!;
      if (f.size > MAX_ADOPT_BYTES) throw new LtxError("LIMIT_EXCEEDED", `remote L0 file too large to adopt: ${f.size} bytes`);
      const bytes = await ahead.replica.store.get(f.key, undefined, { signal: this.#kill.signal });
      if (!bytes) throw new LtxError("NOT_FOUND", `remote L0 file disappeared: ${f.key}`);
      await this.source.adoptRemote(txid, bytes);
      this.#localPos = txid;
      this.#localLow = txid;
      this.#captures = [];
    }
  }

  /** Lists level 0 of a replica once and checks that it continues the local chain. */
  async #initReplica(rs: RState, atStartup: boolean): Promise<void> {
    const l0 = await listLevel(rs.replica, 0, { signal: this.#kill.signal });
    const remote = l0.reduce((m, f) => (f.maxTXID > m ? f.maxTXID : m), 0n);
    const local = this.#localPos;
    const t = remote < local ? remote : local;
    let same: boolean | undefined;
    if (t > 0n) same = await this.#sameFile(rs, l0, t);
    if (same === false) throw mismatch(rs, `its TXID ${formatTXID(t)} differs from the local one (a replica of another database?)`);
    if (remote > local) {
      if (!atStartup) throw mismatch(rs, `it is ahead of the local position (${formatTXID(remote)} > ${formatTXID(local)}): another writer?`);
      if (local > 0n && same === undefined) throw mismatch(rs, `it is ahead of the local position and no longer holds L0 TXID ${formatTXID(local)} to prove it continues the local chain`);
    }
    rs.cache.set(0, l0);
    rs.pos = remote;
  }

  /** Compares the trailers (post-apply and file checksums) of the local and remote L0 file `t`; undefined when either is missing. */
  async #sameFile(rs: RState, l0: FileInfo[], t: bigint): Promise<boolean | undefined> {
    const r = l0.find((f) => f.minTXID === t && f.maxTXID === t);
    const lkey = this.source.local.layout.key(0, t, t);
    const lh = await this.source.local.store.head(lkey, { signal: this.#kill.signal });
    if (!r || !lh || r.size < HEADER_SIZE + TRAILER_SIZE || lh.size < HEADER_SIZE + TRAILER_SIZE) return undefined;
    const [a, b] = await Promise.all([
      rs.replica.store.get(r.key, { offset: r.size - TRAILER_SIZE, length: TRAILER_SIZE }, { signal: this.#kill.signal }),
      this.source.local.store.get(lkey, { offset: lh.size - TRAILER_SIZE, length: TRAILER_SIZE }, { signal: this.#kill.signal }),
    ]);
    if (!a || !b) return undefined;
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }

  // ---- capture

  /** Captures (serialized); with `strict`, a source failure rejects, else it is recorded and backs off. */
  async #capture(strict = true): Promise<bigint> {
    while (this.#captureLane) await this.#captureLane.catch(() => {});
    const run = (async () => {
      const prev = this.#localPos;
      let pos: bigint;
      try {
        pos = await this.source.sync();
      } catch (e) {
        const err = isLtxError(e) ? e : wrapError(e, "capture", "IO_ERROR");
        this.#sourceError = err;
        this.#sourceFailures++;
        this.#sourceRetryAt = this.#clock.now() + this.#delay(this.#sourceFailures);
        this.#emit("error", { error: err });
        throw err;
      }
      this.#sourceError = undefined;
      this.#sourceFailures = 0;
      this.#sourceRetryAt = 0;
      if (pos > prev) {
        this.#localPos = pos;
        this.#captures.push({ txid: pos, at: this.#clock.now() });
        this.#emit("sync", { minTXID: prev + 1n, maxTXID: pos });
        this.#wakeUpload.notify();
      }
      return this.#localPos;
    })();
    this.#captureLane = run;
    try {
      return await run;
    } catch (e) {
      if (strict) throw e;
      return this.#localPos;
    } finally {
      if (this.#captureLane === run) this.#captureLane = null;
    }
  }

  // ---- upload

  /** Runs one upload pass on a replica, serialized with other passes on it. */
  #pump(rs: RState, atStartup = false, force = false): Promise<void> {
    const run = rs.lane.then(() => this.#pumpNow(rs, atStartup, force));
    rs.lane = run.catch(() => {});
    return rs.lane;
  }

  async #pumpNow(rs: RState, atStartup: boolean, force: boolean): Promise<void> {
    if (rs.fatal || this.#kill.signal.aborted) return;
    if (!force && this.#clock.now() < rs.retryAt) return;
    try {
      if (rs.pos === undefined) await this.#initReplica(rs, atStartup);
      while (rs.pos! < this.#localPos && !this.#kill.signal.aborted) {
        const from = rs.pos! + 1n;
        let to = from + BigInt(this.#o.batchSize) - 1n;
        if (to > this.#localPos) to = this.#localPos;
        for (let t = from; t <= to; t++) {
          const f = await this.#uploadOne(rs, t);
          rs.cache.add(f);
          rs.pos = t;
          rs.lastUploadAt = this.#clock.now();
        }
        this.#emit("upload", { url: rs.replica.url, minTXID: from, maxTXID: to });
      }
      rs.failures = 0;
      rs.retryAt = 0;
      delete rs.lastError;
    } catch (e) {
      const err = isLtxError(e) ? e : wrapError(e, `upload to ${rs.replica.url}`, "STORE_ERROR");
      if (err.code === "REPLICA_MISMATCH") rs.fatal = err;
      rs.lastError = err;
      rs.failures++;
      rs.retryAt = this.#clock.now() + this.#delay(rs.failures);
      this.#emit("error", { url: rs.replica.url, error: err });
    }
  }

  /** Uploads local L0 file `t` (or, when the local copy is gone after an adoption, another replica's copy). */
  async #uploadOne(rs: RState, t: bigint): Promise<FileInfo> {
    const signal = this.#kill.signal;
    let from: Replica = this.source.local;
    let key = from.layout.key(0, t, t);
    let head = await from.store.get(key, { offset: 0, length: HEADER_SIZE }, { signal });
    if (!head || head.length === 0) {
      for (const o of this.#rs) {
        const f = o !== rs && !o.fatal ? o.cache.levels[0]!.find((g) => g.minTXID === t && g.maxTXID === t) : undefined;
        if (!f) continue;
        head = await o.replica.store.get(f.key, { offset: 0, length: HEADER_SIZE }, { signal });
        if (head && head.length) {
          from = o.replica;
          key = f.key;
          break;
        }
      }
    }
    if (!head || head.length === 0) throw new LtxError("NOT_FOUND", `local L0 file of TXID ${formatTXID(t)} is missing (${key})`);
    const h = decodeHeader(head);
    if (h.minTXID !== t || h.maxTXID !== t) throw new LtxError("INVALID_HEADER", `L0 file ${key} holds TXIDs ${formatTXID(h.minTXID)}-${formatTXID(h.maxTXID)}, expected ${formatTXID(t)}`);
    if ((h.flags & HEADER_FLAG_NO_CHECKSUM) === 0) throw new LtxError("INVALID_HEADER", `L0 file ${key} is not NoChecksum (Go Litestream could not restore it)`);
    const body = await from.store.getStream(key, undefined, { signal });
    if (!body) throw new LtxError("NOT_FOUND", `L0 file ${key} disappeared`);
    return writeLtxFile(rs.replica, 0, t, t, body, h.timestamp, signal);
  }

  /** The lowest replica position (undefined positions count as 0); stopped replicas count only with `all`. */
  #minRemote(all: boolean): bigint {
    let min: bigint | undefined;
    for (const rs of this.#rs) {
      if (rs.fatal && !all) continue;
      const p = rs.pos ?? 0n;
      if (min === undefined || p < min) min = p;
    }
    return min ?? 0n;
  }

  /** Deletes local L0 files every live replica holds, keeping the newest one and the lowest replica position. */
  async #pruneLocal(): Promise<void> {
    if (!this.#rs.some((rs) => !rs.fatal)) return;
    const min = this.#minRemote(false);
    const upto = min < this.#localPos ? min : this.#localPos; // keep `upto` itself
    this.#captures = this.#captures.filter((c) => c.txid > this.#minRemote(true));
    if (this.#localLow >= upto) return;
    const keys: string[] = [];
    for (let t = this.#localLow; t < upto; t++) keys.push(this.source.local.layout.key(0, t, t));
    try {
      for (let i = 0; i < keys.length; i += 1000) await this.source.local.store.delete(keys.slice(i, i + 1000));
      this.#localLow = upto;
    } catch (e) {
      this.#emit("error", { error: isLtxError(e) ? e : wrapError(e, "delete local L0 files", "IO_ERROR") });
    }
  }

  // ---- ladder

  #ladderStep(rs: RState): Promise<void> {
    const run = rs.ladderLane.then(async () => {
      const now = this.#clock.now();
      if (rs.fatal || rs.pos === undefined || now < rs.ladderRetryAt || this.#kill.signal.aborted) return;
      const url = rs.replica.url;
      try {
        await rs.ladder.step(now, this.#localPos, () => this.source.snapshot(), this.#kill.signal, {
          compacted: (file, inputs) => this.#emit("compact", { url, file, inputs }),
          snapshot: (file) => this.#emit("snapshot", { url, file }),
          deleted: (deleted) => this.#emit("compact", { url, deleted }),
        });
        rs.ladderFailures = 0;
        rs.ladderRetryAt = 0;
      } catch (e) {
        const err = isLtxError(e) ? e : wrapError(e, `compaction on ${url}`, "STORE_ERROR");
        rs.ladderFailures++;
        rs.ladderRetryAt = now + this.#delay(rs.ladderFailures);
        rs.cache.invalidateUpper();
        this.#emit("error", { url, error: err });
      }
    });
    rs.ladderLane = run;
    return run;
  }

  // ---- loops (start())

  /** Sleeps `ms` on the clock, or less when `waker` is notified (also before the call); false once stopped. */
  async #wait(ms: number, waker?: Waker): Promise<boolean> {
    if (this.#stop.signal.aborted) return false;
    if (waker?.take()) return true;
    const ctl = new AbortController();
    const onStop = () => ctl.abort();
    this.#stop.signal.addEventListener("abort", onStop, { once: true });
    waker?.arm(ctl);
    try {
      await this.#clock.sleep(Math.max(0, ms), ctl.signal);
    } catch {
      // woken or stopped
    } finally {
      waker?.disarm();
      this.#stop.signal.removeEventListener("abort", onStop);
    }
    return !this.#stop.signal.aborted;
  }

  async #captureLoop(): Promise<void> {
    try {
      await this.#ensureStartup();
    } catch (e) {
      this.#emit("error", { error: isLtxError(e) ? e : wrapError(e, "startup", "STORE_ERROR") });
      return;
    }
    while (!this.#stop.signal.aborted) {
      if (this.#clock.now() >= this.#sourceRetryAt) await this.#capture(false);
      const wait = this.#sourceRetryAt > 0 ? this.#sourceRetryAt - this.#clock.now() : this.#o.monitorInterval;
      if (!(await this.#wait(wait, this.#wakeCapture))) return;
    }
  }

  async #uploadLoop(): Promise<void> {
    try {
      await this.#ensureStartup();
    } catch {
      return;
    }
    while (!this.#stop.signal.aborted) {
      await Promise.all(this.#rs.map((rs) => this.#pump(rs)));
      await this.#pruneLocal();
      const now = this.#clock.now();
      let wait = this.#o.syncInterval;
      for (const rs of this.#rs) if (!rs.fatal && rs.retryAt > now) wait = Math.min(wait, rs.retryAt - now);
      if (!(await this.#wait(wait, this.#wakeUpload))) return;
    }
  }

  async #ladderLoop(rs: RState): Promise<void> {
    try {
      await this.#ensureStartup();
    } catch {
      return;
    }
    while (!this.#stop.signal.aborted) {
      await this.#ladderStep(rs);
      const now = this.#clock.now();
      let next = rs.ladder.nextDue(now);
      if (rs.pos === undefined) next = now + this.#o.syncInterval;
      if (rs.ladderRetryAt > now) next = Math.max(next, rs.ladderRetryAt);
      if (!(await this.#wait(next - now))) return;
    }
  }
}

/** Wakes one sleeping loop; a notification while it is busy makes its next wait return at once. */
class Waker {
  #ctl: AbortController | null = null;
  #pending = false;
  notify(): void {
    if (this.#ctl) this.#ctl.abort();
    else this.#pending = true;
  }
  take(): boolean {
    const p = this.#pending;
    this.#pending = false;
    return p;
  }
  arm(ctl: AbortController): void {
    this.#ctl = ctl;
  }
  disarm(): void {
    this.#ctl = null;
  }
}

function mismatch(rs: RState, why: string): LtxError {
  return new LtxError("REPLICA_MISMATCH", `replica ${rs.replica.url} is not a continuation of the local database: ${why}; nothing was written to it`);
}
