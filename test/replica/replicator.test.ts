import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { ManualClock } from "../../lib/replica/clock.ts";
import { Replicator, type ReplicatorEvent } from "../../lib/replica/replicator.ts";
import { memoryReplica, type Replica } from "../../lib/replica/replica.ts";
import { listLevel } from "../../lib/replica/list.ts";
import { restore } from "../../lib/replica/restore.ts";
import { BytesSink } from "../../lib/replica/sinks.ts";
import { MemoryStore } from "../../lib/store/memory.ts";
import { FsStore } from "../../lib/adapters/fs-store.ts";
import { fileLayout } from "../../lib/replica/layout.ts";
import { CountingStore, FakeSource, http503, netError } from "./fake-source.ts";

const T0 = Date.UTC(2026, 0, 1, 0, 0, 7); // 7 s into a UTC day

function counted(): { store: CountingStore; replica: Replica } {
  const store = new CountingStore(new MemoryStore());
  return { store, replica: memoryReplica(store) };
}

function fileReplica(name: string): Replica {
  const dir = mkdtempSync(join(tmpdir(), `ltxkit-repl-${name}-`));
  return { url: `file://${dir}`, kind: "file", store: new FsStore(dir), layout: fileLayout, timestampFromMetadata: false };
}

async function restoredAt(r: Replica, txid?: bigint): Promise<Uint8Array> {
  const sink = new BytesSink();
  await restore(r, { sink, ...(txid === undefined ? {} : { txid }) });
  return sink.bytes();
}

/** No compaction levels and no L0 retention: a test sees uploads (and the startup snapshot) alone. */
const NO_LADDER = { levels: [], l0Retention: 0 };

