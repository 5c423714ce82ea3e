import { describe, it, expect } from "vitest";
import { ManualClock } from "../../lib/replica/clock.ts";
import { Leaser, decodeLease, encodeLease, formatLeaseTime, parseLeaseTime, probeConditionalWrites, leaseExpired } from "../../lib/replica/lease.ts";
import { Replicator, type ReplicatorEvent } from "../../lib/replica/replicator.ts";
import { memoryReplica } from "../../lib/replica/replica.ts";
import { listLevel } from "../../lib/replica/list.ts";
import { restore } from "../../lib/replica/restore.ts";
import { BytesSink } from "../../lib/replica/sinks.ts";
import { MemoryStore } from "../../lib/store/memory.ts";
import type { BlobStore, PutBody, PutOptions } from "../../lib/store/blob-store.ts";
import { LtxError, isLtxError } from "../../lib/errors.ts";
import { FakeSource } from "./fake-source.ts";

const T0 = Date.UTC(2026, 0, 1, 0, 0, 7) + 500;
const NO_LADDER = { levels: [], l0Retention: 0 };
const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "resolved";
  } catch (e) {
    return isLtxError(e) ? e.code : `not an LtxError: ${String(e)}`;
  }
}

/** A store that forwards to another; `ignore` drops conditions (a server that does not enforce them); `down` fails every call. */
class ShimStore implements BlobStore {
  readonly kind = "memory";
  ignore: { ifNoneMatch?: boolean; ifMatch?: boolean } = {};
  down = false;
  puts: string[] = [];
  /** Every put and delete asked of the store (also those that failed), as "PUT key" / "DELETE key". */
  writes: string[] = [];
  constructor(readonly inner: BlobStore) {}
  #check() {
    if (this.down) throw new LtxError("STORE_ERROR", "network down");
  }
  get: BlobStore["get"] = async (...a) => (this.#check(), this.inner.get(...a));
  getStream: BlobStore["getStream"] = async (...a) => (this.#check(), this.inner.getStream(...a));
  head: BlobStore["head"] = async (...a) => (this.#check(), this.inner.head(...a));
  list: BlobStore["list"] = (...a) => (this.#check(), this.inner.list(...a));
  delete: BlobStore["delete"] = async (keys, o = {}) => (this.writes.push(...keys.map((k) => `DELETE ${k}`)), this.#check(), this.inner.delete(keys, this.ignore.ifMatch ? { ...o, ifMatch: undefined } : o));
  async put(key: string, body: PutBody, o: PutOptions = {}) {
    this.writes.push(`PUT ${key}`);
    this.#check();
    const opts = { ...o };
    if (this.ignore.ifNoneMatch) delete opts.ifNoneMatch;
    if (this.ignore.ifMatch) delete opts.ifMatch;
    const r = await this.inner.put(key, body, opts);
    this.puts.push(key);
    return r;
  }
}

describe("lock.json bytes (Go's json.Marshal of litestream.Lease)", () => {
  it("encodes the spec's example byte for byte, and omits an empty owner", () => {
    const ns = BigInt(Date.UTC(2026, 7, 4, 12, 0, 30)) * 1_000_000n + 123_456_789n;
    expect(text(encodeLease({ generation: 1, expiresAtNs: ns, owner: "host:4242" }))).toBe('{"generation":1,"expires_at":"2026-08-04T12:00:30.123456789Z","owner":"host:4242"}');
    expect(text(encodeLease({ generation: 7, expiresAtNs: ns - 123_456_789n }))).toBe('{"generation":7,"expires_at":"2026-08-04T12:00:30Z"}');
    expect(text(encodeLease({ generation: 2, expiresAtNs: ns - 3_456_789n, owner: "a<b>&c" }))).toBe('{"generation":2,"expires_at":"2026-08-04T12:00:30.12Z","owner":"a\\u003cb\\u003e\\u0026c"}');
  });

  it("reads what Go may write: offsets, 9 fraction digits, unknown fields, no owner, Go's zero time", () => {
    const r = decodeLease(new TextEncoder().encode('{"generation":12,"expires_at":"2026-08-04T14:00:30.000000001+02:00","owner":"db1:77","x":[1]}'));
    expect(r).toEqual({ generation: 12, expiresAtNs: BigInt(Date.UTC(2026, 7, 4, 12, 0, 30)) * 1_000_000n + 1n, owner: "db1:77" });
    const z = decodeLease(new TextEncoder().encode('{"generation":3,"expires_at":"0001-01-01T00:00:00Z"}'));
    expect(z.owner).toBeUndefined();
    expect(z.expiresAtNs).toBe(-62135596800n * 1_000_000_000n);
    expect(leaseExpired(z, 0)).toBe(true);
    expect(formatLeaseTime(parseLeaseTime("2026-08-04T12:00:30.5-00:30"))).toBe("2026-08-04T12:30:30.5Z");
  });

  it("refuses malformed locks with INVALID_LEASE", () => {
    for (const s of ["", "[]", "{", '{"generation":1.5}', '{"generation":"1"}', '{"expires_at":"2026-02-30T00:00:00Z"}', '{"expires_at":"2026-08-04 12:00:30Z"}', '{"expires_at":5}', '{"owner":1}']) {
      expect(() => decodeLease(new TextEncoder().encode(s)), s).toThrow(expect.objectContaining({ code: "INVALID_LEASE" }));
    }
  });
});

describe("Leaser on the memory store with a manual clock", () => {
  it("acquire writes generation 1 with If-None-Match, a rival gets LEASE_HELD naming the owner, expiry lets it take generation 2, the old holder's renew and release are LEASE_LOST", async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore();
    const a = new Leaser(store, { clock, owner: "hostA:1", key: "db/lock.json" });
    const b = new Leaser(store, { clock, owner: "hostB:2", key: "db/lock.json" });
    const la = await a.acquire();
    expect(text(await store.get("db/lock.json"))).toBe('{"generation":1,"expires_at":"2026-01-01T00:00:37.5Z","owner":"hostA:1"}');
    expect(la).toMatchObject({ generation: 1, owner: "hostA:1", expiresAt: "2026-01-01T00:00:37.5Z", etag: (await store.head("db/lock.json"))!.etag });
    const held = await b.acquire().catch((e: LtxError) => e);
    expect(held).toMatchObject({ code: "LEASE_HELD", details: { owner: "hostA:1", expiresAt: "2026-01-01T00:00:37.5Z", generation: 1 } });
    expect((held as LtxError).message).toContain("hostA:1");

    await clock.advance(10_000);
    const la2 = await a.renew(la);
    expect(la2.generation).toBe(1);
    expect(text(await store.get("db/lock.json"))).toBe('{"generation":1,"expires_at":"2026-01-01T00:00:47.5Z","owner":"hostA:1"}');
    // Exactly at expires_at the lease still holds (Go: now.After(expiresAt)); one ms later it is free.
    await clock.set(Date.UTC(2026, 0, 1, 0, 0, 47, 500));
    expect(await code(b.acquire())).toBe("LEASE_HELD");
    await clock.advance(1);
    const lb = await b.acquire();
    expect(text(await store.get("db/lock.json"))).toBe('{"generation":2,"expires_at":"2026-01-01T00:01:17.501Z","owner":"hostB:2"}');
    const lost = await a.renew(la2).catch((e: LtxError) => e);
    expect(lost).toMatchObject({ code: "LEASE_LOST", details: { owner: "hostB:2", generation: 2 } });
    expect(await code(a.release(la2))).toBe("LEASE_LOST");
    expect(await b.release(lb)).toBe(true);
    expect(await store.head("db/lock.json")).toBeNull();
    expect(await b.release(lb)).toBe(false);
    // A released lock is acquired again from generation 1 (no object to continue from), as Go does.
    expect((await a.acquire()).generation).toBe(1);
  });

  it("of ten leasers racing for an expired lock exactly one wins; the others get LEASE_HELD", async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore();
    await store.put("lock.json", encodeLease({ generation: 41, expiresAtNs: BigInt(T0 - 1) * 1_000_000n, owner: "dead:9" }));
    const rs = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => new Leaser(store, { clock, owner: `h:${i}` }).acquire()));
    const won = rs.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    expect(rs.filter((r) => r.status === "rejected" && isLtxError(r.reason, "LEASE_HELD"))).toHaveLength(9);
    const lock = decodeLease((await store.get("lock.json"))!);
    expect(lock.generation).toBe(42);
    expect(lock.owner).toBe((won[0] as PromiseFulfilledResult<{ owner?: string }>).value.owner);
  });
});

