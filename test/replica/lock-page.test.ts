/**
 * A database past 1 GiB crosses SQLite's lock page (the page holding PENDING_BYTE), which LTX files
 * never store. Restore writes it as zeros, as Go's DecodeDatabaseTo does, and every other page in
 * order around it — through a snapshot and an incremental file that both straddle it.
 */
import { describe, it, expect } from "vitest";
import { lockPgno } from "../../lib/ltx/checksum.ts";
import { encodeLtxBytes, type Page } from "../../lib/ltx/encoder.ts";
import { writeLtxFile } from "../../lib/replica/list.ts";
import { restore, type PageSink } from "../../lib/replica/restore.ts";
import { memoryReplica } from "../../lib/replica/url.ts";

const PS = 65536;
const LOCK = lockPgno(PS); // 16385: the page at byte offset 1 GiB

/** A page stamped with its number and the TXID that wrote it; zeros elsewhere (compresses well). */
function stamped(pgno: number, txid: number): Uint8Array {
  const p = new Uint8Array(PS);
  new DataView(p.buffer).setUint32(0, pgno);
  new DataView(p.buffer).setUint32(PS - 4, txid);
  return p;
}

/** Keeps what it is given, not the bytes: pgno order, the lock page's content, each page's stamp. */
class CheckingSink implements PageSink {
  order: number[] = [];
  lockPage: Uint8Array | null = null;
  stamps = new Map<number, [number, number]>();
  committed = false;
  async open(pageSize: number, commit: number): Promise<void> {
    expect([pageSize, commit]).toEqual([PS, LOCK + 2]);
  }
  async write(pgno: number, data: Uint8Array): Promise<void> {
    this.order.push(pgno);
    const v = new DataView(data.buffer, data.byteOffset, data.length);
    if (pgno === LOCK) this.lockPage = data.slice();
    else this.stamps.set(pgno, [v.getUint32(0), v.getUint32(PS - 4)]);
  }
  async commit(): Promise<void> {
    this.committed = true;
  }
  async abort(): Promise<void> {}
}

describe("restore across the lock page", () => {
  it("writes the lock page as zeros and every other page in order, newest version winning", async () => {
    const replica = memoryReplica();
    const commit = LOCK + 2;
    const header = (txid: number) => ({ flags: 2, pageSize: PS, commit, minTXID: BigInt(txid), maxTXID: BigInt(txid), timestamp: 1_760_000_000_000 + txid, preApplyChecksum: 0n, walOffset: 32, walSize: 0, walSalt1: 0, walSalt2: 0, nodeID: 0n });
    // Pages made as the encoder asks for them: the 1 GiB image never exists at once.
    const snapshot = function* (): Generator<Page> {
      for (let p = 1; p <= commit; p++) if (p !== LOCK) yield { pgno: p, data: stamped(p, 1) };
    };
    await writeLtxFile(replica, 0, 1n, 1n, encodeLtxBytes(header(1), snapshot()), header(1).timestamp);
    // TXID 2 rewrites the pages on both sides of the lock page and the last one.
    const changed = [1, LOCK - 1, LOCK + 1, LOCK + 2];
    await writeLtxFile(replica, 0, 2n, 2n, encodeLtxBytes(header(2), changed.map((p) => ({ pgno: p, data: stamped(p, 2) }))), header(2).timestamp);

    const sink = new CheckingSink();
    const r = await restore(replica, { sink });
    expect(r.txid).toBe(2n);
    expect(sink.committed).toBe(true);
    expect(sink.order).toEqual(Array.from({ length: commit }, (_, i) => i + 1));
    expect(sink.lockPage).toEqual(new Uint8Array(PS));
    for (let p = 1; p <= commit; p++) {
      if (p === LOCK) continue;
      expect(sink.stamps.get(p), `page ${p}`).toEqual([p, changed.includes(p) ? 2 : 1]);
    }
  }, 120_000);
});
