/**
 * The shipping side of Litestream's write path (spec: litestream-replica.md §3.4, §3.5, §4): L0
 * files from a source are uploaded to one or more replicas in TXID order, then merged up the level
 * ladder, snapshotted and pruned in the background.
 *
 * - Each replica's position is read once (one LIST of level 0), then kept in memory.
 * - Uploads go in order, one file at a time, so a replica always holds a gap-free prefix of the
 *   chain; a failure backs off exponentially (bounded) and the queue drains from where it stopped.
 *   Replicas are independent: one failing never delays the others.
 * - The startup (local and remote positions, adopting a remote ahead, REPLICA_MISMATCH) lives in
 *   startup.ts.
 * - With `lease` (the steps in replicator-leases.ts), every replica's lock.json lease (lease.ts)
 *   is acquired before the startup reads positions, renewed every TTL/3 while something is to be
 *   written (an upload pending or a write in flight), checked before every write
 *   (lease-keeper.ts), and released by close(). While idle it is left to lapse (no requests);
 *   the next write re-takes it if no other writer took the lock meanwhile. A lost lease stops
 *   that replica like a mismatch: nothing more is written to it and the local L0 files it lacks
 *   stay.
 * - Time comes only from the injected Clock; `tick()` lets a cron job or alarm drive everything
 *   instead of timers.
 */
import { LtxError, isLtxError, wrapError } from "../errors.ts";
import { systemClock, type Clock } from "./clock.ts";
import { DEFAULT_COMPACTION_CONFIG, type CompactionConfig } from "./schedule.ts";
import { listLevel } from "./list.ts";
import { recoverPositions } from "./startup.ts";
import { ReplicaLeases } from "./replicator-leases.ts";
import type { Uploader } from "./uploader.ts";
import type { Replica } from "./replica.ts";

/** Errors a retry may cure (store and network trouble, a busy local disk); sync() retries only these. */
const TRANSIENT = new Set<string>(["STORE_ERROR", "STORE_AUTH", "TIMEOUT", "ABORTED", "IO_ERROR", "PRECONDITION_FAILED"]);

/** At most this many uploaded local L0 files are kept for the next level-1 compaction of a replica. */
const MAX_KEPT_FOR_COMPACTION = 4096n;

export type { Clock } from "./clock.ts";
export { ReplicatorEvent, type L0Source, type ReplicatorOptions, type ReplicatorLeaseOptions, type ReplicaLeaseStatus, type ReplicaStatus, type ReplicatorStatus, type ReplicatorEventType, type ReplicatorEventDetail } from "./replicator-types.ts";
import { ReplicatorEvent, type L0Source, type ReplicatorOptions, type ReplicaStatus, type ReplicatorStatus, type ReplicatorEventType, type ReplicatorEventDetail } from "./replicator-types.ts";

/** Ships L0 files from a source to replicas and runs the level ladder on them. */
export class Replicator extends EventTarget {
  readonly source: L0Source;
  #clock: Clock;
  #o: { monitorInterval: number; syncInterval: number; initialDelay: number; maxDelay: number; syncTimeout: number; shutdownTimeout: number; shutdownSyncInterval: number; eventDriven: boolean; eventInterval: number; batchSize: number };
  #rs: Uploader[];
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
  #closing: Promise<void> | undefined;
  #stop = new AbortController();
  #kill = new AbortController();
  #wakeUpload = new Waker();
  #wakeCapture = new Waker();
  #loops: Promise<void>[] = [];
  #unwatch: (() => void) | undefined;
  /** The source reported a change (eventDriven) that no capture has taken yet. */
  #changed = false;
  readonly #leases: ReplicaLeases;
  /** Event types a listener was ever added for (removals are not tracked: at worst an event nobody hears). */
  #listened = new Set<string>();

