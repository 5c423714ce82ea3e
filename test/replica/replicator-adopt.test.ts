import { describe, it, expect } from "vitest";
import { ManualClock } from "../../lib/replica/clock.ts";
import { Replicator } from "../../lib/replica/replicator.ts";
import { memoryReplica, type Replica } from "../../lib/replica/url.ts";
import { listLevel } from "../../lib/replica/list.ts";
import { restore, BytesSink } from "../../lib/replica/restore.ts";
import { MemoryStore } from "../../lib/store/memory.ts";
import { CountingStore, FakeSource, PS } from "./fake-source.ts";
import { encodeLtxBytes } from "../../lib/ltx/encoder.ts";
import { writeLtxFile } from "../../lib/replica/list.ts";

const T0 = Date.UTC(2026, 0, 1, 0, 0, 7);
const NO_LADDER = { levels: [], l0Retention: 0 };

async function restoredAt(r: Replica, txid?: bigint): Promise<Uint8Array> {
  const sink = new BytesSink();
  await restore(r, { sink, ...(txid === undefined ? {} : { txid }) });
  return sink.bytes();
}

/** A replica holding TXIDs 1..n of a database written by a first host, and that host's source. */
async function firstHost(n: number, seed = 7) {
  const clock = new ManualClock(T0);
  const store = new CountingStore(new MemoryStore());
  const remote = memoryReplica(store);
  const src = new FakeSource(memoryReplica(), clock, { seed });
  const rep = new Replicator(src, [remote], { clock, compaction: NO_LADDER });
  for (let i = 0; i < n; i++) {
    if (i) src.commit();
    await rep.sync();
    clock.skip(1000);
  }
  await rep.close();
  return { clock, store, remote, src };
}

