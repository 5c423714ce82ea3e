import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { LtxError } from "../../lib/errors.ts";
import { fetchFile } from "../../lib/replica/fetch.ts";
import { Budget, PermitCounter } from "../../lib/replica/permits.ts";
import { restore } from "../../lib/replica/restore.ts";
import { BytesSink } from "../../lib/replica/sinks.ts";
import { memoryReplica } from "../../lib/replica/replica.ts";
import { FileSink } from "../../lib/adapters/fs-sink.ts";
import type { ByteRange, GetOptions } from "../../lib/store/blob-store.ts";
import { MemoryStore } from "../../lib/store/memory.ts";
import { writeL0Chain } from "./fixtures.ts";
import { InstrumentedStore, join2, randomBytes, same, writeBigChain } from "./instrumented.ts";

const CHUNK = 16 * 1024;
const PART = 256 * 1024;

/** Lets pending reads and pumps run until nothing more happens (a fixed number of turns, no clock). */
async function settle(): Promise<void> {
  for (let i = 0; i < 200; i++) await new Promise((r) => setTimeout(r, 0));
}

describe("fetchFile", () => {
  it("fetchFile() reads large parts in few requests while buffering a few chunks per file", async () => {
    const store = new InstrumentedStore(new MemoryStore());
    const files = [0, 1, 2, 3].map((i) => ({ key: `f${i}`, data: randomBytes(5 * PART + 1000 * (i + 1), i + 1) }));
    for (const f of files) await store.inner.put(f.key, f.data);
    const limit = new PermitCounter(2);
    const budget = new Budget(0);
    const o = { partSize: PART, chunkSize: CHUNK, ahead: 1 };
    const its = files.map((f) => fetchFile(store, f.key, f.data.length, limit, o, budget));
    const got: Uint8Array[][] = files.map(() => []);
    let yielded = 0;
    let maxAhead = 0;
    // Advance the files together, as the compactor does.
    for (let live = files.length; live > 0; ) {
      live = 0;
      for (let i = 0; i < its.length; i++) {
        const r = await its[i]!.next();
        if (r.done) continue;
        live++;
        got[i]!.push(r.value.slice());
        yielded += r.value.length;
        maxAhead = Math.max(maxAhead, store.pulled - yielded);
      }
    }
    for (let i = 0; i < files.length; i++) expect(same(join2(got[i]!), files[i]!.data)).toBe(true);
    // One GET per part (6 parts per file), however many chunks it streamed.
    expect(store.streams.length).toBe(files.length * 6);
    expect(store.streams.filter((s) => s.key === "f2").map((s) => s.offset)).toEqual([0, 1, 2, 3, 4, 5].map((k) => k * PART));
    // No read-ahead budget: nothing is read before a consumer asks for it, whatever the part size.
    expect(maxAhead).toBe(0);
    expect(store.open).toBe(0);
    expect(limit.free).toBe(2);
  });

  it("fetchFile() reads ahead within the shared budget and opens the next part early", async () => {
    const store = new InstrumentedStore(new MemoryStore());
    const data = randomBytes(8 * PART, 9);
    await store.inner.put("f", data);
    await store.inner.put("g", data);
    const budget = new Budget(5 * CHUNK);
    const o = { partSize: PART, chunkSize: CHUNK, ahead: 2 };
    const limit = new PermitCounter(8);
    const a = fetchFile(store, "f", data.length, limit, o, budget);
    const b = fetchFile(store, "g", data.length, limit, o, budget);
    const first = [(await a.next()).value as Uint8Array, (await b.next()).value as Uint8Array];
    await settle();
    // Both files opened their next two parts, and read ahead no more than the budget (plus the
    // chunk each pump had in flight when the budget ran out).
    expect(store.streams.length).toBe(6);
    expect(store.pulled - 2 * CHUNK).toBeGreaterThanOrEqual(5 * CHUNK);
    expect(store.pulled - 2 * CHUNK).toBeLessThanOrEqual(5 * CHUNK + 4 * CHUNK);
    const rest = [[first[0]!.slice()], [first[1]!.slice()]];
    for (const [i, it] of [a, b].entries()) for await (const c of it) rest[i]!.push(c.slice());
    expect(same(join2(rest[0]!), data)).toBe(true);
    expect(same(join2(rest[1]!), data)).toBe(true);
    expect(budget.left).toBe(5 * CHUNK);
    expect(store.open).toBe(0);
    expect(limit.free).toBe(8);
  });

  it("fetchFile() resumes a cut or failed body at the byte where it stopped", async () => {
    for (const how of ["error", "end"] as const) {
      const store = new InstrumentedStore(new MemoryStore());
      const data = randomBytes(3 * PART, 3);
      await store.inner.put("f", data);
      const cutAt = PART + 5 * CHUNK + 123;
      // The second part's body (offset PART) is cut after 5 chunks and 123 bytes, once.
      store.cut = (_k, offset) => (offset === PART ? { after: 5 * CHUNK + 123, how } : null);
      const parts: Uint8Array[] = [];
      for await (const c of fetchFile(store, "f", data.length, new PermitCounter(1), { partSize: PART, chunkSize: CHUNK, ahead: 0 })) parts.push(c.slice());
      expect(same(join2(parts), data)).toBe(true);
      expect(store.streams.map((s) => [s.offset, s.length])).toEqual([
        [0, PART],
        [PART, PART],
        [cutAt, 2 * PART - cutAt],
        [2 * PART, PART],
      ]);
    }
  });

  it("fetchFile() gives up after bounded attempts with a typed error and closes the body", async () => {
    const store = new InstrumentedStore(new MemoryStore());
    const data = randomBytes(2 * PART, 4);
    await store.inner.put("f", data);
    store.cut = (_k, offset) => (offset >= PART ? { after: 0, how: "error" } : null);
    const it = fetchFile(store, "f", data.length, new PermitCounter(1), { partSize: PART, chunkSize: CHUNK, attempts: 3 });
    const err = await (async () => {
      for await (const _ of it);
    })().catch((e) => e);
    expect(err).toBeInstanceOf(LtxError);
    expect(err.code).toBe("STORE_ERROR");
    expect(store.streams.filter((s) => s.offset === PART).length).toBe(3);
    expect(store.open).toBe(0);
  });

  it("fetchFile() does not retry a file that disappeared", async () => {
    const store = new InstrumentedStore(new MemoryStore());
    const it = fetchFile(store, "gone", 1000, new PermitCounter(1), {});
    await expect(it.next()).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(store.streams.length).toBe(1);
  });

  it("fetchFile() closes every open body when the consumer stops", async () => {
    const store = new InstrumentedStore(new MemoryStore());
    const data = randomBytes(6 * PART, 5);
    await store.inner.put("f", data);
    const budget = new Budget(3 * CHUNK);
    const limit = new PermitCounter(4);
    const it = fetchFile(store, "f", data.length, limit, { partSize: PART, chunkSize: CHUNK, ahead: 2 }, budget);
    await it.next();
    await settle();
    expect(store.open).toBe(3);
    await it.return(undefined);
    expect(store.open).toBe(0);
    expect(store.cancelled).toBe(3);
    expect(budget.left).toBe(3 * CHUNK);
    expect(limit.free).toBe(4);
  });
});

