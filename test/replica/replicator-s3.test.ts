/** The Replicator against a real S3 server (Ceph RGW): requests per sync, restart, outage, adoption. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { openReplicaFromEnv } from "../../lib/adapters/replica-node.ts";
import { ManualClock } from "../../lib/replica/clock.ts";
import { listLevel } from "../../lib/replica/list.ts";
import { Replicator } from "../../lib/replica/replicator.ts";
import { restore, BytesSink } from "../../lib/replica/restore.ts";
import { s3Layout } from "../../lib/replica/layout.ts";
import type { Replica } from "../../lib/replica/url.ts";
import { S3Store } from "../../lib/store/s3.ts";
import { formatRFC3339Nano } from "../../lib/ltx/txid.ts";
import { s3env, skipS3 } from "../store/s3-env.ts";
import { FakeSource } from "./fake-source.ts";
import { CountingStore, http503, netError } from "./instrumented.ts";

function s3Replica(prefix: string): { replica: Replica; store: CountingStore } {
  const store = new CountingStore(new S3Store({ ...s3env }));
  return { store, replica: { url: `s3://${s3env.bucket}/${prefix}`, kind: "s3", store, layout: s3Layout(prefix), timestampFromMetadata: true } };
}

async function restoredAt(r: Replica, txid?: bigint): Promise<Uint8Array> {
  const sink = new BytesSink();
  await restore(r, { sink, ...(txid === undefined ? {} : { txid }) });
  return sink.bytes();
}

const NO_LADDER = { levels: [], l0Retention: 0 };
const key = (p: string, l: number, a: bigint, b: bigint) => `${p}/${l.toString(16).padStart(4, "0")}/${a.toString(16).padStart(16, "0")}-${b.toString(16).padStart(16, "0")}.ltx`;

describe.skipIf(skipS3)("Replicator on S3 (Ceph RGW)", () => {
  it("one LIST at start, one PUT per TXID, a restart resumes without re-uploading, an outage drains without a gap", async () => {
    const prefix = `replicator-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const { store, replica } = s3Replica(prefix);
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-repl-s3-"));
    const clock = new ManualClock(Date.now());
    const src = new FakeSource(openReplicaFromEnv(dir), clock);
    const rep = new Replicator(src, [replica], { clock, compaction: NO_LADDER, retries: { initialDelay: 100, maxDelay: 400 } });
    for (let i = 0; i < 6; i++) {
      src.commit();
      expect(await rep.sync()).toBe(BigInt(i + 1));
      clock.skip(1000);
    }
    expect(store.lists).toEqual([`${prefix}/0000/`]);
    expect(store.puts).toEqual([1n, 2n, 3n, 4n, 5n, 6n].map((t) => key(prefix, 0, t, t)));
    // An outage of 503s and resets, then recovery.
    let n = 0;
    store.fault = (op) => (op === "put" && n++ < 5 ? (n % 2 ? http503() : netError()) : null);
    for (let i = 0; i < 3; i++) {
      src.commit();
      await rep.tick();
      clock.skip(1000);
    }
    expect(rep.status().replicas[0]!.remoteTXID).toBeLessThan(9n);
    const done = rep.sync({ timeout: 60_000 });
    await clock.advance(10_000);
    expect(await done).toBe(9n);
    await rep.close();
    // A new process on the same local directory and replica.
    store.reset();
    store.fault = () => null;
    const rep2 = new Replicator(src, [replica], { clock, compaction: NO_LADDER });
    src.commit();
    expect(await rep2.sync()).toBe(10n);
    expect(store.lists).toEqual([`${prefix}/0000/`]);
    expect(store.puts).toEqual([key(prefix, 0, 10n, 10n)]);
    await rep2.close();
    expect((await listLevel(replica, 0)).map((f) => f.maxTXID)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i + 1)));
    for (let t = 1n; t <= 10n; t++) expect(await restoredAt(replica, t)).toEqual(src.images.get(t));
    // The timestamp metadata Go reads for timestamp restores.
    const h = await replica.store.head(key(prefix, 0, 10n, 10n));
    expect(h?.metadata?.["litestream-timestamp"]).toBe(formatRFC3339Nano(clock.now()));
    // A fresh host: adopts TXID 10 from S3 and continues at 11.
    const clock2 = new ManualClock(clock.now() + 60_000);
    const fresh = new FakeSource(openReplicaFromEnv(mkdtempSync(join(tmpdir(), "ltxkit-repl-s3-fresh-"))), clock2, { db: await restoredAt(replica), seed: 3 });
    const rep3 = new Replicator(fresh, [replica], { clock: clock2, compaction: NO_LADDER });
    fresh.commit();
    expect(await rep3.sync()).toBe(11n);
    expect(fresh.adopted.map((a) => a.txid)).toEqual([10n]);
    await rep3.close();
    expect(await restoredAt(replica)).toEqual(fresh.db);
    await replica.store.delete((await listLevel(replica, 0)).map((f) => f.key));
  });
});