describe("Replicator: a remote ahead of the local position", () => {
  it("adopts the newest remote L0 file on a fresh host (issue #781) and continues the numbering from it", async () => {
    const a = await firstHost(10);
    // A fresh host: the database restored from the replica, an empty local L0 directory.
    const db = await restoredAt(a.remote);
    const clock = new ManualClock(T0 + 3600_000);
    const src = new FakeSource(memoryReplica(), clock, { db, seed: 99 });
    const rep = new Replicator(src, [a.remote], { clock, compaction: NO_LADDER });
    a.store.reset();
    src.commit(1);
    expect(await rep.sync()).toBe(11n);
    expect(src.adopted.map((x) => x.txid)).toEqual([10n]);
    expect(src.adopted[0]!.file).toEqual(await a.remote.store.get("ltx/0/000000000000000a-000000000000000a.ltx"));
    expect(a.store.puts).toEqual(["ltx/0/000000000000000b-000000000000000b.ltx"]);
    expect(a.store.lists).toEqual(["ltx/0/"]);
    expect((await listLevel(a.remote, 0)).map((f) => f.maxTXID)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n]);
    expect(await restoredAt(a.remote, 10n)).toEqual(a.src.images.get(10n));
    expect(await restoredAt(a.remote, 11n)).toEqual(src.db);
    await rep.close();
  });

  it("a remote holding another database's chain (local behind it) is REPLICA_MISMATCH and nothing is written", async () => {
    const a = await firstHost(10, 7);
    const clock = new ManualClock(T0);
    const local = memoryReplica();
    const src = new FakeSource(local, clock, { seed: 1234 });
    // Three TXIDs captured locally, never uploaded (another database).
    const pre = new Replicator(src, [], { clock });
    for (let i = 0; i < 3; i++) (src.commit(), await pre.sync());
    a.store.reset();
    const rep = new Replicator(src, [a.remote], { clock, compaction: NO_LADDER });
    src.commit();
    await expect(rep.sync()).rejects.toMatchObject({ code: "REPLICA_MISMATCH" });
    expect(rep.status().replicas[0]).toMatchObject({ stopped: true, remoteTXID: 0n });
    expect(rep.status().lastError?.code).toBe("REPLICA_MISMATCH");
    expect(String(rep.status().lastError?.message)).toMatch(/differs from the local one/);
    expect(src.adopted).toEqual([]);
    expect(a.store.puts).toEqual([]);
    expect(a.store.deletes).toEqual([]);
    // The local chain is untouched too.
    expect((await listLevel(local, 0)).map((f) => f.maxTXID)).toEqual([1n, 2n, 3n, 4n]);
    await expect(rep.close()).rejects.toMatchObject({ code: "REPLICA_MISMATCH" });
  });

  it("a remote behind the local position whose last TXID differs from the local one is REPLICA_MISMATCH", async () => {
    const a = await firstHost(3, 7);
    const clock = new ManualClock(T0);
    const src = new FakeSource(memoryReplica(), clock, { seed: 555 });
    const rep = new Replicator(src, [], { clock });
    for (let i = 0; i < 6; i++) (src.commit(), await rep.sync());
    a.store.reset();
    const rep2 = new Replicator(src, [a.remote], { clock, compaction: NO_LADDER });
    await expect(rep2.sync()).rejects.toMatchObject({ code: "REPLICA_MISMATCH" });
    expect(a.store.puts).toEqual([]);
    await rep2.close().catch(() => {});
  });

  it("a restart with the same local chain is no mismatch: the upload resumes where the replica stopped", async () => {
    const clock = new ManualClock(T0);
    const store = new CountingStore(new MemoryStore());
    const remote = memoryReplica(store);
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [remote], { clock, compaction: NO_LADDER });
    for (let i = 0; i < 4; i++) (src.commit(), await rep.sync());
    // The process stops with two TXIDs captured but not uploaded.
    store.fault = (op) => (op === "put" ? new TypeError("network down") : null);
    for (let i = 0; i < 2; i++) (src.commit(), await rep.tick());
    store.fault = () => null;
    store.reset();
    const rep2 = new Replicator(src, [remote], { clock, compaction: NO_LADDER });
    expect(await rep2.sync()).toBe(6n);
    expect(store.puts).toEqual(["ltx/0/0000000000000005-0000000000000005.ltx", "ltx/0/0000000000000006-0000000000000006.ltx"]);
    expect(src.adopted).toEqual([]);
    for (let t = 1n; t <= 6n; t++) expect(await restoredAt(remote, t)).toEqual(src.images.get(t));
    await rep2.close();
  });

  it("a remote ahead that no longer holds the local position's L0 file cannot be proven a continuation: REPLICA_MISMATCH", async () => {
    const a = await firstHost(10);
    const clock = new ManualClock(T0);
    const local = memoryReplica();
    // The local chain is the first host's up to TXID 4: copy its files 1..4.
    const b = new FakeSource(local, clock);
    for (let t = 1n; t <= 4n; t++) {
      const k = `ltx/0/${t.toString(16).padStart(16, "0")}-${t.toString(16).padStart(16, "0")}.ltx`;
      await local.store.put(k, (await a.remote.store.get(k))!);
    }
    await a.remote.store.delete(["ltx/0/0000000000000004-0000000000000004.ltx"]);
    a.store.reset();
    const rep = new Replicator(b, [a.remote], { clock, compaction: NO_LADDER });
    await expect(rep.sync()).rejects.toMatchObject({ code: "REPLICA_MISMATCH", message: expect.stringMatching(/no longer holds L0 TXID 0000000000000004/) });
    expect(b.adopted).toEqual([]);
    expect(a.store.puts).toEqual([]);
    await rep.close().catch(() => {});
  });

  it("adopting far ahead of a local chain: the old local files go once uploaded, by listing rather than by 5000 keys", async () => {
    const a = await firstHost(3);
    const clock = new ManualClock(T0);
    const localStore = new CountingStore(new MemoryStore());
    const local = memoryReplica(localStore);
    for (let t = 1n; t <= 3n; t++) {
      const k = `ltx/0/${t.toString(16).padStart(16, "0")}-${t.toString(16).padStart(16, "0")}.ltx`;
      await local.store.put(k, (await a.remote.store.get(k))!);
    }
    // Another host continued the chain up to TXID 5000 (its last L0 file, and a snapshot).
    const db = a.src.images.get(3n)!;
    const pages = Array.from({ length: db.length / PS }, (_, i) => ({ pgno: i + 1, data: db.slice(i * PS, (i + 1) * PS) }));
    const hdr = (min: bigint, max: bigint) => ({ flags: 2, pageSize: PS, commit: pages.length, minTXID: min, maxTXID: max, timestamp: T0, preApplyChecksum: 0n, walOffset: 32, walSize: 0, walSalt1: 0, walSalt2: 0, nodeID: 0n });
    await writeLtxFile(a.remote, 9, 1n, 4999n, encodeLtxBytes(hdr(1n, 4999n), pages), T0);
    await writeLtxFile(a.remote, 0, 5000n, 5000n, encodeLtxBytes(hdr(5000n, 5000n), pages.slice(0, 1)), T0);
    const src = new FakeSource(local, clock, { db, pos: 3n, seed: 11 });
    const rep = new Replicator(src, [a.remote], { clock, compaction: NO_LADDER });
    localStore.reset();
    src.commit();
    expect(await rep.sync()).toBe(5001n);
    expect(src.adopted.map((x) => x.txid)).toEqual([5000n]);
    expect((await listLevel(local, 0)).map((f) => f.maxTXID)).toEqual([5001n]);
    expect(localStore.deletes.sort()).toEqual(["ltx/0/0000000000000001-0000000000000001.ltx", "ltx/0/0000000000000002-0000000000000002.ltx", "ltx/0/0000000000000003-0000000000000003.ltx", "ltx/0/0000000000001388-0000000000001388.ltx"]);
    expect(await restoredAt(a.remote)).toEqual(src.db);
    await rep.close();
  });
});
