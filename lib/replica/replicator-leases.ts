/**
 * The lease side of a Replicator (ReplicatorOptions.lease): every replica's lock.json lease is
 * acquired before the startup reads positions (all or none: a writer never holds some while it
 * waits for another), renewed while something is to be written, left to lapse while idle, and
 * released by close(). A lost lease stops its replica. The Replicator owns the loops and the
 * events; this module decides what each lease step does.
 */
import { LtxError, isLtxError, wrapError } from "../errors.ts";
import type { Clock } from "./clock.ts";
import { LeaseKeeper, fencedReplica } from "./lease-keeper.ts";
import type { Replica } from "./replica.ts";
import type { ReplicatorEventDetail, ReplicatorEventType, ReplicatorLeaseOptions } from "./replicator-types.ts";
import type { CompactionConfig } from "./schedule.ts";
import { Uploader } from "./uploader.ts";

/** What the lease steps need of their Replicator. */
export interface LeaseHost {
  readonly clock: Clock;
  /** Aborts lease requests in flight (close() past its deadline). */
  readonly signal: AbortSignal;
  emit<T extends ReplicatorEventType>(type: T, detail: ReplicatorEventDetail[T]): void;
  /** The newest TXID captured locally. */
  localPos(): bigint;
}

type LeaseState = ReplicatorEventDetail["lease"]["state"];

export class ReplicaLeases {
  readonly #host: LeaseHost;
  readonly #options: ReplicatorLeaseOptions | undefined;
  /** Renew while idle too (ReplicatorLeaseOptions.keepAlive). */
  readonly #keepAlive: boolean;
  #rs: readonly Uploader[] = [];
  /** The holder each waiting replica last reported, so "waiting" fires once per holder. */
  #waitingFor = new WeakMap<Uploader, string>();
  /** The last LEASE_HELD of a standby and when to try again. */
  #held: { error: LtxError; retryAt: number } | undefined;

  /** `options`: the Replicator's `lease` option; none (or false) makes uploaders without leases. */
  constructor(host: LeaseHost, options: ReplicatorLeaseOptions | boolean | undefined) {
    this.#host = host;
    this.#options = options === true ? {} : options || undefined;
    this.#keepAlive = this.#options?.keepAlive === true;
  }

