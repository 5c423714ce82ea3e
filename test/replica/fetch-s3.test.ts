/** Streamed restore against a real S3 server (Ceph RGW): parts, resumed bodies, closed bodies. */
import { describe, it, expect } from "vitest";
import { httpFetch } from "../../lib/adapters/http-fetch.ts";
import { fetchFile } from "../../lib/replica/fetch.ts";
import { PermitCounter } from "../../lib/replica/permits.ts";
import { s3Layout } from "../../lib/replica/layout.ts";
import { restore } from "../../lib/replica/restore.ts";
import { BytesSink } from "../../lib/replica/sinks.ts";
import type { Replica } from "../../lib/replica/replica.ts";
import { S3Store } from "../../lib/store/s3.ts";
import { s3env, skipS3 } from "../store/s3-env.ts";
import { InstrumentedStore, join2, randomBytes, same, writeBigChain } from "./instrumented.ts";

const PART = 256 * 1024;

function s3Replica(transport: "fetch" | "node:http"): { r: Replica; store: InstrumentedStore } {
  const s3 = new S3Store({ ...s3env, ...(transport === "node:http" ? { fetch: httpFetch } : {}) });
  const store = new InstrumentedStore(s3, "s3");
  const prefix = `stream-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  return { r: { url: `s3://${s3env.bucket}/${prefix}`, kind: "s3", store, layout: s3Layout(prefix), timestampFromMetadata: true }, store };
}

describe.skipIf(skipS3)("streamed restore from S3 (Ceph RGW)", () => {
  for (const transport of ["fetch", "node:http"] as const) {
    it(`restore() over ${transport} streams every part byte for byte and resumes a cut body at its byte`, async () => {
      const { r, store } = s3Replica(transport);
      const db = await writeBigChain(r, 3, 600);
      const first = (k: string) => k.endsWith("0000000000000001-0000000000000001.ltx");
      // The first file's second part is cut 100 000 bytes in (connection reset), once.
      let cuts = 0;
      store.cut = (key, offset) => (first(key) && offset === PART && cuts++ === 0 ? { after: 100_000, how: "error" } : null);
      const sink = new BytesSink();
      const res = await restore(r, { sink, partSize: PART, ahead: 1, memoryBudget: 256 * 1024 });
      expect(same(sink.bytes(), db)).toBe(true);
      const parts = res.plan.reduce((s, f) => s + Math.ceil(f.size / PART), 0);
      expect(store.streams.length).toBe(parts + 1);
      expect(store.streams.filter((s) => first(s.key)).map((s) => s.offset).filter((o) => o > 0 && o < 2 * PART)).toEqual([PART, PART + 100_000]);
      expect(store.open).toBe(0);
      await drop(r);
    });
  }

  it("fetchFile() closes open S3 bodies when the consumer stops", async () => {
    const { r, store } = s3Replica("node:http");
    const data = randomBytes(4 * PART, 11);
    const key = `${r.layout.root}/blob`;
    await store.inner.put(key, data);
    const limit = new PermitCounter(4);
    const it = fetchFile(store, key, data.length, limit, { partSize: PART, ahead: 2 });
    const got = [(await it.next()).value!.slice()];
    await it.return(undefined);
    expect(store.open).toBe(0);
    expect(limit.free).toBe(4);
    // The file still reads whole afterwards.
    for await (const c of fetchFile(store, key, data.length, limit, { partSize: PART })) got.push(c.slice());
    expect(same(join2(got.slice(1)), data)).toBe(true);
    await store.inner.delete([key]);
  });
});

async function drop(r: Replica): Promise<void> {
  const keys: string[] = [];
  for await (const o of r.store.list(r.layout.root + "/")) keys.push(o.key);
  await r.store.delete(keys);
}
