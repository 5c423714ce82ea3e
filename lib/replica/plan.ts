/**
 * The restore plan, choosing exactly the files Go Litestream v0.5.16's CalcRestorePlan chooses
 * (spec: litestream-replica.md §5.1): the newest snapshot at or before the target, then, level
 * cursors from 8 down to 0, the candidate that extends the chain furthest (largest MaxTXID, then
 * smallest MinTXID, then higher level, then older CreatedAt), until nothing extends it.
 */
import { LtxError } from "../errors.ts";
import { formatTXID } from "../ltx/txid.ts";
import { SNAPSHOT_LEVEL, type FileInfo } from "./file-info.ts";
import { listLevel } from "./list.ts";
import type { Replica } from "./replica.ts";

/** The point to restore to: a TXID, a timestamp, or (neither) the latest. */
export interface RestoreTarget {
  /** Restore to exactly this TXID (must end on a file boundary). */
  txid?: bigint;
  /** Restore to the newest state created strictly before this time. */
  timestamp?: Date;
}

/** Go's restoreCandidateBetter: is `next` a better pick than `curr`? */
export function candidateBetter(curr: FileInfo, next: FileInfo): boolean {
  if (next.maxTXID !== curr.maxTXID) return next.maxTXID > curr.maxTXID;
  if (next.minTXID !== curr.minTXID) return next.minTXID < curr.minTXID;
  if (next.level !== curr.level) return next.level > curr.level;
  return next.createdAt.getTime() < curr.createdAt.getTime();
}

/** One level's sorted listing, consumed the way Go's restoreLevelCursor consumes it. */
class LevelCursor {
  #files: FileInfo[];
  #i = 0;
  candidate: FileInfo | null = null;

  constructor(files: FileInfo[]) {
    this.#files = files;
  }

  /** The next unconsumed file, or null. */
  get current(): FileInfo | null {
    return this.#files[this.#i] ?? null;
  }

  refresh(currentMax: bigint, t: RestoreTarget): void {
    if (this.candidate && this.candidate.maxTXID <= currentMax) this.candidate = null;
    for (;;) {
      const info = this.current;
      if (!info || info.minTXID > currentMax + 1n) return;
      this.#i++;
      if (info.maxTXID <= currentMax) continue;
      if (t.txid !== undefined && info.maxTXID > t.txid) continue;
      if (t.timestamp && !(info.createdAt.getTime() < t.timestamp.getTime())) continue;
      if (!this.candidate || candidateBetter(this.candidate, info)) this.candidate = info;
    }
  }
}

/**
 * The plan from listings per level (index = level, 0..9). Pure: unit-testable without a store.
 * Throws TX_NOT_AVAILABLE ("transaction not available") or NON_CONTIGUOUS as Go does.
 */
export function planFromListings(levels: readonly FileInfo[][], target: RestoreTarget = {}): FileInfo[] {
  const txid = target.txid !== undefined && target.txid !== 0n ? target.txid : undefined;
  const ts = target.timestamp;
  if (txid !== undefined && ts) throw new LtxError("INVALID_ARGUMENT", "cannot specify both TXID & timestamp to restore");
  const t: RestoreTarget = {};
  if (txid !== undefined) t.txid = txid;
  if (ts) t.timestamp = ts;
  const plan: FileInfo[] = [];
  let snapshot: FileInfo | null = null;
  for (const info of levels[SNAPSHOT_LEVEL] ?? []) {
    if (txid !== undefined && info.maxTXID > txid) continue;
    if (ts && !(info.createdAt.getTime() < ts.getTime())) continue;
    snapshot = info;
  }
  if (snapshot) plan.push(snapshot);
  let currentMax = snapshot?.maxTXID ?? 0n;
  if (txid !== undefined && currentMax >= txid) return plan;

  const cursors: LevelCursor[] = [];
  for (let level = SNAPSHOT_LEVEL - 1; level >= 0; level--) cursors.push(new LevelCursor(levels[level] ?? []));
  for (;;) {
    let next: LevelCursor | null = null;
    for (const c of cursors) {
      c.refresh(currentMax, t);
      if (!c.candidate) continue;
      if (!next || candidateBetter(next.candidate!, c.candidate)) next = c;
    }
    if (!next) break;
    const pick = next.candidate!;
    next.candidate = null;
    if (pick.maxTXID <= currentMax) continue;
    plan.push(pick);
    currentMax = pick.maxTXID;
    if (txid !== undefined && currentMax >= txid) break;
  }

  if (plan.length > 0 && txid === undefined && !ts) {
    for (const c of cursors) {
      const cur = c.current;
      if (cur && cur.minTXID > currentMax + 1n) {
        throw new LtxError("NON_CONTIGUOUS", `non-contiguous ltx files: have up to ${formatTXID(currentMax)} but next file starts at ${formatTXID(cur.minTXID)}`);
      }
    }
  }
  if (plan.length === 0 || (txid !== undefined && currentMax < txid)) {
    throw new LtxError("TX_NOT_AVAILABLE", "transaction not available");
  }
  return plan;
}

/** Lists the replica (levels 0..9, timestamps from metadata for timestamp restores) and plans. */
export async function calcRestorePlan(replica: Replica, target: RestoreTarget = {}, signal?: AbortSignal): Promise<FileInfo[]> {
  const useMetadata = Boolean(target.timestamp);
  const levels = await Promise.all(Array.from({ length: SNAPSHOT_LEVEL + 1 }, (_, l) => listLevel(replica, l, { useMetadata, signal })));
  return planFromListings(levels, target);
}

/**
 * Go's CalcRestoreTarget check, run by `litestream restore` before planning a timestamp restore:
 * the timestamp must lie within the replica's time bounds (file times without metadata).
 */
export async function checkTimestampBounds(replica: Replica, timestamp: Date, signal?: AbortSignal): Promise<void> {
  let min = Infinity, max = -Infinity;
  for (let l = SNAPSHOT_LEVEL; l >= 0; l--) {
    for (const f of await listLevel(replica, l, { signal })) {
      const t = f.createdAt.getTime();
      if (t < min) min = t;
      if (t > max) max = t;
    }
  }
  if (min === Infinity) throw new LtxError("NO_BACKUPS", "no backups found");
  const t = timestamp.getTime();
  if (t < min || t > max) throw new LtxError("TX_NOT_AVAILABLE", "timestamp does not exist");
}
