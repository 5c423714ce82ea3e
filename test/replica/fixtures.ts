/** Builds replicas with known content: a simulated database written through L0 files. */
import { lockPgno } from "../../lib/ltx/checksum.ts";
import { encodeLtxBytes, type Page, type PageEncoding } from "../../lib/ltx/encoder.ts";
import { newHeader } from "../../lib/ltx/header.ts";
import { compactLevel, snapshotReplica } from "../../lib/replica/compact.ts";
import { SNAPSHOT_LEVEL } from "../../lib/replica/file-info.ts";
import { writeLtxFile } from "../../lib/replica/list.ts";
import { memoryReplica, type Replica } from "../../lib/replica/replica.ts";
import { mixedPage, prng } from "../ltx/helpers.ts";

export interface SimStep {
  txid: bigint;
  timestamp: number;
  /** The database image after this TXID. */
  db: Uint8Array;
}

export interface L0ChainOptions {
  pageSize?: number;
  /** Timestamp of TXID 0 in ms; TXID t is written at start + t × interval. */
  start?: number;
  /** Milliseconds between two TXIDs (default 1000). */
  interval?: number;
  seed?: number;
  pageEncoding?: PageEncoding;
}

/** Writes `n` L0 files (TXID 1 = full snapshot) and returns the image after each TXID. */
export async function writeL0Chain(replica: Replica, n: number, opts: L0ChainOptions = {}): Promise<SimStep[]> {
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
    const timestamp = (opts.start ?? 1_760_000_000_000) + t * (opts.interval ?? 1000);
    const bytes = encodeLtxBytes(newHeader({ flags: 2, pageSize: ps, commit, minTXID: BigInt(t), maxTXID: BigInt(t), timestamp, walOffset: 32 }), pages, { pageEncoding: opts.pageEncoding ?? "block" });
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
  const header = (txid: number) => newHeader({ flags: 2, pageSize: LOCK_PS, commit, minTXID: BigInt(txid), maxTXID: BigInt(txid), timestamp: 1_760_000_000_000 + txid, walOffset: 32 });
  const snapshot = function* (): Generator<Page> {
    for (let p = 1; p <= commit; p++) if (p !== LOCK_PGNO) yield { pgno: p, data: stampedPage(p, 1) };
  };
  await writeLtxFile(replica, 0, 1n, 1n, encodeLtxBytes(header(1), snapshot()), header(1).timestamp);
  const changed = [1, LOCK_PGNO - 1, LOCK_PGNO + 1, LOCK_PGNO + 2];
  await writeLtxFile(replica, 0, 2n, 2n, encodeLtxBytes(header(2), changed.map((p) => ({ pgno: p, data: stampedPage(p, 2) }))), header(2).timestamp);
  return { commit, changed };
}

/**
 * The stages of writeStagedReplica: L0 files up to `upTo` arrive, then these levels are compacted
 * (9 = a snapshot). The result, with a TXID per minute:
 *
 *   L9  1-8 (at t8)  1-22 (t22)  1-30 (t30)  1-36 (t36)  1-40 (t40)
 *   L3  1-15
 *   L2  1-15  16-30  31-40
 *   L1  1-8  9-15  16-22  23-30  31-36  37-40
 *   L0  1 … 40
 */
export const STAGES: readonly { upTo: number; levels: readonly number[] }[] = [
  { upTo: 8, levels: [1, 9] },
  { upTo: 15, levels: [1, 2, 3] },
  { upTo: 22, levels: [1, 9] },
  { upTo: 30, levels: [1, 2, 9] },
  { upTo: 36, levels: [1, 9] },
  { upTo: 40, levels: [1, 2, 9] },
];

/** Compacts one level of `replica` (1..3, or 9 for a snapshot), ignoring the windows. */
export type CompactStep = (replica: Replica, level: number) => Promise<void>;

/** ltxkit's compaction, forced, in the given page encoding. */
export function libCompactStep(pageEncoding: PageEncoding = "block"): CompactStep {
  return async (replica, level) => {
    const o = { force: true, config: { pageEncoding } };
    const f = level === SNAPSHOT_LEVEL ? await snapshotReplica(replica, o) : await compactLevel(replica, level, o);
    if (!f) throw new Error(`staged replica: level ${level} compacted nothing`);
  };
}

/**
 * Builds the replica of STAGES: a simulated 40-TXID chain (TXID t written at start + t × interval)
 * whose L0 files are copied in stage by stage, each stage followed by its compactions. Snapshots
 * and compacted files carry the timestamp of their last input, so the snapshot of stage k is as
 * old as TXID `upTo`. Returns the image after each TXID.
 */
export async function writeStagedReplica(replica: Replica, opts: { start: number; interval: number; pageEncoding?: PageEncoding; compact?: CompactStep }): Promise<SimStep[]> {
  const scratch = memoryReplica();
  const steps = await writeL0Chain(scratch, STAGES[STAGES.length - 1]!.upTo, { start: opts.start, interval: opts.interval, pageEncoding: opts.pageEncoding ?? "block" });
  const compact = opts.compact ?? libCompactStep(opts.pageEncoding);
  let t = 1;
  for (const stage of STAGES) {
    for (; t <= stage.upTo; t++) {
      const bytes = (await scratch.store.get(scratch.layout.key(0, BigInt(t), BigInt(t))))!;
      await writeLtxFile(replica, 0, BigInt(t), BigInt(t), bytes, steps[t - 1]!.timestamp);
    }
    for (const level of stage.levels) await compact(replica, level);
  }
  return steps;
}
