import { describe, it, expect } from "vitest";
import { ManualClock, systemClock } from "../../lib/replica/clock.ts";
import { Replicator, type ReplicatorEvent } from "../../lib/replica/replicator.ts";
import { memoryReplica, type Replica } from "../../lib/replica/replica.ts";
import { listLevel } from "../../lib/replica/list.ts";
import { restore } from "../../lib/replica/restore.ts";
import { BytesSink } from "../../lib/replica/sinks.ts";
import { LtxError } from "../../lib/errors.ts";
import { MemoryStore } from "../../lib/store/memory.ts";
import { FakeSource } from "./fake-source.ts";
import { CountingStore, http503 } from "./instrumented.ts";

const T0 = Date.UTC(2026, 0, 1, 0, 0, 7);
const NO_LADDER = { levels: [], l0Retention: 0 };

async function restoredAt(r: Replica, txid?: bigint): Promise<Uint8Array> {
  const sink = new BytesSink();
  await restore(r, { sink, ...(txid === undefined ? {} : { txid }) });
  return sink.bytes();
}

function counted(url = "memory://"): { store: CountingStore; replica: Replica } {
  const store = new CountingStore(new MemoryStore());
  return { store, replica: { ...memoryReplica(store), url } };
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("Replicator: failures of the source, the startup and the ladder", () => {
  it("a failing capture rejects sync() and tick() with its error, shows in status(), and recovers", async () => {
    const clock = new ManualClock(T0);
    const { replica } = counted();
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER });
    const errors: ReplicatorEvent<"error">[] = [];
    rep.addEventListener("error", (e) => errors.push(e));
    expect(await rep.sync()).toBe(1n);
    src.failSync = () => new LtxError("IO_ERROR", "read WAL: disk gone");
    src.commit();
    await expect(rep.sync()).rejects.toMatchObject({ code: "IO_ERROR" });
    await expect(rep.tick()).rejects.toMatchObject({ code: "IO_ERROR" });
    expect(rep.status()).toMatchObject({ localTXID: 1n, lastError: { code: "IO_ERROR" } });
    expect(errors.map((e) => [e.detail.url, e.detail.error.code])).toEqual([[undefined, "IO_ERROR"], [undefined, "IO_ERROR"]]);
    src.failSync = null;
    expect(await rep.sync()).toBe(2n);
    expect(rep.status().lastError).toBeUndefined();
    expect(await restoredAt(replica)).toEqual(src.images.get(2n));
    await rep.close();
  });

  it("a failed startup (the adopted file's download) is retried by the background loops", async () => {
    const clock = new ManualClock(T0);
    const { store, replica } = counted();
    const first = new FakeSource(memoryReplica(), clock);
    const a = new Replicator(first, [replica], { clock, compaction: NO_LADDER });
    for (let i = 0; i < 5; i++) (first.commit(), await a.sync());
    await a.close();
    const src = new FakeSource(memoryReplica(), clock, { db: await restoredAt(replica), seed: 4 });
    let gets = 0;
    store.fault = (op) => (op === "get" && gets++ < 2 ? http503() : null);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER, retries: { initialDelay: 1000, maxDelay: 1000 } });
    const errors: string[] = [];
    rep.addEventListener("error", (e) => errors.push(e.detail.error.code));
    rep.start();
    await clock.advance(0);
    expect(src.adopted).toEqual([]);
    // The local chain is empty, so the startup's only GET is that download: it fails at 0 s and 1 s.
    await clock.advance(1000);
    expect(src.adopted).toEqual([]);
    await clock.advance(1000);
    expect(src.adopted.map((x) => x.txid)).toEqual([5n]);
    expect(errors).toEqual(["STORE_ERROR", "STORE_ERROR"]);
    src.commit();
    await clock.advance(1000);
    expect(rep.status()).toMatchObject({ localTXID: 6n, lagMs: 0 });
    await rep.close();
    expect(await restoredAt(replica)).toEqual(src.db);
  });

  it("after an adoption, a replica behind gets the missing TXIDs from the replica that was ahead", async () => {
    const clock = new ManualClock(T0);
    const ahead = counted("memory://ahead");
    const behind = counted("memory://behind");
    const first = new FakeSource(memoryReplica(), clock);
    const a = new Replicator(first, [ahead.replica, behind.replica], { clock, compaction: NO_LADDER });
    for (let i = 0; i < 3; i++) (first.commit(), await a.sync());
    behind.store.fault = (op) => (op === "put" ? http503() : null);
    for (let i = 0; i < 4; i++) (first.commit(), await a.tick());
    const closing = a.close().catch(() => {});
    await clock.advance(31_000); // close() gives up on "behind" after shutdownTimeout
    await closing;
    behind.store.fault = () => null;
    expect((await listLevel(behind.replica, 0)).length).toBe(3);
    const src = new FakeSource(memoryReplica(), clock, { db: await restoredAt(ahead.replica), seed: 5 });
    const rep = new Replicator(src, [behind.replica, ahead.replica], { clock, compaction: NO_LADDER });
    src.commit();
    expect(await rep.sync()).toBe(8n);
    expect(src.adopted.map((x) => x.txid)).toEqual([7n]);
    for (const r of [ahead.replica, behind.replica]) {
      expect((await listLevel(r, 0)).map((f) => f.maxTXID)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
      for (let t = 1n; t <= 7n; t++) expect(await restoredAt(r, t)).toEqual(first.images.get(t));
      expect(await restoredAt(r, 8n)).toEqual(src.db);
    }
    await rep.close();
  });

  it("a failed compaction is reported, re-lists the levels once and succeeds at the next window", async () => {
    const clock = new ManualClock(T0);
    const { store, replica } = counted();
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [replica], { clock, retries: { initialDelay: 1000, maxDelay: 1000 } });
    const compacted: string[] = [];
    const errors: string[] = [];
    rep.addEventListener("compact", (e) => e.detail.file && compacted.push(`${e.detail.file.level}:${e.detail.file.minTXID}-${e.detail.file.maxTXID}`));
    rep.addEventListener("error", (e) => errors.push(e.detail.error.code));
    // The L1 write fails (its L0 inputs are read from the local copies, not from this store).
    store.fault = (op, key) => (op === "put" && key.startsWith("ltx/1/") && clock.now() < T0 + 24_000 ? http503() : null);
    for (let i = 0; i < 40; i++) {
      src.commit();
      await rep.tick();
      clock.skip(1000);
    }
    // 00:00:30: the L1 compaction fails; the retry 1 s later re-lists and makes the file of the
    // 00:00:30 window (TXIDs 1-24: what existed then), not one with TXID 25 of 00:00:31.
    expect(errors).toEqual(["STORE_ERROR"]);
    expect(compacted).toEqual(["1:1-24"]);
    expect(store.lists.filter((p) => p === "ltx/1/")).toEqual(["ltx/1/", "ltx/1/"]);
    await rep.close();
  });

  it("a local L0 file gone missing: sync() rejects with NOT_FOUND after one attempt, not after syncTimeout", async () => {
    const clock = new ManualClock(T0);
    const { store, replica } = counted();
    const local = memoryReplica();
    const src = new FakeSource(local, clock);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER });
    expect(await rep.sync()).toBe(1n);
    store.fault = (op) => (op === "put" ? http503() : null);
    src.commit();
    await rep.tick();
    src.commit();
    await rep.tick();
    await local.store.delete(["ltx/0/0000000000000002-0000000000000002.ltx"]);
    store.fault = () => null;
    const p = rep.sync();
    p.catch(() => {});
    await clock.advance(1000); // the backoff of the failed tick; no more
    await expect(p).rejects.toMatchObject({ code: "NOT_FOUND", message: expect.stringMatching(/TXID 0000000000000002 is missing/) });
    expect(store.puts.filter((k) => k.startsWith("ltx/0/"))).toEqual(["ltx/0/0000000000000001-0000000000000001.ltx"]);
    await rep.close().catch(() => {});
  });

  // Node lists its active timers; Bun and Deno do not.
  it.skipIf(typeof process.getActiveResourcesInfo !== "function")("with the system clock, close() leaves no timer behind", async () => {
    const before = timers();
    const src = new FakeSource(memoryReplica(), systemClock);
    const rep = new Replicator(src, [memoryReplica()], { monitorInterval: 50, syncInterval: 50 });
    rep.start();
    src.commit();
    await rep.sync();
    src.commit();
    await rep.close();
    expect(timers()).toBe(before);
  });
});
