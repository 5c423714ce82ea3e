/**
 * Litestream's lease protocol over a BlobStore (spec: litestream-replica.md §7): one object
 * `<path>/lock.json`, body `{"generation":N,"expires_at":"<RFC 3339 with nanoseconds>","owner":"host:pid"}`
 * exactly as Go's `json.Marshal` of litestream.Lease writes it, so Go's leaser and this one read each
 * other's locks.
 *
 * - Acquire: read the lock (with its ETag); an unexpired one is LEASE_HELD (naming its owner). Else
 *   write generation + 1 (or 1) with `ifNoneMatch: "*"` (no lock) or `ifMatch: <etag>` (an expired
 *   lock); a lost race is LEASE_HELD naming the winner.
 * - Renew: the same generation, a new expiry, `ifMatch: <etag of our lock>`; a precondition failure
 *   is LEASE_LOST.
 * - Release: a delete with `ifMatch`; a missing lock is "already released", a precondition failure
 *   LEASE_LOST.
 * - The protocol is only as safe as the store's conditional writes: `probeConditionalWrites` checks
 *   once per store that If-None-Match and If-Match are enforced, and refuses with UNSUPPORTED when
 *   they are not.
 *
 * @module
 */
import { LtxError, isLtxError } from "../errors.ts";
import type { BlobStore } from "../store/blob-store.ts";
import { systemClock, type Clock } from "./clock.ts";

/** Litestream's DefaultLeaseTTL: 30 s. */
export const DEFAULT_LEASE_TTL = 30_000;

/** The name of the lock object (Litestream's DefaultLeasePath). */
export const LOCK_OBJECT = "lock.json";

/** The largest lock.json read (Go's are under 200 bytes). */
const MAX_LOCK_BYTES = 64 * 1024;

/** The fields of a lock.json object. */
export interface LeaseRecord {
  /** Increments on every acquisition (int64 in Go; a safe integer here). */
  generation: number;
  /** Expiry in nanoseconds since the Unix epoch. */
  expiresAtNs: bigint;
  /** `<hostname>:<pid>` (or `pid-<n>`); absent when empty. */
  owner?: string;
}

/** A lease as read or written: its record plus the ETag of the lock object that holds it. */
export interface Lease extends LeaseRecord {
  /** The ETag of the lock object (as the store reports it). */
  etag: string;
  /** `expires_at` as RFC 3339 text. */
  expiresAt: string;
}

/** Options of a Leaser. Durations are milliseconds. */
export interface LeaseOptions {
  /** How long a lease lasts without renewal (default 30000, Litestream's DefaultLeaseTTL). */
  ttl?: number;
  /** Who holds the lease: `<hostname>:<pid>` by Litestream's convention (default: the runtime adapter's, else a random `ltxkit-<hex>`). */
  owner?: string;
  /** Time source for expiries (default: the system clock). */
  clock?: Clock;
  /** The lock object's key (default `lock.json` at the replica's root). */
  key?: string;
}

// ---------------------------------------------------------------------------------------------
// lock.json bytes

