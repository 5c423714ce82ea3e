import { mkdtempSync, readFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { memoryReplica } from "../../lib/replica/replica.ts";
import { restore } from "../../lib/replica/restore.ts";
import { BytesSink } from "../../lib/replica/sinks.ts";
import { openReplicaFromEnv } from "../../lib/adapters/replica-node.ts";
import { FileSink } from "../../lib/adapters/fs-sink.ts";
import { writeL0Chain } from "./fixtures.ts";

describe("restore", () => {
  it("restores latest and every TXID of an L0 chain byte for byte", async () => {
    const r = memoryReplica();
    const steps = await writeL0Chain(r, 25);
    for (const s of [steps[24]!, steps[0]!, steps[6]!, steps[13]!]) {
      const sink = new BytesSink();
      const res = await restore(r, { txid: s === steps[24] ? undefined : s.txid, sink, parallelism: 3 });
      expect(res.txid).toBe(s.txid);
      expect(sink.bytes()).toEqual(s.db);
    }
    const sink = new BytesSink();
    await restore(r, { timestamp: new Date(steps[9]!.timestamp + 1), sink });
    expect(sink.bytes()).toEqual(steps[9]!.db);
  });

  it("writes a file atomically and leaves nothing behind on failure", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-restore-"));
    const r = openReplicaFromEnv(join(dir, "replica"));
    const steps = await writeL0Chain(r, 12, { pageSize: 1024 });
    const out = join(dir, "out.db");
    await restore(r, { sink: new FileSink(out), partSize: 64 * 1024 });
    expect(new Uint8Array(readFileSync(out))).toEqual(steps[11]!.db);
    await expect(restore(r, { sink: new FileSink(out) })).rejects.toMatchObject({ code: "OUTPUT_EXISTS" });
    // Corrupt one L0 file: the restore fails and no output appears.
    const victim = join(dir, "replica", "ltx", "0", "0000000000000005-0000000000000005.ltx");
    const b = new Uint8Array(readFileSync(victim));
    b[b.length - 1]! ^= 0xff;
    (await import("node:fs")).writeFileSync(victim, b);
    const out2 = join(dir, "out2.db");
    await expect(restore(r, { sink: new FileSink(out2) })).rejects.toMatchObject({ code: "CHECKSUM_MISMATCH" });
    expect(existsSync(out2)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes("ltxkit-tmp"))).toEqual([]);
  });
});

describe("restore to a stream", () => {
  it("streams the database with backpressure", async () => {
    const { StreamSink } = await import("../../lib/replica/sinks.ts");
    const r = memoryReplica();
    const steps = await writeL0Chain(r, 6);
    const sink = new StreamSink(4);
    const done = restore(r, { sink });
    const parts: Uint8Array[] = [];
    for await (const c of sink.readable as unknown as AsyncIterable<Uint8Array>) parts.push(c);
    await done;
    const db = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) (db.set(p, o), (o += p.length));
    expect(db).toEqual(steps[5]!.db);
  });
});
