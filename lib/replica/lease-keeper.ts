/**
 * The Replicator's side of a lease on one replica: acquisition (after the conditional-write probe),
 * renewal every TTL/3, the check before every write, and release. Writes to the replica go through
 * `fencedReplica`, whose store refuses a put or delete unless the lease is held with time to spare,
 * and aborts a request still running when the lease expires by the local clock.
 *
 * The local expiry is the clock time *before* the acquiring or renewing PUT plus the TTL: never later
 * than the `expires_at` the lock says, so this writer stops no later than any other writer may start.
 * A lease that expired locally is lost for good (a paused process wakes up, finds it expired and
 * writes nothing more); so is one whose renewal met another writer's lock.
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
  #lane: Promise<void> = Promise.resolve();
  #onLost: (e: LtxError) => void;

  constructor(replica: Replica, options: { ttl?: number; owner?: string; clock: Clock }, onLost: (e: LtxError) => void) {
    this.replica = replica;
    this.leaser = new Leaser(replica.store, { ...options, key: lockKey(replica) });
    this.#onLost = onLost;
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
  get held(): boolean {
    return this.lease !== undefined && !this.lost;
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
   * Renews the lease (when `force`, or when due). An expired lease, or a lock that is no longer ours,
   * is lost: `onLost` runs and the LEASE_LOST error is returned. A network failure is kept in
   * `lastError` and tried again by the next call.
   */
  renew(signal?: AbortSignal, force = false): Promise<LtxError | undefined> {
    return this.#serial(async () => {
      if (this.lost) return this.lost;
      if (!this.lease) return undefined;
      const t0 = this.clock.now();
      if (!force && t0 < this.renewDue) return undefined;
      if (t0 >= this.expiresAt) return this.#lose(await this.leaser.lost(signal, `lease expired at ${new Date(this.expiresAt).toISOString()} before it could be renewed`));
      try {
        const l = await this.leaser.renew(this.lease, signal);
        // A renewal that took past the expiry does not count: another writer may have started.
        if (this.clock.now() >= this.expiresAt) return this.#lose(await this.leaser.lost(signal, "lease expired while its renewal was in flight"));
        this.lease = l;
        this.renewedAt = t0;
        this.expiresAt = t0 + this.ttl;
        this.view = { owner: l.owner ?? this.leaser.owner, generation: l.generation, expiresAt: l.expiresAt };
        this.lastError = undefined;
        return undefined;
      } catch (e) {
        if (isLtxError(e, "LEASE_LOST")) return this.#lose(e);
        this.lastError = isLtxError(e) ? e : new LtxError("STORE_ERROR", `renew lease: ${(e as Error)?.message ?? String(e)}`, { cause: e });
        if (this.clock.now() >= this.expiresAt) return this.#lose(await this.leaser.lost(signal, `lease expired while renewal failed (${this.lastError.message})`));
        return undefined;
      }
    });
  }

  #lose(e: LtxError): LtxError {
    if (this.lost) return this.lost;
    this.lost = e;
    this.view = viewOf(e);
    this.#onLost(e);
    return e;
  }

  /**
   * Before a write: passes when the lease has more than `margin` left (renewing first when it has
   * less); returns a signal that aborts when the lease expires locally, and a function to call once
   * the write is done. Throws LEASE_LOST otherwise.
   */
  async guard(signal?: AbortSignal): Promise<{ signal: AbortSignal; done: () => void }> {
    if (this.lost) throw this.lost;
    if (!this.lease) throw new LtxError("LEASE_LOST", `lease ${JSON.stringify(this.leaser.key)} not held: nothing is written before it is acquired`);
    if (this.clock.now() >= this.expiresAt) {
      throw (await this.renew(signal)) ?? this.lost ?? new LtxError("LEASE_LOST", `lease ${JSON.stringify(this.leaser.key)} expired`);
    }
    if (this.clock.now() + this.margin >= this.expiresAt) {
      const lost = await this.renew(signal, true);
      if (lost) throw lost;
      if (this.clock.now() + this.margin >= this.expiresAt) throw this.lastError ?? new LtxError("TIMEOUT", `lease ${JSON.stringify(this.leaser.key)} could not be renewed`);
    }
    const ctl = new AbortController();
    const timer = new AbortController();
    const onAbort = () => ctl.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) ctl.abort(signal.reason);
    this.clock.sleep(this.expiresAt - this.clock.now(), timer.signal).then(
      () => ctl.abort(new LtxError("LEASE_LOST", `lease ${JSON.stringify(this.leaser.key)} expired during a write`)),
      () => {},
    );
    return {
      signal: ctl.signal,
      done: () => {
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
   * lease cannot have passed to anyone.
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
      if (isLtxError(r, "LEASE_LOST") && !outer?.aborted) throw (await this.#keeper.renew()) ?? r;
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