  constructor(source: L0Source, replicas: Replica[], options: ReplicatorOptions = {}) {
    super();
    this.source = source;
    this.#clock = options.clock ?? systemClock;
    const positive = (v: number | undefined, d: number, name: string, zero = false) => {
      const x = v ?? d;
      if (!(x > 0 || (zero && x === 0)) || !Number.isFinite(x)) throw new LtxError("INVALID_ARGUMENT", `${name} must be a ${zero ? "number of ms ≥ 0" : "positive number of ms"} (got ${x})`);
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
      eventInterval: positive(options.eventInterval, 0, "eventInterval", true),
      batchSize: Math.floor(positive(options.batchSize, 256, "batchSize")),
    };
    const config: CompactionConfig = { ...DEFAULT_COMPACTION_CONFIG, ...options.compaction };
    const urls = new Set<string>();
    this.#leases = new ReplicaLeases({ clock: this.#clock, signal: this.#kill.signal, emit: (type, detail) => this.#emit(type, detail), localPos: () => this.#localPos }, options.lease);
    this.#rs = replicas.map((replica) => {
      if (replica.kind !== "memory" && urls.has(replica.url)) throw new LtxError("INVALID_ARGUMENT", `replica given twice: ${replica.url}`);
      urls.add(replica.url);
      const u = this.#leases.uploader(replica, config);
      u.ladder.localL0 = source.local;
      return u;
    });
    this.#leases.replicas = this.#rs;
  }

  /** Starts the background loops (capture, upload, one ladder per replica) on the clock. */
  start(): void {
    if (this.#closed) throw new LtxError("INVALID_STATE", "replicator is closed");
    if (this.#started) return;
    this.#started = true;
    this.#armWatch();
    // One driver retries a failed startup; every loop starts once it succeeded.
    const ready = this.#startupDone();
    this.#loops.push(ready.then(() => {}), this.#captureLoop(ready), this.#uploadLoop(ready), ...this.#rs.map((rs) => this.#ladderLoop(rs, ready)), ...this.#rs.filter((rs) => rs.keeper).map((rs) => this.#leaseLoop(rs, ready)));
  }

  /**
   * One step for a cron job or an alarm: capture, upload to every replica (failing ones only when
   * their backoff has passed), delete local files every replica holds, then the due ladder jobs.
   * Replica failures are reported in status() and "error" events; rejects only when the startup
   * (an adoption) or the capture fails, or the replicator is closed.
   */
  async tick(): Promise<void> {
    this.#checkOpen();
    await this.#ensureStartup();
    await Promise.all(this.#rs.map((rs) => this.#leases.renew(rs)));
    await this.#capture();
    await Promise.all(this.#rs.map((rs) => this.#pump(rs)));
    await this.#pruneLocal();
    await Promise.all(this.#rs.map((rs) => this.#ladderStep(rs)));
  }

  /**
   * Captures what is committed, then resolves with the local TXID once every replica holds it.
   * A failing replica is retried with backoff for up to `syncTimeout`; then sync() rejects with its
   * last error (the files stay queued and the background loops keep retrying). An error no retry
   * can cure (a local L0 file missing or malformed) rejects after the first attempt, and a stopped
   * replica (REPLICA_MISMATCH) at once. `timeout` overrides the `syncTimeout` option for this call.
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
      const err = rs.fatal ?? rs.lastError ?? rs.keeper?.lastError;
      if (err) s.lastError = err;
      const k = rs.keeper;
      if (k) {
        s.lease = { held: k.held, owner: k.leaser.owner };
        if (k.view.owner !== undefined) s.lease.holder = k.view.owner;
        if (k.view.generation !== undefined) s.lease.generation = k.view.generation;
        if (k.view.expiresAt !== undefined) s.lease.expiresAt = k.view.expiresAt;
      }
      if (rs.lastUploadAt !== undefined) s.lastUploadAt = rs.lastUploadAt;
      return s;
    });
    const min = this.#minRemote();
    const oldest = min === undefined ? undefined : this.#captures.find((c) => c.txid > min);
    const out: ReplicatorStatus = { localTXID: this.#localPos, replicas, lagMs: oldest ? Math.max(0, now - oldest.at) : 0 };
    const err = this.#sourceError ?? replicas.find((r) => r.lastError)?.lastError;
    if (err) out.lastError = err;
    return out;
  }

  /** Adds a listener for a ReplicatorEvent. */
  override addEventListener<T extends ReplicatorEventType>(type: T, listener: ((e: ReplicatorEvent<T>) => void) | EventListenerObject | null, options?: AddEventListenerOptions | boolean): void {
    if (listener) this.#listened.add(type);
    super.addEventListener(type, listener as EventListener, options);
  }

  /**
   * Uploads what is left (bounded by `shutdownTimeout`), stops every loop and closes the source.
   * Rejects with the flush error when something could not be uploaded in time; everything is
   * stopped either way.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /**
   * Watches the source for one change (eventDriven): the first notification wakes the capture and
   * stops the watch until the next capture begins, which watches again before it reads. The
   * notifications in between would only repeat it, and an application in a burst writes its WAL
   * tens of thousands of times a second, each a callback on this thread.
   */
  #armWatch(): void {
    if (!this.#o.eventDriven || !this.source.watch || this.#unwatch || this.#closed) return;
    let fired = false;
    let stop: (() => void) | undefined;
    stop = this.source.watch(() => {
      if (fired) return;
      fired = true;
      this.#changed = true;
      this.#wakeCapture.notify();
      if (stop && this.#unwatch === stop) this.#unwatch = undefined;
      stop?.();
    });
    if (fired) stop();
    else this.#unwatch = stop;
  }

  async #close(): Promise<void> {
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
    await Promise.all(this.#rs.map((rs) => this.#leases.release(rs)));
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
    // No event object nor dispatch for a type nobody ever listened to (sync and upload fire per sync).
    if (!this.#listened.has(type)) return;
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
  async #drain(rs: Uploader, target: bigint, deadline: number, interval?: number): Promise<void> {
    const giveUp = () => (rs.lastError ?? new LtxError("TIMEOUT", "replica not reachable")).wrap(`sync: ${rs.replica.url} still failing after ${rs.failures} attempts`);
    try {
      await this.#drainLoop(rs, target, deadline, giveUp, interval);
    } catch (e) {
      // Stopped by close()'s deadline: report why the replica could not be reached.
      if (isLtxError(e, "ABORTED") && this.#kill.signal.aborted && rs.lastError) throw giveUp();
      throw e;
    }
  }

  async #drainLoop(rs: Uploader, target: bigint, deadline: number, giveUp: () => LtxError, interval?: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (rs.fatal) throw rs.fatal;
      if (rs.pos !== undefined && rs.pos >= target) return;
      // Retrying cannot fix a missing or malformed local file: say so now (the loops keep trying).
      if (attempt > 0 && rs.lastError && !TRANSIENT.has(rs.lastError.code)) throw giveUp();
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
    await this.#leases.acquire();
    const r = await recoverPositions(this.source, this.#rs, (rs, localPos) => {
      this.#localPos = localPos; // the pump uploads up to it and checks continuation against it
      return this.#pump(rs, true);
    }, this.#kill.signal);
    this.#localPos = r.localPos;
    this.#localLow = r.localLow;
    if (r.adopted) this.#captures = [];
  }

  // ---- capture

  /** Captures (serialized); with `strict`, a source failure rejects, else it is recorded and backs off. */
  async #capture(strict = true): Promise<bigint> {
    while (this.#captureLane) await this.#captureLane.catch(() => {});
    const run = (async () => {
      const prev = this.#localPos;
      // Each file the source reports durable is uploaded at once: a sync that checkpoints writes
      // more files and runs the checkpoint before it resolves. The source may wait for that
      // upload pass (a replica in backoff is skipped, a failure ends it) before it checkpoints.
      const written = (txid: bigint): Promise<void> | undefined => {
        if (txid <= this.#localPos) return;
        this.#localPos = txid;
        this.#captures.push({ txid, at: this.#clock.now() });
        this.#wakeUpload.notify();
        return Promise.all(this.#rs.map((rs) => this.#pump(rs))).then(() => {});
      };
      let pos: bigint;
      try {
        pos = await this.source.sync(written);
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
      if (pos > this.#localPos) {
        this.#localPos = pos;
        this.#captures.push({ txid: pos, at: this.#clock.now() });
        this.#wakeUpload.notify();
      }
      if (pos > prev) this.#emit("sync", { minTXID: prev + 1n, maxTXID: pos });
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
  #pump(rs: Uploader, atStartup = false, force = false): Promise<void> {
    const run = rs.lane.then(() => this.#pumpNow(rs, atStartup, force));
    rs.lane = run.catch(() => {});
    return rs.lane;
  }

  async #pumpNow(rs: Uploader, atStartup: boolean, force: boolean): Promise<void> {
    if (rs.fatal || this.#kill.signal.aborted) return;
    if (!force && this.#clock.now() < rs.retryAt) return;
    try {
      if (rs.pos === undefined) await rs.init(this.source.local, this.#localPos, atStartup, this.#kill.signal);
      while (rs.pos! < this.#localPos && !this.#kill.signal.aborted) {
        const from = rs.pos! + 1n;
        let to = from + BigInt(this.#o.batchSize) - 1n;
        if (to > this.#localPos) to = this.#localPos;
        try {
          for (let t = from; t <= to; t++) {
            const f = await rs.upload(this.source.local, t, this.#rs, this.#kill.signal);
            rs.cache.add(f);
            rs.pos = t;
            rs.lastUploadAt = this.#clock.now();
          }
        } finally {
          if (rs.pos! >= from) this.#emit("upload", { url: rs.replica.url, minTXID: from, maxTXID: rs.pos! });
        }
      }
      rs.failures = 0;
      rs.retryAt = 0;
      delete rs.lastError;
    } catch (e) {
      const err = isLtxError(e) ? e : wrapError(e, `upload to ${rs.replica.url}`, "STORE_ERROR");
      if (err.code === "REPLICA_MISMATCH") rs.fatal = err;
      if (err.code === "LEASE_LOST") return this.#leases.lost(rs, err);
      rs.lastError = err;
      rs.failures++;
      rs.retryAt = this.#clock.now() + this.#delay(rs.failures);
      this.#emit("error", { url: rs.replica.url, error: err });
    }
  }

  /** The lowest position of the replicas not stopped (unknown positions count as 0); undefined when none is left. */
  #minRemote(): bigint | undefined {
    let min: bigint | undefined;
    for (const rs of this.#rs) {
      if (rs.fatal) continue;
      const p = rs.pos ?? 0n;
      if (min === undefined || p < min) min = p;
    }
    return min;
  }

  /**
   * The lowest local L0 TXID a live replica may still read: its position (the next upload follows
   * it), or, where the replica compacts into level 1, the first TXID its level 1 does not cover yet
   * (that compaction reads the local copies), at most MAX_KEPT_FOR_COMPACTION files back.
   */
  #keepFrom(rs: Uploader): bigint {
    const pos = rs.pos ?? 0n;
    if (rs.ladder.config.levels.length === 0 || !rs.cache.has(1)) return pos;
    const l1 = (rs.cache.last(1)?.maxTXID ?? 0n) + 1n;
    const floor = pos - MAX_KEPT_FOR_COMPACTION;
    return l1 < pos ? (l1 > floor ? l1 : floor) : pos;
  }

  /** Deletes local L0 files every live replica holds and has compacted into level 1, keeping the newest one. */
  async #pruneLocal(): Promise<void> {
    const min = this.#minRemote();
    this.#captures = min === undefined ? [] : this.#captures.filter((c) => c.txid > min);
    if (min === undefined) return; // every replica stopped: keep the local chain as it is
    let keep = min;
    for (const rs of this.#rs) {
      const k = rs.fatal ? keep : this.#keepFrom(rs);
      if (k < keep) keep = k;
    }
    const upto = keep < this.#localPos ? keep : this.#localPos; // keep `upto` itself
    if (this.#localLow >= upto) return;
    const local = this.source.local;
    try {
      // A long range (after an adoption, say) holds mostly absent files: list what is there instead.
      const keys =
        upto - this.#localLow > 4096n
          ? (await listLevel(local, 0, { signal: this.#kill.signal })).filter((f) => f.maxTXID < upto).map((f) => f.key)
          : Array.from({ length: Number(upto - this.#localLow) }, (_, i) => local.layout.key(0, this.#localLow + BigInt(i), this.#localLow + BigInt(i)));
      for (let i = 0; i < keys.length; i += 1000) await this.source.local.store.delete(keys.slice(i, i + 1000));
      this.#localLow = upto;
    } catch (e) {
      this.#emit("error", { error: isLtxError(e) ? e : wrapError(e, "delete local L0 files", "IO_ERROR") });
    }
  }

  // ---- ladder

  #ladderStep(rs: Uploader): Promise<void> {
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
        if (err.code === "ABORTED" && this.#kill.signal.aborted) return; // stopped by close(): the next start redoes it
        if (err.code === "LEASE_LOST") return this.#leases.lost(rs, err);
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

  /** Runs the startup, trying again with backoff while it fails; false once stopped. */
  async #startupDone(): Promise<boolean> {
    for (let failures = 1; ; failures++) {
      try {
        await this.#ensureStartup();
        return true;
      } catch (e) {
        if (isLtxError(e, "LEASE_HELD")) {
          // A standby: try again just after the holder's lease would expire (at most one TTL on).
          failures = 0;
          if (!(await this.#wait((this.#leases.retryAt ?? 0) - this.#clock.now()))) return false;
          continue;
        }
        this.#emit("error", { error: isLtxError(e) ? e : wrapError(e, "startup", "STORE_ERROR") });
        if (!(await this.#wait(this.#delay(failures)))) return false;
      }
    }
  }

  /** True while a live replica has not yet received everything captured (or its position is unknown). */
  #uploadPending(): boolean {
    return this.#rs.some((rs) => !rs.fatal && (rs.pos === undefined || rs.pos < this.#localPos));
  }

  /**
   * Captures every monitorInterval. A change the source reports (eventDriven) is captured once
   * eventInterval has passed since the last capture and the replicas hold everything captured so
   * far; while an upload is in flight it waits for that upload to end (the upload loop wakes it),
   * so the commits of that time go into one L0 file and one PUT instead of a file each queued
   * behind the upload.
   */
  async #captureLoop(ready: Promise<boolean>): Promise<void> {
    if (!(await ready)) return;
    let last = -Infinity;
    while (!this.#stop.signal.aborted) {
      const since = this.#clock.now() - last;
      if (this.#clock.now() >= this.#sourceRetryAt && (since >= this.#o.monitorInterval || (!this.#uploadPending() && since >= this.#o.eventInterval))) {
        this.#changed = false;
        this.#armWatch();
        await this.#capture(false);
        last = this.#clock.now();
      }
      const after = this.#clock.now() - last;
      let wait = this.#sourceRetryAt > 0 ? this.#sourceRetryAt - this.#clock.now() : this.#o.monitorInterval - after;
      // A change that came before eventInterval was up is captured when it is (one after it, when
      // the upload in flight ends: the upload loop wakes this one).
      const due = this.#o.eventInterval - after;
      if (this.#changed && this.#sourceRetryAt === 0 && due > 0 && due < wait) wait = due;
      if (!(await this.#wait(wait, this.#wakeCapture))) return;
    }
  }

  async #uploadLoop(ready: Promise<boolean>): Promise<void> {
    if (!(await ready)) return;
    while (!this.#stop.signal.aborted) {
      await Promise.all(this.#rs.map((rs) => this.#pump(rs)));
      // A change that waited for this upload is captured now.
      if (this.#changed && !this.#uploadPending()) this.#wakeCapture.notify();
      await this.#pruneLocal();
      const now = this.#clock.now();
      let wait = this.#o.syncInterval;
      for (const rs of this.#rs) if (!rs.fatal && rs.retryAt > now) wait = Math.min(wait, rs.retryAt - now);
      if (!(await this.#wait(wait, this.#wakeUpload))) return;
    }
  }

  async #leaseLoop(rs: Uploader, ready: Promise<boolean>): Promise<void> {
    if (!(await ready)) return;
    const k = rs.keeper!;
    while (!this.#stop.signal.aborted && !k.lost) {
      await this.#leases.renew(rs);
      if (!(await this.#wait(this.#leases.nextWait(rs)))) return;
    }
  }

  async #ladderLoop(rs: Uploader, ready: Promise<boolean>): Promise<void> {
    if (!(await ready)) return;
    // A stopped replica (LEASE_LOST, REPLICA_MISMATCH) has no more ladder jobs: its due times stay in the past.
    while (!this.#stop.signal.aborted && !rs.fatal) {
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
