import { describe, it, expect } from "vitest";
import { ManualClock } from "../../lib/replica/clock.ts";
import { Replicator } from "../../lib/replica/replicator.ts";
import { memoryReplica } from "../../lib/replica/replica.ts";
import { listLevel } from "../../lib/replica/list.ts";
import { restore } from "../../lib/replica/restore.ts";
import { BytesSink } from "../../lib/replica/sinks.ts";
import { MemoryStore } from "../../lib/store/memory.ts";
import { CountingStore, FakeSource } from "./fake-source.ts";

const day = (d: number, h = 0, m = 0, s = 0) => Date.UTC(2026, 0, d, h, m, s);
const iso = (t: number) => new Date(t).toISOString().slice(8, 19).replace("T", " ");
const range = (f: { minTXID: bigint; maxTXID: bigint }) => `${f.minTXID}-${f.maxTXID}`;

describe("Replicator: level ladder with Litestream's defaults", () => {
  it("writes L1/L2/L3/L9 in Go's epoch-aligned windows and deletes what retention allows, over four simulated days", async () => {
    const clock = new ManualClock(day(1, 0, 0, 7));
    const store = new CountingStore(new MemoryStore());
    const remote = memoryReplica(store);
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [remote], { clock });
    const log: string[] = [];
    const l0Deleted = new Map<bigint, number>();
    rep.addEventListener("compact", (e) => {
      const d = e.detail;
      if (d.file) log.push(`${iso(clock.now())} L${d.file.level} ${range(d.file)}`);
      for (const f of d.deleted ?? []) {
        if (f.level === 0) l0Deleted.set(f.maxTXID, clock.now());
        else log.push(`${iso(clock.now())} delete L${f.level} ${range(f)}`);
      }
    });
    rep.addEventListener("snapshot", (e) => log.push(`${iso(clock.now())} L9 ${range(e.detail.file)}`));
    const l0Created = new Map<bigint, number>();
    rep.addEventListener("sync", (e) => l0Created.set(e.detail.maxTXID, clock.now()));
    const run = async (until: number, step: number, commits = 0) => {
      for (let i = 0; clock.now() <= until; i++) {
        if (i < commits) src.commit(i % 10 === 0 ? 1 : 0);
        await rep.tick();
        clock.skip(step);
      }
    };
    // Day 1: a commit a second from 00:00:07 (TXIDs 1..100), then idle.
    await run(day(1, 0, 10), 1000, 100);
    await clock.set(day(1, 0, 11));
    await run(day(2, 0, 9), 60_000);
    // Day 2: TXIDs 101..110 from 00:10:05, then idle until day 4.
    await clock.set(day(2, 0, 10, 5));
    await run(day(2, 0, 20), 1000, 10);
    await clock.set(day(2, 0, 21));
    await run(day(4, 0, 1), 60_000);

    expect(log).toEqual([
      "01 00:00:07 L9 1-1", // no snapshot yet: one at startup
      "01 00:00:30 L1 1-24",
      "01 00:01:00 L1 25-54",
      "01 00:01:30 L1 55-84",
      "01 00:02:00 L1 85-100",
      "01 00:05:00 L2 1-100",
      "01 01:00:00 L3 1-100",
      "02 00:00:00 L9 1-100",
      "02 00:10:30 L1 101-110",
      "02 00:15:00 L2 101-110",
      "02 01:00:00 L3 101-110",
      "03 00:00:00 L9 1-110",
      "03 00:00:00 delete L9 1-1", // created before day 2 00:00
      // day 4: no new snapshot (the newest covers TXID 110); 1-100 expires, so the floor is 100
      "04 00:00:00 delete L9 1-100",
      "04 00:00:00 delete L1 1-24",
      "04 00:00:00 delete L1 25-54",
      "04 00:00:00 delete L1 55-84",
    ]);
    // Listings were read once per level, at the first step; everything since came from memory.
    expect(store.lists).toEqual(["ltx/0/", "ltx/1/", "ltx/2/", "ltx/3/", "ltx/9/"]);
    const levels = await Promise.all([0, 1, 2, 3, 9].map(async (l) => (await listLevel(remote, l)).map(range)));
    expect(levels).toEqual([["110-110"], ["85-100", "101-110"], ["1-100", "101-110"], ["1-100", "101-110"], ["1-110"]]);
    // L0 files go once covered by L1 and 5 min old (never earlier), the newest one stays.
    expect([...l0Deleted.keys()].sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 109 }, (_, i) => BigInt(i + 1)));
    for (const [t, at] of l0Deleted) expect(at - l0Created.get(t)!).toBeGreaterThanOrEqual(5 * 60_000);
    expect(Math.max(...[...l0Deleted].filter(([t]) => t <= 99n).map(([, at]) => at - l0Created.get(99n)!))).toBeLessThan(5 * 60_000 + 15_000 + 1000);
    expect(src.snapshots).toBe(3);
    for (const t of [undefined, 100n]) {
      const sink = new BytesSink();
      await restore(remote, { sink, ...(t ? { txid: t } : {}) });
      expect(sink.bytes()).toEqual(src.images.get(t ?? 110n));
    }
    await rep.close();
  });

  it("level-1 compaction reads its L0 inputs from the local copies (no GET of a remote L0 file); local L0 files stay until level 1 covers them", async () => {
    const clock = new ManualClock(day(1, 0, 0, 7));
    const store = new CountingStore(new MemoryStore());
    const remote = memoryReplica(store);
    const localStore = new CountingStore(new MemoryStore());
    const src = new FakeSource(memoryReplica(localStore), clock);
    const rep = new Replicator(src, [remote], { clock });
    const log: string[] = [];
    rep.addEventListener("compact", (e) => e.detail.file && log.push(`${iso(clock.now())} L${e.detail.file.level} ${range(e.detail.file)}`));
    for (let i = 0; clock.now() <= day(1, 0, 0, 40); i++) {
      if (i < 34) src.commit(i % 10 === 0 ? 1 : 0);
      await rep.tick();
      clock.skip(1000);
    }
    expect(log).toEqual(["01 00:00:30 L1 1-24"]);
    // The merge opened no remote object; every input came from the local store (24 merge inputs
    // streamed; the 34 uploads read each file whole, one get each, as the store is in memory).
    expect(store.counts.getStream).toBe(0);
    expect(store.counts.get).toBe(0);
    expect(localStore.counts.getStream).toBe(24);
    expect(localStore.counts.get).toBe(34);
    // Local L0 files go once level 1 holds them; 25..34 wait for the next level-1 compaction.
    expect((await listLevel(src.local, 0)).map((f) => f.maxTXID)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(25 + i)));
    const l1 = await listLevel(remote, 1);
    expect(l1.map(range)).toEqual(["1-24"]);
    const sink = new BytesSink();
    await restore(remote, { sink, txid: 24n });
    expect(sink.bytes()).toEqual(src.images.get(24n));
    store.reset(); // the restore's reads
    await clock.set(day(1, 0, 1, 0));
    await rep.tick();
    expect(log).toEqual(["01 00:00:30 L1 1-24", "01 00:01:00 L1 25-34"]);
    await rep.sync();
    expect((await listLevel(src.local, 0)).map((f) => f.maxTXID)).toEqual([34n]);
    expect(store.counts.getStream).toBe(0);
    await rep.close();
  });

  it("a tick() every 5 minutes catches up the passed 30 s windows one by one: the same L1 files as Go's timers", async () => {
    const clock = new ManualClock(day(1, 0, 0, 7));
    const remote = memoryReplica();
    const src = new FakeSource(memoryReplica(), clock);
    const rep = new Replicator(src, [remote], { clock });
    const log: string[] = [];
    rep.addEventListener("compact", (e) => e.detail.file && log.push(`${iso(clock.now())} L${e.detail.file.level} ${range(e.detail.file)}`));
    await rep.tick(); // startup at 00:00:07: TXID 1 and its snapshot
    for (let i = 2; i <= 100; i++) {
      clock.skip(1000);
      src.commit();
      await rep.sync(); // capture and upload only
    }
    await clock.set(day(1, 0, 5));
    await rep.tick();
    expect(log).toEqual(["01 00:05:00 L1 1-24", "01 00:05:00 L1 25-54", "01 00:05:00 L1 55-84", "01 00:05:00 L1 85-100", "01 00:05:00 L2 1-100"]);
    await rep.close();
  });
});
