/**
 * A database past 1 GiB crosses SQLite's lock page (the page holding PENDING_BYTE), which LTX files
 * never store. Restore writes it as zeros, as Go's DecodeDatabaseTo does, and every other page in
 * order around it — through a snapshot and an incremental file that both straddle it.
 */
import { describe, it, expect } from "vitest";
import { restore } from "../../lib/replica/restore.ts";
import type { PageSink } from "../../lib/replica/sinks.ts";
import { memoryReplica } from "../../lib/replica/replica.ts";
import { LOCK_PGNO, LOCK_PS, writeLockPageReplica } from "./fixtures.ts";

/** Keeps what it is given, not the bytes: pgno order, the lock page's content, each page's stamp. */
class CheckingSink implements PageSink {
  order: number[] = [];
  lockPage: Uint8Array | null = null;
  stamps = new Map<number, [number, number]>();
  opened: [number, number] | null = null;
  committed = false;
  async open(pageSize: number, commit: number): Promise<void> {
    this.opened = [pageSize, commit];
  }
  async write(pgno: number, data: Uint8Array): Promise<void> {
    this.order.push(pgno);
    const v = new DataView(data.buffer, data.byteOffset, data.length);
    if (pgno === LOCK_PGNO) this.lockPage = data.slice();
    else this.stamps.set(pgno, [v.getUint32(0), v.getUint32(data.length - 4)]);
  }
  async commit(): Promise<void> {
    this.committed = true;
  }
  async abort(): Promise<void> {}
}

describe("restore across the lock page", () => {
  it("writes the lock page as zeros and every other page in order, newest version winning", async () => {
    const replica = memoryReplica();
    const { commit, changed } = await writeLockPageReplica(replica);
    const sink = new CheckingSink();
    const r = await restore(replica, { sink });
    expect(r.txid).toBe(2n);
    expect(sink.opened).toEqual([LOCK_PS, commit]);
    expect(sink.committed).toBe(true);
    expect(sink.order).toEqual(Array.from({ length: commit }, (_, i) => i + 1));
    expect(sink.lockPage).toEqual(new Uint8Array(LOCK_PS));
    for (let p = 1; p <= commit; p++) {
      if (p === LOCK_PGNO) continue;
      expect(sink.stamps.get(p), `page ${p}`).toEqual([p, changed.includes(p) ? 2 : 1]);
    }
  }, 120_000);
});