describe("restore over streamed parts", () => {
  it("restore() streams every file byte for byte, one request per file part, with bytes progress", async () => {
    const store = new InstrumentedStore(new MemoryStore());
    const r = memoryReplica(store);
    const db = await writeBigChain(r, 5, 800);
    const sink = new BytesSink();
    let last = { bytes: 0, bytesTotal: -1 };
    const res = await restore(r, { sink, partSize: PART, chunkSize: CHUNK, parallelism: 2, onProgress: (p) => (last = p) });
    expect(same(sink.bytes(), db)).toBe(true);
    expect(store.streams.length).toBe(res.plan.reduce((s, f) => s + Math.ceil(f.size / PART), 0));
    expect(last.bytes).toBe(last.bytesTotal);
    expect(store.open).toBe(0);
  });

  it("restore() cannot deadlock when files outnumber the request limit", async () => {
    const store = new InstrumentedStore(new MemoryStore());
    const r = memoryReplica(store);
    const db = await writeBigChain(r, 6, 400);
    const sink = new BytesSink();
    // One permit, six files each reading several parts, parts opened ahead and a budget: every
    // file's current part still proceeds.
    await restore(r, { sink, partSize: 64 * 1024, chunkSize: CHUNK, parallelism: 1, ahead: 2, memoryBudget: 4 * CHUNK });
    expect(same(sink.bytes(), db)).toBe(true);
    expect(store.maxOpen).toBeLessThanOrEqual(6);
  });

  it("restore() resumes a body cut mid-file and restores byte for byte", async () => {
    const store = new InstrumentedStore(new MemoryStore());
    const r = memoryReplica(store);
    const db = await writeBigChain(r, 3, 600);
    store.cut = (key, offset, nth) => (key.includes("0000000000000001-0000000000000001") && offset === 0 && nth === 1 ? { after: 3 * CHUNK + 7, how: "error" } : null);
    const sink = new BytesSink();
    await restore(r, { sink, chunkSize: CHUNK });
    expect(same(sink.bytes(), db)).toBe(true);
    const first = store.streams.filter((s) => s.key.includes("0000000000000001-0000000000000001"));
    expect(first.map((s) => s.offset)).toEqual([0, 3 * CHUNK + 7]);
  });

  it("restore() leaves no output and no open bodies when a file fails for good mid-restore", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-fetch-"));
    const store = new InstrumentedStore(new MemoryStore());
    const r = memoryReplica(store);
    await writeL0Chain(r, 8, { pageSize: 65536 });
    store.inner.getStream = ((orig) => async (key: string, range?: ByteRange, opts?: GetOptions) => {
      if (key.includes("0000000000000001-0000000000000001") && (range?.offset ?? 0) > 0) throw new LtxError("STORE_AUTH", "injected failure");
      return orig(key, range, opts);
    })(store.inner.getStream.bind(store.inner));
    const out = join(dir, "out.db");
    await expect(restore(r, { sink: new FileSink(out), partSize: 64 * 1024, chunkSize: CHUNK })).rejects.toMatchObject({ code: "STORE_AUTH" });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    expect(store.open).toBe(0);
  });

  it("restore() stops with ABORTED when its signal aborts, closing open bodies", async () => {
    const store = new InstrumentedStore(new MemoryStore());
    const r = memoryReplica(store);
    await writeBigChain(r, 3, 600);
    const ctl = new AbortController();
    // A sink that aborts the restore once some pages are written.
    const sink = new BytesSink();
    const write = sink.write.bind(sink);
    sink.write = async (pgno, data) => {
      if (pgno === 100) ctl.abort();
      return write(pgno, data);
    };
    const p = restore(r, { sink, chunkSize: CHUNK, signal: ctl.signal });
    await expect(p).rejects.toMatchObject({ code: "ABORTED" });
    expect(store.open).toBe(0);
  });
});