  /** The uploader of `replica`: with a lease, its writes are fenced by a keeper of its lock. */
  uploader(replica: Replica, config: CompactionConfig): Uploader {
    const lease = this.#options;
    if (!lease) return new Uploader(replica, config);
    let rs: Uploader | undefined;
    const opts = { ...(lease.ttl !== undefined ? { ttl: lease.ttl } : {}), ...(lease.owner !== undefined ? { owner: lease.owner } : {}), clock: this.#host.clock };
    const keeper = new LeaseKeeper(replica, opts, { lost: (e) => this.lost(rs!, e), renewed: () => this.#emitState(rs!, "renewed") });
    rs = new Uploader(fencedReplica(replica, keeper), config);
    rs.keeper = keeper;
    return rs;
  }

  /** The replicas whose leases these are (set once, after the uploaders are made). */
  set replicas(rs: readonly Uploader[]) {
    this.#rs = rs;
  }

  /** When a standby (the last startup met LEASE_HELD) tries again; undefined when not waiting. */
  get retryAt(): number | undefined {
    return this.#held?.retryAt;
  }

  /**
   * The startup's lease step: acquires every replica's lease (or renews one already held). A
   * standby answers with its last LEASE_HELD until its next try, without asking the store.
   */
  async acquire(): Promise<void> {
    const now = this.#host.clock.now();
    if (this.#held && now < this.#held.retryAt) throw this.#held.error;
    try {
      await this.#acquireAll();
      this.#held = undefined;
    } catch (e) {
      if (isLtxError(e, "LEASE_HELD")) this.#held = { error: e, retryAt: this.#host.clock.now() + this.#retryWait(e) };
      throw e;
    }
  }

  /** Acquires every lease; on LEASE_HELD, lets go of those just taken and rethrows. */
  async #acquireAll(): Promise<void> {
    const ks = this.#rs.filter((rs) => rs.keeper && !rs.fatal);
    if (!ks.length) return;
    const taken: Uploader[] = [];
    const results = await Promise.allSettled(
      ks.map(async (rs) => {
        const k = rs.keeper!;
        if (k.lease) {
          const lost = await k.renew(this.#host.signal);
          if (lost) throw lost;
          return;
        }
        try {
          await k.acquire(this.#host.signal);
        } catch (e) {
          // A store that ignores conditional writes cannot carry a lease: stop that replica for good.
          if (!isLtxError(e, "UNSUPPORTED")) throw e;
          rs.fatal = rs.lastError = e;
          this.#host.emit("error", { url: rs.replica.url, error: e });
          return;
        }
        taken.push(rs);
        this.#emitState(rs, "acquired");
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (!failed) return;
    const err = isLtxError(failed.reason) ? failed.reason : wrapError(failed.reason, "acquire lease", "STORE_ERROR");
    if (err.code === "LEASE_HELD") {
      // Holding some leases while waiting for another could deadlock two writers.
      for (const rs of taken) await this.release(rs);
      for (const rs of ks) {
        const k = rs.keeper!;
        const key = k.view.owner ?? "";
        if (!k.lease && this.#waitingFor.get(rs) !== key) {
          this.#waitingFor.set(rs, key);
          this.#emitState(rs, "waiting");
        }
      }
    }
    throw err;
  }

  /**
   * How long a standby waits before it tries again: until just after the holder's expiry, and at
   * most a sixth of the TTL (so a released lease is picked up soon).
   */
  #retryWait(e: LtxError): number {
    const ttl = this.#rs.find((rs) => rs.keeper)?.keeper?.ttl ?? 30_000;
    const at = typeof e.details?.expiresAt === "string" ? Date.parse(e.details.expiresAt) : NaN;
    const until = Number.isFinite(at) ? at - this.#host.clock.now() : ttl / 6;
    return Math.min(ttl / 6, Math.max(ttl / 100, until + 10 + Math.random() * 40));
  }

  /** Renews the lease on `rs` when due and something is to be written; else lets it rest (dormant). */
  async renew(rs: Uploader): Promise<void> {
    const k = rs.keeper;
    if (!k || k.lost || !k.lease || rs.fatal) return;
    if (!this.#wanted(rs)) return k.rest();
    await k.renew(this.#host.signal);
  }

  /** How long the lease loop of `rs` sleeps after a renew step. */
  nextWait(rs: Uploader): number {
    const k = rs.keeper!;
    const now = this.#host.clock.now();
    // Dormant (nothing to write, renewal past due): look again in a while; a write re-takes the lease itself.
    return k.lastError && this.#wanted(rs) ? Math.min(1000, k.ttl / 10) : k.renewDue > now ? k.renewDue - now : k.ttl / 6;
  }

  /** Whether the lease on `rs` is to be kept renewed: keepAlive, an upload pending or a write in flight. */
  #wanted(rs: Uploader): boolean {
    return this.#keepAlive || rs.pos === undefined || rs.pos < this.#host.localPos() || (rs.keeper?.writing ?? 0) > 0;
  }

  /** The lease on `rs` is lost: stop the replica and say who holds it now. */
  lost(rs: Uploader, e: LtxError): void {
    if (rs.fatal) return;
    const err = rs.keeper?.lost ?? e;
    rs.fatal = err;
    rs.lastError = err;
    this.#host.emit("error", { url: rs.replica.url, error: err });
    this.#emitState(rs, "lost", err);
  }

  /** Releases the lease on `rs` if held; a failure is an "error" event, not a rejection. */
  async release(rs: Uploader): Promise<void> {
    const k = rs.keeper;
    if (!k?.held) return;
    try {
      await k.release();
      this.#emitState(rs, "released");
    } catch (e) {
      this.#host.emit("error", { url: rs.replica.url, error: isLtxError(e) ? e : wrapError(e, "release lease", "STORE_ERROR") });
    }
  }

  #emitState(rs: Uploader, state: LeaseState, error?: LtxError): void {
    const k = rs.keeper!;
    const d: ReplicatorEventDetail["lease"] = { url: rs.replica.url, state, owner: k.leaser.owner };
    if (k.view.owner !== undefined) d.holder = k.view.owner;
    if (k.view.generation !== undefined) d.generation = k.view.generation;
    if (k.view.expiresAt !== undefined) d.expiresAt = k.view.expiresAt;
    if (error) d.error = error;
    this.#host.emit("lease", d);
  }
}