describe("probeConditionalWrites", () => {
  it("passes on the memory store and leaves no probe object behind", async () => {
    const store = new MemoryStore();
    await probeConditionalWrites(store, "p/");
    const keys: string[] = [];
    for await (const o of store.list("")) keys.push(o.key);
    expect(keys).toEqual([]);
  });
  it("refuses a store that ignores If-None-Match, and one that ignores If-Match, with UNSUPPORTED naming the behaviour", async () => {
    const s1 = new ShimStore(new MemoryStore());
    s1.ignore.ifNoneMatch = true;
    await expect(probeConditionalWrites(s1)).rejects.toMatchObject({ code: "UNSUPPORTED", message: expect.stringContaining("If-None-Match: * overwrote an existing object") });
    const s2 = new ShimStore(new MemoryStore());
    s2.ignore.ifMatch = true;
    await expect(probeConditionalWrites(s2)).rejects.toMatchObject({ code: "UNSUPPORTED", message: expect.stringContaining("If-Match of a wrong ETag was accepted") });
  });
  it("a Replicator with lease on a store that ignores conditions writes nothing and reports UNSUPPORTED", async () => {
    const clock = new ManualClock(T0);
    const s = new ShimStore(new MemoryStore());
    s.ignore.ifNoneMatch = true;
    const rep = new Replicator(new FakeSource(memoryReplica(), clock), [memoryReplica(s)], { clock, compaction: NO_LADDER, lease: { owner: "h:1" } });
    expect(await code(rep.sync())).toBe("UNSUPPORTED");
    expect(await code(rep.sync())).toBe("UNSUPPORTED");
    expect(s.puts.filter((k) => !k.includes(".ltxkit-probe-"))).toEqual([]);
    expect(rep.status().replicas[0]).toMatchObject({ stopped: true, lastError: { code: "UNSUPPORTED" } });
    await rep.close().catch(() => {});
  });
});