describe("Replicator: upload", () => {
  for (const kind of ["memory", "file"] as const) {
    it(`ships every TXID in order to a ${kind} replica; restore at each synced TXID equals the expected image`, async () => {
      const clock = new ManualClock(T0);
      const remote = kind === "memory" ? memoryReplica() : fileReplica("up");
      const local = kind === "memory" ? memoryReplica() : fileReplica("local");
      const src = new FakeSource(local, clock);
      const rep = new Replicator(src, [remote], { clock, compaction: NO_LADDER });
      const synced: bigint[] = [];
      for (let i = 0; i < 12; i++) {
        for (let k = 0; k <= i % 3; k++) src.commit(i % 4 === 0 ? 1 : 0);
        synced.push(await rep.sync());
        clock.skip(1000);
      }
      expect(synced).toEqual(Array.from({ length: 12 }, (_, i) => BigInt(i + 1)));
      expect((await listLevel(remote, 0)).map((f) => f.maxTXID)).toEqual(synced);
      for (const t of synced) expect(await restoredAt(remote, t)).toEqual(src.images.get(t));
      expect(rep.status()).toMatchObject({ localTXID: 12n, lagMs: 0, replicas: [{ url: remote.url, remoteTXID: 12n, failures: 0, stopped: false }] });
      // Local L0 files: only the newest stays once every replica holds them.
      expect((await listLevel(local, 0)).map((f) => f.maxTXID)).toEqual([12n]);
      await rep.close();
      expect(src.closed).toBe(true);
    });
  }

  it("lists level 0 once at start and never per sync", async () => {
    const clock = new ManualClock(T0);
    const { store, replica } = counted();
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER });
    for (let i = 0; i < 20; i++) {
      src.commit();
      await rep.sync();
    }
    expect(store.lists).toEqual(["ltx/0/"]);
    expect(store.puts).toEqual(Array.from({ length: 20 }, (_, i) => `ltx/0/${(i + 1).toString(16).padStart(16, "0")}-${(i + 1).toString(16).padStart(16, "0")}.ltx`));
    expect(store.counts).toMatchObject({ list: 1, get: 0, head: 0, getStream: 0 });
    await rep.close();
  });

  it("an idle database through a snapshot window: no PUT, no new snapshot, no LIST once the ladder has caught up", async () => {
    const clock = new ManualClock(T0);
    const { store, replica } = counted();
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [replica], { clock });
    for (let i = 0; i < 20; i++) {
      src.commit();
      await rep.tick();
      clock.skip(1000);
    }
    // Let the ladder catch up: L1, L2, L3, then the snapshot of TXID 20 at midnight.
    while (clock.now() < Date.UTC(2026, 0, 2, 1)) {
      await rep.tick();
      clock.skip(60_000);
    }
    // (the startup snapshot of TXID 1 expired at the same tick: 24 h old)
    expect((await listLevel(replica, 9)).map((f) => f.maxTXID)).toEqual([20n]);
    const snapshotsBefore = src.snapshots;
    store.reset();
    // A whole day more, through the next midnight, at a tick every 30 s.
    while (clock.now() < Date.UTC(2026, 0, 3, 1)) {
      await rep.tick();
      clock.skip(30_000);
    }
    expect(store.counts).toEqual({ get: 0, getStream: 0, put: 0, list: 0, delete: 0, head: 0 });
    expect(src.snapshots).toBe(snapshotsBefore);
    expect(await rep.sync()).toBe(20n);
    expect(await restoredAt(replica)).toEqual(src.images.get(20n));
    await rep.close();
  });

  it("a store failing with 503s and network errors: sync rejects after syncTimeout, the queue drains after with no gap", async () => {
    const clock = new ManualClock(T0);
    const { store, replica } = counted();
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER, syncTimeout: 10_000, retries: { initialDelay: 1000, maxDelay: 4000 } });
    const errors: ReplicatorEvent<"error">[] = [];
    rep.addEventListener("error", (e) => errors.push(e));
    src.commit();
    expect(await rep.sync()).toBe(1n);
    let n = 0;
    store.fault = (op, key) => (op === "put" && key.startsWith("ltx/0/") ? (n++ % 2 ? http503() : netError()) : null);
    for (let i = 0; i < 5; i++) {
      src.commit();
      await rep.tick();
    }
    expect(rep.status().replicas[0]).toMatchObject({ remoteTXID: 1n, failures: 1 });
    expect(rep.status().lastError?.code).toBe("STORE_ERROR");
    // Attempts at +0 (tick), +1 s, +3 s, +7 s; the next (+11 s) is past the 10 s bound.
    const p = rep.sync().then(() => "resolved", (e) => e);
    await clock.advance(20_000);
    const err = await p;
    expect(err).toMatchObject({ code: "STORE_ERROR" });
    expect(String(err.message)).toMatch(/still failing after 4 attempts/);
    expect(errors.map((e) => e.detail.error.code)).toEqual(["STORE_ERROR", "STORE_ERROR", "STORE_ERROR", "STORE_ERROR"]);
    const l0puts = () => store.puts.filter((k) => k.startsWith("ltx/0/"));
    expect(l0puts()).toEqual(["ltx/0/0000000000000001-0000000000000001.ltx"]);
    // Recovery: the next attempt uploads 2..6 in order.
    store.fault = () => null;
    const ok = rep.sync();
    await clock.advance(5000);
    expect(await ok).toBe(6n);
    expect(l0puts().slice(1)).toEqual([2, 3, 4, 5, 6].map((t) => `ltx/0/${t.toString(16).padStart(16, "0")}-${t.toString(16).padStart(16, "0")}.ltx`));
    expect(rep.status().replicas[0]).toMatchObject({ remoteTXID: 6n, failures: 0 });
    expect(rep.status().replicas[0]!.lastError).toBeUndefined();
    expect(rep.status().lastError).toBeUndefined();
    for (let t = 1n; t <= 6n; t++) expect(await restoredAt(replica, t)).toEqual(src.images.get(t));
    await rep.close();
  });

  it("two replicas, one failing: the other keeps up; the failing one catches up without a gap", async () => {
    const clock = new ManualClock(T0);
    const a = counted();
    const b = counted();
    const local = memoryReplica();
    const src = new FakeSource(local, clock);
    // b (failing) comes first, so nothing a does can hide behind b's turn.
    const rep = new Replicator(src, [{ ...b.replica, url: "memory://b" }, a.replica], { clock, compaction: NO_LADDER, syncTimeout: 1 });
    b.store.fault = (op) => (op === "put" ? http503() : null);
    b.store.slowFaults = true; // b fails after a's uploads finished, each time
    for (let i = 0; i < 8; i++) {
      src.commit();
      await rep.tick();
      expect(rep.status().replicas[1]!.remoteTXID).toBe(BigInt(i + 1)); // a is never held back by b
      clock.skip(1000);
    }
    const st = rep.status();
    expect(st.replicas.map((r) => r.remoteTXID)).toEqual([0n, 8n]);
    expect(st.replicas[0]!.lastError?.code).toBe("STORE_ERROR");
    expect(st.replicas[1]!.lastError).toBeUndefined();
    expect(st.lagMs).toBe(8000); // TXID 1 was captured 8 s ago and b holds nothing
    await expect(rep.sync()).rejects.toMatchObject({ code: "STORE_ERROR" });
    // Local files stay while b still needs them.
    expect((await listLevel(local, 0)).length).toBe(8);
    b.store.fault = () => null;
    const done = rep.sync({ timeout: 600_000 });
    await clock.advance(60_000);
    await done;
    expect((await listLevel(b.replica, 0)).map((f) => f.maxTXID)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    expect(await restoredAt(b.replica)).toEqual(src.images.get(8n));
    expect((await listLevel(local, 0)).map((f) => f.maxTXID)).toEqual([8n]);
    expect(rep.status().lagMs).toBe(0);
    await rep.close();
  });
});

