/** Builds replicas with known content: a simulated database written through L0 files. */
import { encodeLtxBytes, type Page } from "../../lib/ltx/encoder.ts";
import { writeLtxFile } from "../../lib/replica/list.ts";
import type { Replica } from "../../lib/replica/url.ts";
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