async function restoredAt(store: BlobStore, txid: bigint): Promise<Uint8Array> {
  const sink = new BytesSink();
  await restore(memoryReplica(store), { sink, txid });
  return sink.bytes();
}

describe("Replicator with a lease", () => {

  it("one writer: a second replicator on the same replica writes nothing and sees the holder; after the holder's lease expires unrenewed it takes over with generation 2 and continues the TXIDs without a gap; the woken holder writes nothing and keeps its L0 file", async () => {
    const store = new MemoryStore();
    const shimA = new ShimStore(store), shimB = new ShimStore(store);
    const ca = new ManualClock(T0), cb = new ManualClock(T0);
    const srcA = new FakeSource(memoryReplica(), ca, { seed: 1 });
    const a = new Replicator(srcA, [memoryReplica(shimA)], { clock: ca, compaction: NO_LADDER, lease: { owner: "hostA:1", ttl: 30_000 } });
    const aEvents: ReplicatorEvent[] = [];
    a.addEventListener("error", (e) => aEvents.push(e));
    a.addEventListener("lease", (e) => aEvents.push(e));
    for (let i = 0; i < 3; i++) {
      if (i) srcA.commit();
      expect(await a.sync()).toBe(BigInt(i + 1));
      ca.skip(1000);
    }
    expect(text(await store.get("lock.json"))).toBe('{"generation":1,"expires_at":"2026-01-01T00:00:37.5Z","owner":"hostA:1"}');
    expect(a.status().replicas[0]!.lease).toEqual({ held: true, owner: "hostA:1", holder: "hostA:1", generation: 1, expiresAt: "2026-01-01T00:00:37.5Z" });

    const srcB = new FakeSource(memoryReplica(), cb, { seed: 2, db: srcA.db });
    const b = new Replicator(srcB, [memoryReplica(shimB)], { clock: cb, compaction: NO_LADDER, lease: { owner: "hostB:2", ttl: 30_000 } });
    const held = await b.sync().catch((e: LtxError) => e);
    expect(held).toMatchObject({ code: "LEASE_HELD", details: { owner: "hostA:1" } });
    expect(shimB.puts.filter((k) => !k.includes(".ltxkit-probe-"))).toEqual([]);
    expect(b.status().replicas[0]!.lease).toMatchObject({ held: false, owner: "hostB:2", holder: "hostA:1" });

    // A pauses (its clock stands still, nothing of it runs). B's clock passes A's expiry.
    await cb.set(Date.UTC(2026, 0, 1, 0, 0, 37, 501));
    srcB.commit();
    expect(await b.sync()).toBe(4n);
    expect(srcB.adopted.map((x) => x.txid)).toEqual([3n]);
    expect(decodeLease((await store.get("lock.json"))!)).toMatchObject({ generation: 2, owner: "hostB:2" });
    expect((await listLevel(memoryReplica(store), 0)).map((f) => f.maxTXID)).toEqual([1n, 2n, 3n, 4n]);
    expect(await restoredAt(store, 4n)).toEqual(srcB.db);

    // A wakes 40 s later by its own clock: its lease expired locally, so it writes nothing more.
    ca.skip(40_000);
    srcA.commit();
    const putsBefore = shimA.puts.length;
    const lost = await a.sync().catch((e: LtxError) => e);
    expect(lost).toMatchObject({ code: "LEASE_LOST", details: { owner: "hostB:2", generation: 2 } });
    expect(shimA.puts.length).toBe(putsBefore);
    expect((await listLevel(memoryReplica(store), 0)).map((f) => f.maxTXID)).toEqual([1n, 2n, 3n, 4n]);
    expect(await restoredAt(store, 4n)).toEqual(srcB.db);
    const st = a.status().replicas[0]!;
    expect(st).toMatchObject({ stopped: true, lease: { held: false, owner: "hostA:1", holder: "hostB:2", generation: 2 } });
    expect(st.lastError?.code).toBe("LEASE_LOST");
    expect(aEvents.some((e) => e.type === "error" && (e.detail as { error: LtxError }).error.message.includes("hostB:2"))).toBe(true);
    expect(aEvents.some((e) => e.type === "lease" && (e.detail as { state: string }).state === "lost")).toBe(true);
    // A's local L0 file of the commit it could not ship is kept.
    expect((await listLevel(srcA.local, 0)).map((f) => f.maxTXID)).toContain(4n);
    await a.close().catch(() => {});
    await b.close();
    expect(await store.head("lock.json")).toBeNull(); // B released its lease
  });

  it("with two replicas, one held by another writer: the startup fails with LEASE_HELD and lets go of the lease it took on the other (no deadlock), nothing is written; once free both are taken", async () => {
    const clock = new ManualClock(T0);
    const s1 = new ShimStore(new MemoryStore()), s2 = new ShimStore(new MemoryStore());
    const other = new Leaser(s2, { clock, owner: "other:7", ttl: 30_000 });
    const ol = await other.acquire();
    const rep = new Replicator(new FakeSource(memoryReplica(), clock), [memoryReplica(s1), memoryReplica(s2)], { clock, compaction: NO_LADDER, lease: { owner: "me:1" } });
    await expect(rep.sync()).rejects.toMatchObject({ code: "LEASE_HELD", details: { owner: "other:7" } });
    expect(await s1.head("lock.json")).toBeNull();
    expect(s1.puts.filter((k) => k.startsWith("ltx/"))).toEqual([]);
    expect(rep.status().replicas.map((r) => r.lease)).toEqual([
      { held: false, owner: "me:1" },
      { held: false, owner: "me:1", holder: "other:7", generation: 1, expiresAt: "2026-01-01T00:00:37.5Z" },
    ]);
    await other.release(ol);
    // A standby answers from what it saw until its next try (at most TTL/6 on), without store requests.
    const requests = s2.puts.length;
    await expect(rep.sync()).rejects.toMatchObject({ code: "LEASE_HELD" });
    expect(s2.puts.length).toBe(requests);
    clock.skip(5000);
    expect(await rep.sync()).toBe(1n);
    expect([decodeLease((await s1.get("lock.json"))!).owner, decodeLease((await s2.get("lock.json"))!).owner]).toEqual(["me:1", "me:1"]);
    await rep.close();
    expect([await s1.head("lock.json"), await s2.head("lock.json")]).toEqual([null, null]);
  });

  it("close() deletes the lock while the lease has time left, and leaves it to expire when it is within TTL/6 of its expiry", async () => {
    const run = async (after: number) => {
      const clock = new ManualClock(T0);
      const store = new MemoryStore();
      const rep = new Replicator(new FakeSource(memoryReplica(), clock), [memoryReplica(store)], { clock, compaction: NO_LADDER, lease: { owner: "me:1", ttl: 30_000 } });
      expect(await rep.sync()).toBe(1n);
      clock.skip(after);
      await rep.close();
      return store.head("lock.json");
    };
    expect(await run(24_000)).toBeNull();
    expect(await run(25_000)).not.toBeNull();
  });

  it("renews every TTL/3 in the background while the application writes; a holder that cannot reach the store with an upload pending stops within the TTL and says so, and a standby takes over after the expiry", async () => {
    const store = new MemoryStore();
    const shimA = new ShimStore(store);
    const clock = new ManualClock(T0);
    const srcA = new FakeSource(memoryReplica(), clock, { seed: 3 });
    const a = new Replicator(srcA, [memoryReplica(shimA)], { clock, compaction: NO_LADDER, lease: { owner: "hostA:1", ttl: 3000 }, monitorInterval: 100, syncInterval: 100, retries: { initialDelay: 100, maxDelay: 200 } });
    const states: string[] = [];
    a.addEventListener("lease", (e) => states.push(e.detail.state));
    a.start();
    await clock.advance(100);
    expect(decodeLease((await store.get("lock.json"))!).generation).toBe(1);
    for (let i = 0; i < 14; i++) {
      srcA.commit();
      await clock.advance(250); // renewals at 1 s, 2 s, 3 s
    }
    expect(states.slice(0, 4)).toEqual(["acquired", "renewed", "renewed", "renewed"]);
    const renewedTo = decodeLease((await store.get("lock.json"))!).expiresAtNs;
    expect(renewedTo).toBeGreaterThan(BigInt(T0 + 3000) * 1_000_000n);

    const srcB = new FakeSource(memoryReplica(), clock, { seed: 4, db: srcA.db });
    const b = new Replicator(srcB, [memoryReplica(store)], { clock, compaction: NO_LADDER, lease: { owner: "hostB:2", ttl: 3000 } });
    const bStates: string[] = [];
    b.addEventListener("lease", (e) => bStates.push(e.detail.state));
    b.start();
    await clock.advance(500);
    expect(bStates).toEqual(["waiting"]);
    shimA.down = true; // A is cut off from the store: its uploads and renewals fail
    const cut = clock.now();
    const shipped = srcA.pos;
    srcA.commit(); // an upload pending: the lease is wanted, its renewals fail
    let lostAt = 0;
    a.addEventListener("lease", (e) => void (e.detail.state === "lost" && (lostAt = clock.now())));
    await clock.advance(4000);
    expect(lostAt).toBeGreaterThan(0);
    expect(lostAt - cut).toBeLessThanOrEqual(3000);
    expect(a.status().replicas[0]!.stopped).toBe(true);
    expect(bStates).toContain("acquired");
    expect(b.status().replicas[0]!.lease).toMatchObject({ held: true, holder: "hostB:2", generation: 2 });
    srcB.commit();
    expect(await b.sync()).toBe(shipped + 1n); // B continues what A shipped; A's last commit never reached the replica
    const l0 = (await listLevel(memoryReplica(store), 0)).map((f) => f.maxTXID);
    expect(l0).toEqual(l0.map((_, i) => BigInt(i + 1)));
    await b.close();
    shimA.down = false;
    await a.close().catch(() => {});
  });
});

