/**
 * The Replicator's side of a lease on one replica: acquisition (after the conditional-write probe),
 * renewal every TTL/3 while there is something to write, the check before every write, and
 * release. Writes to the replica go through `fencedReplica`, whose store refuses a put or delete
 * unless the lease is held with time to spare, and aborts a request still running when the lease
 * expires by the local clock.
 *
 * The local expiry is the clock time *before* the acquiring or renewing PUT plus the TTL: never later
 * than the `expires_at` the lock says, so this writer stops no later than any other writer may start.
 *
 * Dormant lease: while nothing is to be written the lease is not renewed (`rest()`), so an idle
 * database makes no requests; it lapses. The next write first re-takes it with a PUT conditional on
 * the ETag of the lock this writer last wrote: that succeeds only when no other writer has written
 * lock.json since (so none can have held the lease), else it is LEASE_LOST and nothing is written.
 * A lock that is gone is LEASE_LOST too (a writer that took it and released it may have written).
 * A lease whose renewals kept failing up to its expiry (cut off from the store while there was work)
 * is lost for good, as is one whose renewal or re-take met another writer's lock.
 */
import { LtxError, isLtxError } from "../errors.ts";
import type { BlobStore, DeleteOptions, PutBody, PutOptions } from "../store/blob-store.ts";
import type { Clock } from "./clock.ts";
import { fileLayout } from "./layout.ts";
import { LOCK_OBJECT, Leaser, probeConditionalWrites, type Lease } from "./lease.ts";
import type { Replica } from "./replica.ts";

/** The key of a replica's lock object: `lock.json` in a file or memory replica's directory, `<prefix>/lock.json` on S3. */
export function lockKey(replica: Replica): string {
  return replica.layout === fileLayout ? LOCK_OBJECT : replica.layout.root + LOCK_OBJECT;
}

/** What is known of a lock: ours while held, the other writer's while waiting or after a loss. */
export interface LockView {
  owner?: string;
  generation?: number;
  expiresAt?: string;
}

/** What the keeper tells its owner: the lease was lost (for good), or renewed / re-taken. */
export interface LeaseHooks {
  lost(e: LtxError): void;
  renewed?(): void;
}

/** One replica's lease as the Replicator keeps it. */
export class LeaseKeeper {
  readonly leaser: Leaser;
  readonly replica: Replica;
  lease: Lease | undefined;
  /** Local expiry (clock ms); 0 while not held. */
  expiresAt = 0;
  /** When the last renewal (or the acquisition) started (clock ms). */
  renewedAt = 0;
  /** Set once the lease is lost; the replica is stopped then. */
  lost: LtxError | undefined;
  /** The lock as last seen (ours when held). */
  view: LockView = {};
  /** The last renewal failure that did not lose the lease (a network error). */
  lastError: LtxError | undefined;
  /** Guarded writes in flight. */
  writing = 0;
  /** A renewal failed while the lease was valid and none succeeded since: its expiry loses the lease. */
  #failing = false;
  #lane: Promise<void> = Promise.resolve();
  #hooks: LeaseHooks;

  constructor(replica: Replica, options: { ttl?: number; owner?: string; clock: Clock }, hooks: LeaseHooks | ((e: LtxError) => void)) {
    this.replica = replica;
    this.leaser = new Leaser(replica.store, { ...options, key: lockKey(replica) });
    this.#hooks = typeof hooks === "function" ? { lost: hooks } : hooks;
  }

  get clock(): Clock {
    return this.leaser.clock;
  }
  get ttl(): number {
    return this.leaser.ttl;
  }
  /** Writes need this much time left on the lease. */
  get margin(): number {
    return this.ttl / 6;
  }
  /** True while the lease is ours and has not expired by the local clock (a dormant lease that lapsed is not held). */
  get held(): boolean {
    return this.lease !== undefined && !this.lost && this.clock.now() < this.expiresAt;
  }
  /** True when the lease lapsed unrenewed (dormant): the next write re-takes it if the lock is still the one this writer wrote. */
  get lapsed(): boolean {
    return this.lease !== undefined && !this.lost && this.clock.now() >= this.expiresAt;
  }
  /** When the next renewal is due (clock ms). */
  get renewDue(): number {
    return this.renewedAt + this.ttl / 3;
  }

  /** Probes the store once, then takes the lease. LEASE_HELD when another writer has it. */
  async acquire(signal?: AbortSignal): Promise<Lease> {
    if (this.lost) throw this.lost;
    if (this.lease) return this.lease;
    const dir = lockKey(this.replica).slice(0, -LOCK_OBJECT.length);
    await probeConditionalWrites(this.replica.store, dir, signal);
    const t0 = this.clock.now();
    try {
      const l = await this.leaser.acquire(signal);
      this.lease = l;
      this.renewedAt = t0;
      this.expiresAt = t0 + this.ttl;
      this.view = { owner: l.owner ?? this.leaser.owner, generation: l.generation, expiresAt: l.expiresAt };
      return l;
    } catch (e) {
      if (isLtxError(e, "LEASE_HELD")) this.view = viewOf(e);
      throw e;
    }
  }