/** Go's time.Time JSON text (RFC 3339 with up to 9 fraction digits, trailing zeros trimmed, UTC "Z"). */
export function formatLeaseTime(ns: bigint): string {
  const sec = ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n);
  const frac = ns - sec * 1_000_000_000n;
  const d = new Date(Number(sec) * 1000);
  const y = d.getUTCFullYear();
  if (!(y >= 0 && y <= 9999)) throw new LtxError("INVALID_ARGUMENT", `lease time out of range: ${ns}ns`);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  let s = `${p(y, 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  if (frac !== 0n) s += "." + frac.toString().padStart(9, "0").replace(/0+$/, "");
  return s + "Z";
}

/** Parses RFC 3339 text (what Go's time.Time JSON accepts) into nanoseconds since the epoch. */
export function parseLeaseTime(s: string): bigint {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/.exec(s);
  const bad = () => new LtxError("INVALID_LEASE", `lock.json: expires_at is not an RFC 3339 time: ${JSON.stringify(s.slice(0, 64))}`);
  if (!m) throw bad();
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const dim = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1]! || h > 23 || mi > 59 || se > 59) throw bad();
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, se, 0);
  let ns = BigInt(date.getTime()) * 1_000_000n + (m[7] ? BigInt(m[7].padEnd(9, "0")) : 0n);
  if (!m[8]) {
    const oh = Number(m[10]), om = Number(m[11]);
    if (oh > 23 || om > 59) throw bad();
    const off = BigInt((oh * 60 + om) * 60) * 1_000_000_000n;
    ns += m[9] === "+" ? -off : off;
  }
  return ns;
}

/** Go's json string encoding: JSON.stringify plus Go's HTML-safe escapes of <, >, & and U+2028/9. */
function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/** The bytes of a lock.json object, exactly as Go's json.Marshal of litestream.Lease writes them. */
export function encodeLease(r: LeaseRecord): Uint8Array {
  if (!Number.isSafeInteger(r.generation)) throw new LtxError("INVALID_ARGUMENT", `lease generation must be a safe integer (got ${r.generation})`);
  let s = `{"generation":${r.generation},"expires_at":${goString(formatLeaseTime(r.expiresAtNs))}`;
  if (r.owner) s += `,"owner":${goString(r.owner)}`;
  return new TextEncoder().encode(s + "}");
}

/**
 * Parses a lock.json object as Go's decoder reads it: unknown fields ignored, a missing generation
 * is 0, a missing or null expires_at is Go's zero time (long expired), a missing owner is empty.
 * @throws {LtxError} INVALID_LEASE for anything Go would refuse (bad JSON, wrong types, a bad time)
 */
export function decodeLease(bytes: Uint8Array): LeaseRecord {
  if (bytes.length > MAX_LOCK_BYTES) throw new LtxError("INVALID_LEASE", `lock.json is ${bytes.length} bytes (at most ${MAX_LOCK_BYTES})`);
  let o: unknown;
  try {
    o = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new LtxError("INVALID_LEASE", `lock.json is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new LtxError("INVALID_LEASE", "lock.json is not a JSON object");
  const rec = o as Record<string, unknown>;
  const g = rec.generation ?? 0;
  if (typeof g !== "number" || !Number.isSafeInteger(g)) throw new LtxError("INVALID_LEASE", `lock.json: generation is not an integer: ${JSON.stringify(g)}`);
  const e = rec.expires_at ?? null;
  if (e !== null && typeof e !== "string") throw new LtxError("INVALID_LEASE", `lock.json: expires_at is not a string`);
  const ow = rec.owner ?? "";
  if (typeof ow !== "string") throw new LtxError("INVALID_LEASE", `lock.json: owner is not a string`);
  const out: LeaseRecord = { generation: g, expiresAtNs: e === null ? ZERO_TIME_NS : parseLeaseTime(e) };
  if (ow) out.owner = ow;
  return out;
}

/** Go's zero time.Time (0001-01-01T00:00:00Z) in nanoseconds since the epoch. */
const ZERO_TIME_NS = -62135596800n * 1_000_000_000n;

/** True when the lease has expired at `nowMs` (Go's `time.Now().After(ExpiresAt)`). */
export function leaseExpired(r: LeaseRecord, nowMs: number): boolean {
  return BigInt(Math.floor(nowMs)) * 1_000_000n > r.expiresAtNs;
}

function toLease(r: LeaseRecord, etag: string): Lease {
  return { ...r, etag, expiresAt: formatLeaseTime(r.expiresAtNs) };
}

function heldError(key: string, l: LeaseRecord | null, why = "held"): LtxError {
  const who = l?.owner ? ` by ${l.owner}` : "";
  const until = l ? ` until ${formatLeaseTime(l.expiresAtNs)}` : "";
  return new LtxError("LEASE_HELD", `lease ${JSON.stringify(key)} already ${why}${who}${until}`, { details: { key, ...(l?.owner ? { owner: l.owner } : {}), ...(l ? { expiresAt: formatLeaseTime(l.expiresAtNs), generation: l.generation } : {}) } });
}