describe("Replicator: background loops (start) and close", () => {
  it("polls the source every monitorInterval and uploads what it captured", async () => {
    const clock = new ManualClock(T0);
    const { store, replica } = counted();
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER });
    rep.start();
    await clock.advance(0);
    expect(rep.status().replicas[0]!.remoteTXID).toBe(1n);
    src.commit();
    await clock.advance(999);
    expect(rep.status()).toMatchObject({ localTXID: 1n });
    await clock.advance(1);
    expect(rep.status()).toMatchObject({ localTXID: 2n, lagMs: 0 });
    expect(rep.status().replicas[0]!.remoteTXID).toBe(2n);
    expect(store.lists).toEqual(["ltx/0/", "ltx/9/"]);
    await rep.close();
    expect(clock.pending).toBe(0);
  });

  /** An event-driven replicator on a fake source, started, recording the TXIDs it uploads. */
  function eventDriven() {
    const clock = new ManualClock(T0);
    const { replica } = counted();
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER, eventDriven: true, monitorInterval: 60_000 });
    const uploads: bigint[] = [];
    rep.addEventListener("upload", (e) => uploads.push(e.detail.maxTXID));
    rep.start();
    return { clock, src, rep, uploads };
  }

  it("eventDriven: a commit is captured and uploaded at once through source.watch", async () => {
    const { clock, src, rep, uploads } = eventDriven();
    await clock.advance(0);
    for (let i = 0; i < 3; i++) {
      src.commit();
      await clock.advance(0);
    }
    expect(uploads).toEqual([1n, 2n, 3n, 4n]);
    await rep.close();
    expect(clock.pending).toBe(0);
  });

  it("eventDriven: the first change stops the watch until the next capture begins; the commits in between go into one file", async () => {
    const { clock, src, rep, uploads } = eventDriven();
    await clock.advance(0);
    expect([uploads, src.watching]).toEqual([[1n], 1]);
    src.commit();
    expect(src.watching).toBe(0);
    src.commit();
    src.commit();
    await clock.advance(0);
    expect([uploads, src.watching]).toEqual([[1n, 2n], 1]);
    await rep.close();
    expect(src.watching).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("eventDriven: commits that land while an upload is in flight go into one L0 file and one PUT once it ends", async () => {
    const clock = new ManualClock(T0);
    const { store, replica } = counted();
    const slowPut = store.put;
    store.put = async (key, ...a) => {
      await clock.sleep(100); // every PUT takes 100 ms of the clock
      return slowPut(key, ...a);
    };
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER, eventDriven: true, monitorInterval: 60_000 });
    const uploads: bigint[] = [];
    rep.addEventListener("upload", (e) => uploads.push(e.detail.maxTXID));
    rep.start();
    await clock.advance(100); // startup: TXID 1 uploaded
    expect(uploads).toEqual([1n]);
    src.commit(); // captured at once as TXID 2, its PUT starts
    await clock.advance(0);
    for (let i = 0; i < 5; i++) {
      src.commit(); // during TXID 2's PUT
      await clock.advance(10);
    }
    expect(uploads).toEqual([1n]);
    await clock.advance(60); // TXID 2's PUT ends; the five commits are captured together as TXID 3
    await clock.advance(100);
    expect(uploads).toEqual([1n, 2n, 3n]);
    expect(store.puts).toEqual(["ltx/0/0000000000000001-0000000000000001.ltx", "ltx/0/0000000000000002-0000000000000002.ltx", "ltx/0/0000000000000003-0000000000000003.ltx"]);
    expect(await restoredAt(replica, 3n)).toEqual(src.db);
    await rep.close();
  });

  /** An event-driven Replicator with `eventInterval` on a manual clock, started (TXID 1 uploaded at 0); `uploads`: [maxTXID, ms since start]. */
  async function eventIntervalRig(eventInterval: number) {
    const clock = new ManualClock(T0);
    const { store, replica } = counted();
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER, eventDriven: true, eventInterval, monitorInterval: 60_000 });
    const uploads: [bigint, number][] = [];
    rep.addEventListener("upload", (e) => uploads.push([e.detail.maxTXID, clock.now() - T0]));
    rep.start();
    await clock.advance(0);
    return { clock, store, replica, src, rep, uploads };
  }

  it("eventDriven with eventInterval: a change is captured no sooner than eventInterval after the last capture ended; the commits of that time go into one file", async () => {
    const { clock, store, replica, src, rep, uploads } = await eventIntervalRig(300);
    src.commit(); // at 0: waits until 300
    await clock.advance(150);
    src.commit(); // at 150: the same file
    await clock.advance(149);
    expect(uploads).toEqual([[1n, 0]]);
    await clock.advance(1);
    expect(uploads).toEqual([[1n, 0], [2n, 300]]);
    await clock.advance(1000); // quiet for longer than eventInterval: the next change is captured at once
    src.commit();
    await clock.advance(0);
    expect(uploads).toEqual([[1n, 0], [2n, 300], [3n, 1300]]);
    expect(await restoredAt(replica, 3n)).toEqual(src.db);
    expect(store.puts.length).toBe(3);
    await rep.close();
    expect(clock.pending).toBe(0);
  });

  it("eventInterval counts from the end of a capture that takes time, not from its start", async () => {
    const { clock, replica, src, rep, uploads } = await eventIntervalRig(300);
    src.syncTime = 100; // every capture from here on takes 100 ms
    src.commit(); // at 0: the capture starts at 300 and ends at 400
    await clock.advance(400);
    expect(uploads).toEqual([[1n, 0], [2n, 400]]);
    await clock.advance(10);
    src.commit(); // at 410: the next capture starts 300 after 400 (not after 300) and ends at 800
    await clock.advance(389);
    expect(uploads).toEqual([[1n, 0], [2n, 400]]);
    await clock.advance(1);
    expect(uploads).toEqual([[1n, 0], [2n, 400], [3n, 800]]);
    expect(await restoredAt(replica, 3n)).toEqual(src.db);
    src.syncTime = 0; // close() syncs once more, and nothing advances the clock then
    await rep.close();
  });

  it("eventInterval: a negative, NaN or infinite one is INVALID_ARGUMENT naming it", () => {
    const src = new FakeSource(memoryReplica(), new ManualClock(T0));
    for (const [v, shown] of [[-1, "-1"], [NaN, "NaN"], [Infinity, "Infinity"]] as const) {
      expect(() => new Replicator(src, [memoryReplica()], { eventDriven: true, eventInterval: v })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", message: `eventInterval must be a number of ms ≥ 0 (got ${shown})` }));
    }
    expect(() => new Replicator(src, [memoryReplica()], { eventDriven: true, eventInterval: 0 })).not.toThrow();
  });

  it("eventDriven: a file the source reports written is uploaded before its sync (still checkpointing) resolves", async () => {
    const clock = new ManualClock(T0);
    const { replica } = counted();
    /** After its first file, a sync spends 500 ms of the clock (a checkpoint), then writes one more file. */
    class CheckpointingSource extends FakeSource {
      tail = 0;
      override async sync(written?: (txid: bigint) => void): Promise<bigint> {
        const before = this.pos;
        const t = await super.sync();
        if (t === before) return t;
        written?.(t);
        if (!this.tail) return t;
        await this.clock.sleep(this.tail);
        this.commit();
        const t2 = await super.sync();
        written?.(t2);
        return t2;
      }
    }
    const src = new CheckpointingSource(memoryReplica(), clock);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER, eventDriven: true, monitorInterval: 60_000 });
    const uploads: bigint[] = [];
    const syncs: [bigint, bigint][] = [];
    rep.addEventListener("upload", (e) => uploads.push(e.detail.maxTXID));
    rep.addEventListener("sync", (e) => syncs.push([e.detail.minTXID, e.detail.maxTXID]));
    rep.start();
    await clock.advance(0);
    expect(uploads).toEqual([1n]);
    src.tail = 500;
    src.commit(); // captured at once: TXID 2 is written, then the sync checkpoints for 500 ms
    await clock.advance(0);
    expect(uploads).toEqual([1n, 2n]);
    expect(rep.status().localTXID).toBe(2n);
    expect(syncs).toEqual([[1n, 1n]]); // the sync has not resolved
    await clock.advance(500); // the sync writes TXID 3 and resolves
    expect(uploads).toEqual([1n, 2n, 3n]);
    expect(syncs).toEqual([[1n, 1n], [2n, 3n]]);
    expect(await restoredAt(replica, 2n)).toEqual(src.images.get(2n));
    expect(await restoredAt(replica, 3n)).toEqual(src.db);
    await rep.close();
    expect(clock.pending).toBe(0);
  });

  it("sync(written): the promise returned for a file resolves once the replica holds it (a source waits on it before checkpointing)", async () => {
    const clock = new ManualClock(T0);
    const { store, replica } = counted();
    const slowPut = store.put;
    store.put = async (key, ...a) => {
      await clock.sleep(50); // every PUT takes 50 ms of the clock
      return slowPut(key, ...a);
    };
    const held: [bigint, boolean][] = [];
    class WaitingSource extends FakeSource {
      override async sync(written?: (txid: bigint) => void | Promise<void>): Promise<bigint> {
        const before = this.pos;
        const t = await super.sync();
        if (t === before) return t;
        await written?.(t);
        held.push([t, (await replica.store.head(replica.layout.key(0, t, t))) !== null]);
        return t;
      }
    }
    const src = new WaitingSource(memoryReplica(), clock);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER, eventDriven: true, monitorInterval: 60_000 });
    rep.start();
    await clock.advance(50);
    expect(held).toEqual([[1n, true]]);
    src.commit();
    await clock.advance(0);
    expect(held).toEqual([[1n, true]]); // TXID 2's PUT is in flight: the source still waits
    await clock.advance(50);
    expect(held).toEqual([[1n, true], [2n, true]]);
    // a failing replica does not hold the source up: the pass ends with the failure
    store.fault = (op) => (op === "put" ? http503() : null);
    src.commit();
    await clock.advance(50);
    expect(held).toEqual([[1n, true], [2n, true], [3n, false]]);
    expect(rep.status().replicas[0]!.failures).toBe(1);
    store.fault = () => null;
    let closed = false;
    const closing = rep.close().then(() => (closed = true)); // retries TXID 3 every shutdownSyncInterval
    for (let i = 0; i < 100 && !closed; i++) await clock.advance(100);
    await closing;
    expect(await restoredAt(replica, 3n)).toEqual(src.db);
  });

  it("in the background, a store down for 20 s: every TXID arrives in order once it is back", async () => {
    const clock = new ManualClock(T0);
    const { store, replica } = counted();
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER, retries: { initialDelay: 500, maxDelay: 8000 } });
    const errors: number[] = [];
    rep.addEventListener("error", () => errors.push(clock.now() - T0));
    const uploads: [bigint, bigint][] = [];
    rep.addEventListener("upload", (e) => uploads.push([e.detail.minTXID, e.detail.maxTXID]));
    rep.start();
    await clock.advance(0);
    store.fault = (op) => (op === "put" ? (clock.now() % 2 ? http503() : netError()) : null);
    for (let i = 0; i < 20; i++) {
      src.commit();
      await clock.advance(1000);
    }
    expect(rep.status().replicas[0]!.remoteTXID).toBe(1n);
    expect(rep.status().replicas[0]!.lastError?.code).toBe("STORE_ERROR");
    // Backoff: 0.5, 1, 2, 4, 8, 8 s between attempts (the first right after TXID 2 was captured).
    const gaps = errors.slice(1).map((t, i) => t - errors[i]!);
    expect(gaps).toEqual([500, 1000, 2000, 4000, 8000]);
    store.fault = () => null;
    await clock.advance(8000);
    expect(rep.status().replicas[0]!.remoteTXID).toBe(21n);
    expect(store.puts.filter((k) => k.startsWith("ltx/0/"))).toEqual(Array.from({ length: 21 }, (_, i) => `ltx/0/${(i + 1).toString(16).padStart(16, "0")}-${(i + 1).toString(16).padStart(16, "0")}.ltx`));
    for (const t of [1n, 2n, 11n, 20n, 21n]) expect(await restoredAt(replica, t)).toEqual(src.images.get(t));
    // "upload" events cover 1..21 once each, in order.
    expect(uploads.flatMap(([a, b]) => Array.from({ length: Number(b - a) + 1 }, (_, i) => a + BigInt(i)))).toEqual(Array.from({ length: 21 }, (_, i) => BigInt(i + 1)));
    const c1 = rep.close();
    expect(rep.close()).toBe(c1);
    await c1;
  });

  it("close() uploads a pending commit, stops every loop and closes the source", async () => {
    const clock = new ManualClock(T0);
    const { replica } = counted();
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER, monitorInterval: 60_000, syncInterval: 60_000 });
    rep.start();
    await clock.advance(0);
    src.commit();
    src.commit();
    await rep.close();
    expect((await listLevel(replica, 0)).map((f) => f.maxTXID)).toEqual([1n, 2n]);
    expect(await restoredAt(replica)).toEqual(src.db);
    expect(clock.pending).toBe(0);
    expect(src.closed).toBe(true);
    await expect(rep.sync()).rejects.toMatchObject({ code: "INVALID_STATE" });
  });

  it("close() against a store that stays down gives up after shutdownTimeout, rejects, and leaves nothing running", async () => {
    const clock = new ManualClock(T0);
    const { store, replica } = counted();
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER, shutdownTimeout: 30_000 });
    rep.start();
    await clock.advance(0);
    store.fault = (op) => (op === "put" ? http503() : null);
    src.commit();
    let settled = false;
    const closing = rep.close().finally(() => (settled = true));
    closing.catch(() => {});
    await clock.advance(29_000);
    expect(settled).toBe(false);
    await clock.advance(2_000);
    await expect(closing).rejects.toMatchObject({ code: "STORE_ERROR" });
    expect(clock.pending).toBe(0);
    const before = { ...store.counts };
    await clock.advance(600_000);
    expect(store.counts).toEqual(before);
    expect(src.closed).toBe(true);
  });
});