  /** Serialized with the other lease operations. */
  #serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#lane.then(f);
    this.#lane = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /**
   * Nothing is to be written: renewals stop and the lease may lapse (dormant). Failed renewals
   * before it no longer count against it: the next write re-takes it or finds it lost.
   */
  rest(): void {
    if (this.writing === 0) this.#failing = false;
  }

  /**
   * Renews the lease (when `force`, or when due); a lapsed (dormant) lease is re-taken with a PUT
   * conditional on the ETag of our last lock. A lock that is no longer ours, or an expiry after
   * renewals that kept failing, loses the lease: the `lost` hook runs and the LEASE_LOST error is
   * returned. A network failure is kept in `lastError` and tried again by the next call.
   */
  renew(signal?: AbortSignal, force = false): Promise<LtxError | undefined> {
    return this.#serial(async () => {
      if (this.lost) return this.lost;
      if (!this.lease) return undefined;
      const t0 = this.clock.now();
      if (!force && t0 < this.renewDue) return undefined;
      const lapsed = t0 >= this.expiresAt;
      if (lapsed && this.#failing) return this.#lose(await this.leaser.lost(signal, `lease expired at ${new Date(this.expiresAt).toISOString()} while its renewal failed (${this.lastError?.message ?? "unknown error"})`));
      try {
        const l = await this.leaser.renew(this.lease, signal);
        // The PUT was conditional on our last lock: no other writer wrote lock.json since, so none
        // held the lease, even if this renewal ended past the old expiry (writes were fenced then).
        this.lease = l;
        this.renewedAt = t0;
        this.expiresAt = t0 + this.ttl;
        this.view = { owner: l.owner ?? this.leaser.owner, generation: l.generation, expiresAt: l.expiresAt };
        this.lastError = undefined;
        this.#failing = false;
        this.#hooks.renewed?.();
        return undefined;
      } catch (e) {
        if (isLtxError(e, "LEASE_LOST")) return this.#lose(e);
        this.lastError = isLtxError(e) ? e : new LtxError("STORE_ERROR", `renew lease: ${(e as Error)?.message ?? String(e)}`, { cause: e });
        if (lapsed) {
          // Some stores answer a conditional PUT on a missing key with 404: the lock is gone.
          const gone = await this.leaser.store.head(this.leaser.key, { signal }).then((h) => h === null, () => false);
          if (gone) return this.#lose(await this.leaser.lost(signal, "lock.json is gone: another writer may have held the lease while it was dormant"));
          return undefined; // a dormant lease: tried again by the next write
        }
        this.#failing = true;
        if (this.clock.now() >= this.expiresAt) return this.#lose(await this.leaser.lost(signal, `lease expired while renewal failed (${this.lastError.message})`));
        return undefined;
      }
    });
  }

  #lose(e: LtxError): LtxError {
    if (this.lost) return this.lost;
    this.lost = e;
    this.view = viewOf(e);
    this.#hooks.lost(e);
    return e;
  }

  /**
   * Before a write: passes when the lease has more than `margin` left, renewing first when it has
   * less and re-taking it when it lapsed (dormant), and starting a renewal beside the write when one
   * is due. Returns a signal that aborts when the lease expires locally (or is lost) before the
   * write is done, and a function to call once it is done. Throws LEASE_LOST, or the renewal's
   * error when it could not be renewed.
   */
  async guard(signal?: AbortSignal): Promise<{ signal: AbortSignal; done: () => void }> {
    if (this.lost) throw this.lost;
    if (!this.lease) throw new LtxError("LEASE_LOST", `lease ${JSON.stringify(this.leaser.key)} not held: nothing is written before it is acquired`);
    if (this.clock.now() + this.margin >= this.expiresAt) {
      const lost = await this.renew(signal, true);
      if (lost) throw lost;
      if (this.clock.now() + this.margin >= this.expiresAt) throw this.lastError ?? new LtxError("TIMEOUT", `lease ${JSON.stringify(this.leaser.key)} could not be renewed`);
    } else if (this.clock.now() >= this.renewDue) {
      void this.renew().catch(() => {});
    }
    this.writing++;
    const ctl = new AbortController();
    const timer = new AbortController();
    const onAbort = () => ctl.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) ctl.abort(signal.reason);
    // The deadline follows renewals made while the write runs.
    void (async () => {
      for (let left; !this.lost && (left = this.expiresAt - this.clock.now()) > 0; ) await this.clock.sleep(left, timer.signal);
    })().then(
      () => ctl.abort(this.lost ?? new LtxError("LEASE_LOST", `lease ${JSON.stringify(this.leaser.key)} expired during a write`)),
      () => {},
    );
    let finished = false;
    return {
      signal: ctl.signal,
      done: () => {
        if (finished) return;
        finished = true;
        this.writing--;
        timer.abort();
        signal?.removeEventListener("abort", onAbort);
      },
    };
  }

  /**
   * Throws LEASE_LOST when the lease has expired by the clock (or was lost): the synchronous check a
   * fenced write makes right before it becomes visible.
   */
  check(): void {
    if (this.lost) throw this.lost;
    if (this.clock.now() >= this.expiresAt) throw new LtxError("LEASE_LOST", `lease ${JSON.stringify(this.leaser.key)} expired before a write could land`);
  }

  /**
   * Deletes the lock if it is still ours (close()). Close to its expiry the lock is left to expire:
   * some servers (Ceph RGW) ignore If-Match on DELETE, so the store's check before the delete is
   * all that keeps it from removing a successor's lock, and that check is only sound while the
   * lease cannot have passed to anyone. A lapsed (dormant) lease is left as it is.
   */
  release(signal?: AbortSignal): Promise<boolean> {
    return this.#serial(async () => {
      if (!this.lease || this.lost) return false;
      const l = this.lease;
      const soon = this.clock.now() + this.margin >= this.expiresAt;
      this.lease = undefined;
      this.expiresAt = 0;
      this.view = {};
      if (soon) return false;
      return this.leaser.release(l, signal);
    });
  }
}