describe("dormant lease", () => {
  const LADDER = { levels: [1000], l0Retention: 0, snapshotInterval: 3_600_000 };
  const l0Of = async (store: BlobStore) => (await listLevel(memoryReplica(store), 0)).map((f) => f.maxTXID);

  /** A replicator with its loops running that has shipped `commits` transactions and then settled (first level-1 window past). */
  async function settled(store: BlobStore, clock: ManualClock, commits: number, keepAlive = false) {
    const shim = new ShimStore(store);
    const src = new FakeSource(memoryReplica(), clock, { seed: 5 });
    const rep = new Replicator(src, [memoryReplica(shim)], { clock, compaction: LADDER, lease: { owner: "hostA:1", ttl: 30_000, ...(keepAlive ? { keepAlive } : {}) }, monitorInterval: 1000, syncInterval: 1000 });
    const states: string[] = [];
    rep.addEventListener("lease", (e) => states.push(e.detail.state));
    rep.start();
    for (let i = 0; i < commits; i++) {
      if (i) src.commit();
      await clock.advance(1000);
    }
    await clock.advance(3000); // the last upload and the level-1 compaction after it
    return { shim, src, rep, states };
  }

  it("makes no store writes at all while idle (10 TTLs, loops and ladder running), then re-takes the lease with If-Match of its last lock before the next upload, same generation", async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(T0);
    const { shim, src, rep, states } = await settled(store, clock, 12);
    expect(await l0Of(store)).toEqual(Array.from({ length: 12 }, (_, i) => BigInt(i + 1)));
    const lockBefore = (await store.head("lock.json"))!;
    const writesBefore = shim.writes.length;
    for (let i = 0; i < 30; i++) await clock.advance(10_000); // 300 s idle
    expect(shim.writes.slice(writesBefore)).toEqual([]);
    expect((await store.head("lock.json"))!.etag).toBe(lockBefore.etag);
    expect(rep.status().replicas[0]!.lease).toMatchObject({ held: false, owner: "hostA:1", generation: 1 });
    expect(states.filter((s) => s === "lost")).toEqual([]);

    src.commit();
    expect(await rep.sync()).toBe(13n);
    // The lock is written first (the re-take), then the L0 file.
    expect(shim.writes.slice(writesBefore, writesBefore + 2)).toEqual(["PUT lock.json", "PUT ltx/0/000000000000000d-000000000000000d.ltx"]);
    const lock = decodeLease((await store.get("lock.json"))!);
    expect(lock).toMatchObject({ generation: 1, owner: "hostA:1" });
    expect(lock.expiresAtNs).toBeGreaterThan(BigInt(clock.now()) * 1_000_000n);
    expect(rep.status().replicas[0]!.lease).toMatchObject({ held: true, holder: "hostA:1", generation: 1 });
    expect(await restoredAt(store, 13n)).toEqual(src.db);
    await rep.close();
    expect(await store.head("lock.json")).toBeNull();
  });

  it("with keepAlive, idle means a lock renewal every TTL/3 and nothing else; a standby never takes the lease, and the next commit uploads in the same generation", async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(T0);
    const { shim, src, rep, states } = await settled(store, clock, 4, true);
    const writesBefore = shim.writes.length;
    const standby = new Leaser(store, { clock, owner: "hostB:2", ttl: 30_000 });
    for (let i = 0; i < 30; i++) {
      await clock.advance(10_000); // 300 s idle
      await expect(standby.acquire()).rejects.toMatchObject({ code: "LEASE_HELD", details: { owner: "hostA:1" } });
    }
    const idle = shim.writes.slice(writesBefore);
    expect(idle.every((w) => w === "PUT lock.json"), idle.join(",")).toBe(true);
    expect(idle.length).toBeGreaterThanOrEqual(29);
    expect(idle.length).toBeLessThanOrEqual(31);
    expect(rep.status().replicas[0]!.lease).toMatchObject({ held: true, holder: "hostA:1", generation: 1 });
    src.commit();
    expect(await rep.sync()).toBe(5n);
    expect(decodeLease((await store.get("lock.json"))!)).toMatchObject({ generation: 1, owner: "hostA:1" });
    expect(states.filter((s) => s === "lost")).toEqual([]);
    await rep.close();
  });

  it("a writer that took the lock while we were dormant makes our next write fail with LEASE_LOST, and nothing of ours is written", async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(T0);
    const { shim, src, rep, states } = await settled(store, clock, 4);
    for (let i = 0; i < 4; i++) await clock.advance(10_000); // lapsed: 40 s past the last renewal
    const other = new Leaser(store, { clock, owner: "hostB:2", ttl: 30_000 });
    expect((await other.acquire()).generation).toBe(2);
    await clock.advance(1000);
    const before = shim.writes.length;
    src.commit();
    const err = await rep.sync().catch((e: LtxError) => e);
    expect(err).toMatchObject({ code: "LEASE_LOST", details: { owner: "hostB:2", generation: 2 } });
    // One conditional PUT of lock.json was tried (and refused); no L0 file, no compaction, no delete.
    expect(shim.writes.slice(before)).toEqual(["PUT lock.json"]);
    expect(await l0Of(store)).toEqual([1n, 2n, 3n, 4n]);
    expect(decodeLease((await store.get("lock.json"))!)).toMatchObject({ generation: 2, owner: "hostB:2" });
    expect(rep.status().replicas[0]).toMatchObject({ stopped: true, lease: { held: false, holder: "hostB:2", generation: 2 } });
    expect(states).toContain("lost");
    for (let i = 0; i < 5; i++) await clock.advance(10_000);
    expect(shim.writes.slice(before)).toEqual(["PUT lock.json"]);
    await rep.close().catch(() => {});
    expect(decodeLease((await store.get("lock.json"))!).owner).toBe("hostB:2");
  });

  it("a lock that is gone when the dormant lease is re-taken is LEASE_LOST (another writer may have taken it, written and released), and nothing is written", async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(T0);
    const { shim, src, rep } = await settled(store, clock, 3);
    for (let i = 0; i < 4; i++) await clock.advance(10_000);
    await store.delete(["lock.json"]);
    const before = shim.writes.length;
    src.commit();
    expect(await code(rep.sync())).toBe("LEASE_LOST");
    expect(shim.writes.slice(before).filter((w) => w !== "PUT lock.json")).toEqual([]);
    expect(await l0Of(store)).toEqual([1n, 2n, 3n]);
    expect(await store.head("lock.json")).toBeNull();
    await rep.close().catch(() => {});
  });

  it("under tick() (no loops): idle ticks make no writes; the tick after a commit re-takes and uploads", async () => {
    const store = new MemoryStore();
    const shim = new ShimStore(store);
    const clock = new ManualClock(T0);
    const src = new FakeSource(memoryReplica(), clock, { seed: 6 });
    const rep = new Replicator(src, [memoryReplica(shim)], { clock, compaction: NO_LADDER, lease: { owner: "hostA:1", ttl: 30_000 } });
    await rep.tick();
    const before = shim.writes.length;
    for (let i = 0; i < 20; i++) {
      clock.skip(5000);
      await rep.tick();
    }
    expect(shim.writes.slice(before)).toEqual([]);
    src.commit();
    await rep.tick();
    expect(shim.writes.slice(before)).toEqual(["PUT lock.json", "PUT ltx/0/0000000000000002-0000000000000002.ltx"]);
    await rep.close();
  });
});
