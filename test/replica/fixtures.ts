/** Builds replicas with known content: a simulated database written through L0 files. */
import { lockPgno } from "../../lib/ltx/checksum.ts";
import { encodeLtxBytes, type Page } from "../../lib/ltx/encoder.ts";
import { writeLtxFile } from "../../lib/replica/list.ts";
import type { Replica } from "../../lib/replica/replica.ts";
import { mixedPage, prng } from "../ltx/helpers.ts";

export interface SimStep {
  txid: bigint;
  timestamp: number;
  /** The database image after this TXID. */
  db: Uint8Array;
}

/** Writes `n` L0 files (TXID 1 = full snapshot) and returns the image after each TXID. */
export async function writeL0Chain(replica: Replica, n: number, opts: { pageSize?: number; start?: number; seed?: number } = {}): Promise<SimStep[]> {
  const ps = opts.pageSize ?? 4096;
  const r = prng(opts.seed ?? 1);
  let db = new Uint8Array(0);
  const steps: SimStep[] = [];
  for (let t = 1; t <= n; t++) {
    const prevPages = db.length / ps;
    let commit = t === 1 ? 8 : Math.max(2, prevPages + (r() % 5) - 1);
    if (t % 7 === 0) commit = Math.max(2, Math.floor(prevPages / 2)); // shrink now and then
    const next = new Uint8Array(commit * ps);
    next.set(db.subarray(0, Math.min(db.length, next.length)));
    const pages: Page[] = [];
    for (let p = 1; p <= commit; p++) {
      if (t === 1 || p > prevPages || r() % 3 === 0) {
        const data = mixedPage(ps, t * 10007 + p);
        next.set(data, (p - 1) * ps);
        pages.push({ pgno: p, data });
      }
    }
    if (pages.length === 0) pages.push({ pgno: 1, data: next.slice(0, ps) });
    db = next;
    const timestamp = (opts.start ?? 1_760_000_000_000) + t * 1000;
    const bytes = encodeLtxBytes({ flags: 2, pageSize: ps, commit, minTXID: BigInt(t), maxTXID: BigInt(t), timestamp, preApplyChecksum: 0n, walOffset: 32, walSize: 0, walSalt1: 0, walSalt2: 0, nodeID: 0n }, pages);
    await writeLtxFile(replica, 0, BigInt(t), BigInt(t), bytes, timestamp);
    steps.push({ txid: BigInt(t), timestamp, db: db.slice() });
  }
  return steps;
}

/** Page size and lock page of the replica writeLockPageReplica builds (the lock page sits at 1 GiB). */
export const LOCK_PS = 65536;
export const LOCK_PGNO = lockPgno(LOCK_PS);

/** A page stamped with its number (first 4 bytes) and the TXID that wrote it (last 4); zeros elsewhere. */
export function stampedPage(pgno: number, txid: number, ps = LOCK_PS): Uint8Array {
  const p = new Uint8Array(ps);
  new DataView(p.buffer).setUint32(0, pgno);
  new DataView(p.buffer).setUint32(ps - 4, txid);
  return p;
}

/**
 * A database just past 1 GiB (the lock page and two pages beyond): a snapshot at TXID 1, then TXID
 * 2 rewriting the pages on both sides of the lock page, page 1 and the last page. Pages are made as
 * the encoder asks for them, so the image never exists at once. Returns the commit and the pages
 * TXID 2 changed.
 */
export async function writeLockPageReplica(replica: Replica): Promise<{ commit: number; changed: number[] }> {
  const commit = LOCK_PGNO + 2;
  const header = (txid: number) => ({ flags: 2, pageSize: LOCK_PS, commit, minTXID: BigInt(txid), maxTXID: BigInt(txid), timestamp: 1_760_000_000_000 + txid, preApplyChecksum: 0n, walOffset: 32, walSize: 0, walSalt1: 0, walSalt2: 0, nodeID: 0n });
  const snapshot = function* (): Generator<Page> {
    for (let p = 1; p <= commit; p++) if (p !== LOCK_PGNO) yield { pgno: p, data: stampedPage(p, 1) };
  };
  await writeLtxFile(replica, 0, 1n, 1n, encodeLtxBytes(header(1), snapshot()), header(1).timestamp);
  const changed = [1, LOCK_PGNO - 1, LOCK_PGNO + 1, LOCK_PGNO + 2];
  await writeLtxFile(replica, 0, 2n, 2n, encodeLtxBytes(header(2), changed.map((p) => ({ pgno: p, data: stampedPage(p, 2) }))), header(2).timestamp);
  return { commit, changed };
}