function viewOf(e: LtxError): LockView {
  const d = e.details ?? {};
  const v: LockView = {};
  if (typeof d.owner === "string") v.owner = d.owner;
  if (typeof d.generation === "number") v.generation = d.generation;
  if (typeof d.expiresAt === "string") v.expiresAt = d.expiresAt;
  return v;
}

/** A BlobStore whose puts and deletes pass `keeper.guard()` first; reads go straight through. */
class FencedStore implements BlobStore {
  readonly kind: string;
  readonly #inner: BlobStore;
  readonly #keeper: LeaseKeeper;
  constructor(inner: BlobStore, keeper: LeaseKeeper) {
    this.kind = inner.kind;
    this.#inner = inner;
    this.#keeper = keeper;
  }
  get = (...a: Parameters<BlobStore["get"]>) => this.#inner.get(...a);
  getStream = (...a: Parameters<BlobStore["getStream"]>) => this.#inner.getStream(...a);
  list = (...a: Parameters<BlobStore["list"]>) => this.#inner.list(...a);
  head = (...a: Parameters<BlobStore["head"]>) => this.#inner.head(...a);
  async put(key: string, body: PutBody, opts: PutOptions = {}): Promise<{ etag: string; size: number }> {
    return this.#fenced(opts, (fence) => this.#inner.put(key, body, { ...opts, ...fence }));
  }
  async delete(keys: readonly string[], opts: DeleteOptions = {}): Promise<void> {
    return this.#fenced(opts, (fence) => this.#inner.delete(keys, { ...opts, ...fence }));
  }
  /**
   * Runs `f` under `keeper.guard()`: with its signal, and a `beforeCommit` that reads the lease clock
   * itself, so a write whose expiry timer has not fired yet still cannot land after the expiry.
   */
  async #fenced<T>(
    opts: { signal?: AbortSignal; beforeCommit?: () => void },
    f: (fence: { signal: AbortSignal; beforeCommit: () => void }) => Promise<T>,
  ): Promise<T> {
    const outer = opts.signal;
    const g = await this.#keeper.guard(outer);
    const keeper = this.#keeper;
    const beforeCommit = () => {
      keeper.check();
      opts.beforeCommit?.();
    };
    try {
      return await f({ signal: g.signal, beforeCommit });
    } catch (e) {
      const r: unknown = g.signal.aborted ? g.signal.reason : e;
      if (isLtxError(r, "LEASE_LOST") && !outer?.aborted) {
        // Stopped at the local expiry (the timer's abort or the check before the commit): lost if
        // the lock is no longer ours, else a failure to retry (the next write re-takes the lease).
        g.done();
        if (this.#keeper.lost) throw this.#keeper.lost;
        throw (await this.#keeper.renew(undefined, true)) ?? this.#keeper.lost ?? new LtxError("TIMEOUT", `${r.message}; the write did not land and is tried again`, { cause: e });
      }
      throw e;
    } finally {
      g.done();
    }
  }
}

/** The replica with its store fenced by the keeper's lease. */
export function fencedReplica(replica: Replica, keeper: LeaseKeeper): Replica {
  return { ...replica, store: new FencedStore(replica.store, keeper) };
}
