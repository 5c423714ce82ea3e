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
  it("restores latest, every TXID and the state at every file's timestamp of a 25-file L0 chain byte for byte", async () => {
    const r = memoryReplica();
    const steps = await writeL0Chain(r, 25, { pageSize: 512 });
    const latest = new BytesSink();
    expect((await restore(r, { sink: latest, parallelism: 3 })).txid).toBe(25n);
    expect(latest.bytes()).toEqual(steps[24]!.db);
    for (const s of steps) {
      const sink = new BytesSink();
      const res = await restore(r, { txid: s.txid, sink, parallelism: 3 });
      expect(res.txid, `TXID ${s.txid}`).toBe(s.txid);
      expect(sink.bytes(), `TXID ${s.txid}`).toEqual(s.db);
      // Files created strictly before the timestamp: 1 ms after this file's time gives this state.
      const at = new BytesSink();
      expect((await restore(r, { timestamp: new Date(s.timestamp + 1), sink: at })).txid, `timestamp of TXID ${s.txid}`).toBe(s.txid);
      expect(at.bytes(), `timestamp of TXID ${s.txid}`).toEqual(s.db);
    }
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
  it("streams the database with backpressure: a consumer that stops reading stops the restore within the high-water mark", async () => {
    const { StreamSink } = await import("../../lib/replica/sinks.ts");
    const r = memoryReplica();
    const steps = await writeL0Chain(r, 6, { pageSize: 512 });
    const total = steps[5]!.db.length / 512;
    const HWM = 3;
    expect(total, "the database is well above the high-water mark").toBeGreaterThan(HWM * 3);
    const sink = new StreamSink(HWM);
    let written = 0;
    const write = sink.write.bind(sink);
    sink.write = (pgno, data) => ((written += 1), write(pgno, data));
    let finished = false;
    const done = restore(r, { sink }).finally(() => (finished = true));
    // Let the restore run as far as it can while nobody reads: it stops once the queue is full.
    const settle = async () => {
      for (let i = 0, last = -1, still = 0; i < 2000 && still < 50; i++, still = written === last ? still + 1 : 0, last = written) await new Promise((res) => setTimeout(res, 0));
    };
    await settle();
    expect(written, "pages produced with no reader").toBeLessThanOrEqual(HWM);
    expect(written).toBeGreaterThan(0);
    expect(finished).toBe(false);
    // Each page read lets at most one more page be produced.
    const reader = sink.readable.getReader();
    const parts: Uint8Array[] = [];
    for (let read = 1; read <= 4; read++) {
      const c = await reader.read();
      parts.push(c.value!);
      await settle();
      expect(written - read, `pages queued ahead after ${read} reads`).toBeLessThanOrEqual(HWM);
      expect(finished).toBe(false);
    }
    for (let c = await reader.read(); !c.done; c = await reader.read()) parts.push(c.value);
    await done;
    expect(written).toBe(total);
    const db = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) (db.set(p, o), (o += p.length));
    expect(db).toEqual(steps[5]!.db);
  });
});