function randomHex(n: number): string {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------------------------------------

/** Acquires, renews and releases one lock.json lease on a store. */
export class Leaser {
  readonly store: BlobStore;
  readonly key: string;
  readonly ttl: number;
  readonly owner: string;
  readonly clock: Clock;

  constructor(store: BlobStore, options: LeaseOptions = {}) {
    const ttl = options.ttl ?? DEFAULT_LEASE_TTL;
    if (!(ttl > 0) || !Number.isFinite(ttl)) throw new LtxError("INVALID_ARGUMENT", `lease ttl must be a positive number of ms (got ${ttl})`);
    this.store = store;
    this.key = options.key ?? LOCK_OBJECT;
    this.ttl = ttl;
    this.owner = options.owner ?? `ltxkit-${randomHex(6)}`;
    this.clock = options.clock ?? systemClock;
  }

  /** The current lock (or null), read so that its ETag belongs to its bytes: HEAD, GET, HEAD again until they agree. */
  async read(signal?: AbortSignal): Promise<Lease | null> {
    for (let i = 0; ; i++) {
      const h1 = await this.store.head(this.key, { signal });
      if (!h1) return null;
      const bytes = await this.store.get(this.key, { offset: 0, length: MAX_LOCK_BYTES + 1 }, { signal });
      const h2 = await this.store.head(this.key, { signal });
      if (bytes && h2 && h2.etag === h1.etag) return toLease(decodeLease(bytes), h1.etag);
      if (!h2 && !bytes) return null;
      if (i >= 8) throw new LtxError("STORE_ERROR", `lease ${JSON.stringify(this.key)}: the lock changed under every read`);
    }
  }

  /**
   * Takes the lease when it is free or expired.
   * @throws {LtxError} LEASE_HELD (details: owner, expiresAt, generation) when another writer holds it or won the race
   */
  async acquire(signal?: AbortSignal): Promise<Lease> {
    const cur = await this.read(signal);
    const now = this.clock.now();
    if (cur && !leaseExpired(cur, now)) throw heldError(this.key, cur);
    const rec: LeaseRecord = { generation: cur ? cur.generation + 1 : 1, expiresAtNs: BigInt(Math.floor(now + this.ttl)) * 1_000_000n, owner: this.owner };
    try {
      const { etag } = await this.store.put(this.key, encodeLease(rec), { ...(cur ? { ifMatch: cur.etag } : { ifNoneMatch: "*" }), contentType: "application/json", signal });
      return toLease(rec, etag);
    } catch (e) {
      if (!isLtxError(e, "PRECONDITION_FAILED")) throw e;
      const winner = await this.read(signal).catch(() => null);
      throw heldError(this.key, winner, "taken");
    }
  }

  /**
   * Extends a held lease by the TTL from now (same generation).
   * @throws {LtxError} LEASE_LOST when the lock is no longer the one `lease` names
   */
  async renew(lease: Lease, signal?: AbortSignal): Promise<Lease> {
    const rec: LeaseRecord = { generation: lease.generation, expiresAtNs: BigInt(Math.floor(this.clock.now() + this.ttl)) * 1_000_000n, owner: this.owner };
    try {
      const { etag } = await this.store.put(this.key, encodeLease(rec), { ifMatch: lease.etag, contentType: "application/json", signal });
      return toLease(rec, etag);
    } catch (e) {
      if (!isLtxError(e, "PRECONDITION_FAILED")) throw e;
      throw await this.lost(signal);
    }
  }

  /**
   * Deletes the lock if it is still `lease`'s. Returns false when it was already gone.
   * @throws {LtxError} LEASE_LOST when another writer's lock is there
   */
  async release(lease: Lease, signal?: AbortSignal): Promise<boolean> {
    if (!(await this.store.head(this.key, { signal }))) return false;
    try {
      await this.store.delete([this.key], { ifMatch: lease.etag, signal });
      return true;
    } catch (e) {
      if (!isLtxError(e, "PRECONDITION_FAILED")) throw e;
      throw await this.lost(signal);
    }
  }

  /** The LEASE_LOST error, naming the current holder when the lock can be read. */
  async lost(signal?: AbortSignal, why = "lease not held"): Promise<LtxError> {
    const cur = await this.read(signal).catch(() => null);
    const holder = cur?.owner ? `; held by ${cur.owner} until ${cur.expiresAt}` : cur ? `; held until ${cur.expiresAt}` : "; no lock present";
    return new LtxError("LEASE_LOST", `lease ${JSON.stringify(this.key)}: ${why}${holder}`, { details: { key: this.key, ...(cur?.owner ? { owner: cur.owner } : {}), ...(cur ? { expiresAt: cur.expiresAt, generation: cur.generation } : {}) } });
  }
}

// ---------------------------------------------------------------------------------------------
// Probe

const probed = new WeakMap<BlobStore, Promise<void>>();

/**
 * Checks once per store (the result is cached) that it enforces conditional writes, on a scratch
 * key `<dir>.ltxkit-probe-<random>` that is deleted afterwards: a create with `ifNoneMatch: "*"`
 * succeeds, a second one fails, an `ifMatch` with a wrong ETag fails, an `ifMatch` with the
 * object's own ETag succeeds, and a conditional delete with a wrong ETag fails.
 * @throws {LtxError} UNSUPPORTED naming the behaviour when the store ignores a condition (a lease would be unsafe on it)
 */
export function probeConditionalWrites(store: BlobStore, dir = "", signal?: AbortSignal): Promise<void> {
  let p = probed.get(store);
  if (!p) {
    p = runProbe(store, dir, signal);
    probed.set(store, p);
    p.catch(() => probed.delete(store)); // a network failure is tried again; an UNSUPPORTED verdict too, by the next caller
  }
  return p;
}

async function runProbe(store: BlobStore, dir: string, signal?: AbortSignal): Promise<void> {
  const key = `${dir}.ltxkit-probe-${randomHex(8)}`;
  const unsafe = (what: string) => new LtxError("UNSUPPORTED", `${store.kind} store does not enforce conditional writes: ${what}; a lease (single writer) would be unsafe on it (use -no-lease / lease: false to replicate without one)`, { details: { key } });
  const refused = async (f: () => Promise<unknown>): Promise<boolean> => {
    try {
      await f();
      return false;
    } catch (e) {
      if (isLtxError(e, "PRECONDITION_FAILED")) return true;
      throw e;
    }
  };
  const body = (s: string) => new TextEncoder().encode(s);
  const first = await store.put(key, body("1"), { ifNoneMatch: "*", signal });
  try {
    if (!(await refused(() => store.put(key, body("2"), { ifNoneMatch: "*", signal })))) throw unsafe("a PUT with If-None-Match: * overwrote an existing object");
    const wrong = first.etag.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
    if (!(await refused(() => store.put(key, body("3"), { ifMatch: wrong, signal })))) throw unsafe("a PUT with If-Match of a wrong ETag was accepted");
    const cur = await store.head(key, { signal });
    if (!cur) throw unsafe("the probe object vanished");
    if (await refused(() => store.put(key, body("4"), { ifMatch: cur.etag, signal }))) throw unsafe(`a PUT with If-Match of the object's own ETag (${cur.etag}) was refused (does the server compare quoted ETags?)`);
    const now = await store.head(key, { signal });
    if (!now) throw unsafe("the probe object vanished");
    if (!(await refused(() => store.delete([key], { ifMatch: wrong === now.etag ? wrong + "0" : wrong, signal })))) {
      throw unsafe("a DELETE with If-Match of a wrong ETag was accepted");
    }
  } finally {
    await store.delete([key], { signal }).catch(() => {});
  }
}
