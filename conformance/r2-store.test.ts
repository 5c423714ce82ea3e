/**
 * R2Store against miniflare's R2 (workerd): the BlobStore conformance suite every store passes,
 * through the bucket binding miniflare exposes to Node (`getR2Bucket`), plus R2Store inside a
 * worker on the binding itself, and the lock.json lease over it (probe, racing writers).
 */
import { afterAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import type { Miniflare as MiniflareT } from "miniflare";
import { R2Store, type R2BucketLike } from "../lib/store/r2.ts";
import { storeSuite } from "../test/store/suite.ts";
import { bundleWorker, root, skipWithoutWorkerd } from "./workerd/harness.ts";

const skip = skipWithoutWorkerd();
let mf: MiniflareT | undefined;

async function start(): Promise<MiniflareT> {
  if (!mf) {
    const { Miniflare } = await import("miniflare");
    const code = await bundleWorker(join(root, "conformance", "workerd", "r2-worker.ts"));
    mf = new Miniflare({ modules: [{ type: "ESModule", path: "worker.mjs", contents: code }], compatibilityDate: "2026-07-01", r2Buckets: ["BUCKET"] });
  }
  return mf;
}

afterAll(async () => {
  await mf?.dispose();
});

storeSuite("r2 (miniflare)", async () => new R2Store((await (await start()).getR2Bucket("BUCKET")) as unknown as R2BucketLike, { listLimit: 7, deleteBatch: 16 }), { metadata: true, skip });

describe.skipIf(skip)("R2Store inside a worker", () => {
  it("puts, reads ranges, lists with a cursor, refuses conditional puts with PRECONDITION_FAILED and deletes in batches on the binding", async () => {
    const m = await start();
    const r = await m.dispatchFetch("http://worker/");
    const body = await r.text();
    expect(r.status, body).toBe(200);
    expect(JSON.parse(body)).toEqual({
      range: "234",
      tail: "89",
      past: 0,
      listed: 25,
      created: "PRECONDITION_FAILED",
      stale: "PRECONDITION_FAILED",
      casOk: true,
      after: 0,
      missing: null,
    });
  });
});

describe.skipIf(skip)("the single-writer lease on R2 inside a worker", () => {
  it("the probe passes; of five writers racing for a free lock one wins, none takes it unexpired, one of five takes the expired lock as generation 2 and the old holder's renewal is LEASE_LOST", async () => {
    const { Miniflare } = await import("miniflare");
    const code = await bundleWorker(join(root, "conformance", "workerd", "r2-lease-worker.ts"));
    const m = new Miniflare({ modules: [{ type: "ESModule", path: "worker.mjs", contents: code }], compatibilityDate: "2026-07-01", r2Buckets: ["BUCKET"] });
    try {
      const r = await m.dispatchFetch("http://worker/");
      const body = await r.text();
      expect(r.status, body).toBe(200);
      const held = Array(4).fill("LEASE_HELD");
      expect(JSON.parse(body)).toEqual({
        probe: "ok",
        free: { winners: 1, losers: held, generation: 1 },
        renewedGeneration: 1,
        early: { winners: 0, losers: Array(5).fill("LEASE_HELD") },
        expired: { winners: 1, losers: held, generation: 2 },
        stale: "LEASE_LOST",
        lock: { generation: 2, owner: true },
      });
    } finally {
      await m.dispose();
    }
  });
});
