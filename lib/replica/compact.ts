/**
 * Level compaction, snapshots and retention as Go Litestream v0.5.16 runs them (spec:
 * litestream-replica.md §4), as one pass callable from a cron job: merge level N−1 into N, write a
 * level-9 snapshot, then delete what retention allows. Inputs are streamed, so memory is one page
 * per input whatever the database size.
 */
import { LtxError } from "../errors.ts";
import { Compactor } from "../ltx/compactor.ts";
import { LtxReader } from "../ltx/decoder.ts";
import { Encoder, type PageEncoding } from "../ltx/encoder.ts";
import { HEADER_FLAG_NO_CHECKSUM, type Header } from "../ltx/header.ts";
import { SNAPSHOT_LEVEL, type FileInfo } from "./file-info.ts";
import { listLevel, writeLtxFile } from "./list.ts";
import { planFromListings } from "./plan.ts";
import type { Replica } from "./url.ts";

export interface CompactionConfig {
  /** Intervals of levels 1..N in ms (Litestream: 30 s, 5 min, 1 h). */
  levels: number[];
  snapshotInterval: number;
  snapshotRetention: number;
  l0Retention: number;
  /** How often L0 retention is checked, in ms (Litestream: 15 s; it also runs after each L1 compaction). */
  l0RetentionCheckInterval: number;
  /** false: never delete (a bucket lifecycle rule does it). */
  retention: boolean;
  pageEncoding: PageEncoding;
}

export const DEFAULT_COMPACTION_CONFIG: CompactionConfig = {
  levels: [30_000, 5 * 60_000, 60 * 60_000],
  snapshotInterval: 24 * 3600_000,
  snapshotRetention: 24 * 3600_000,
  l0Retention: 5 * 60_000,
  l0RetentionCheckInterval: 15_000,
  retention: true,
  pageEncoding: "block",
};

export interface CompactOptions {
  now?: Date;
  /** Ignore the interval windows (compact whatever is newer). */
  force?: boolean;
  config?: Partial<CompactionConfig>;
  signal?: AbortSignal;
}

function cfg(o: CompactOptions): CompactionConfig {
  return { ...DEFAULT_COMPACTION_CONFIG, ...o.config };
}

/** Go's time.Truncate: the start of the epoch-aligned window containing t. */
export function windowStart(t: number, interval: number): number {
  return t - (((t % interval) + interval) % interval);
}

function last(files: FileInfo[]): FileInfo | undefined {
  return files[files.length - 1];
}

/** Merges `files` (oldest first) into one NoChecksum LTX file at `level` of `replica`. */
export async function mergeFiles(replica: Replica, level: number, files: readonly FileInfo[], encoding: PageEncoding = DEFAULT_COMPACTION_CONFIG.pageEncoding, signal?: AbortSignal): Promise<FileInfo> {
  const readers: LtxReader[] = [];
  try {
    for (const f of files) {
      const s = await replica.store.getStream(f.key, undefined, { signal });
      if (!s) throw new LtxError("NOT_FOUND", `ltx file disappeared during compaction: ${f.key}`);
      readers.push(new LtxReader(s));
    }
  } catch (e) {
    await Promise.all(readers.map((r) => r.cancel().catch(() => {})));
    throw e;
  }
  const c = new Compactor(readers, { headerFlags: HEADER_FLAG_NO_CHECKSUM });
  let header: Header;
  try {
    header = await c.open();
  } catch (e) {
    await Promise.all(readers.map((r) => r.cancel().catch(() => {})));
    throw e;
  }
  const enc = new Encoder({ pageEncoding: encoding });
  const body = (async function* () {
    yield enc.encodeHeader(header);
    for await (const p of c.pages()) yield enc.encodePage(p.pgno, p.data);
    yield enc.close(c.postApplyChecksum);
  })();
  return writeLtxFile(replica, level, header.minTXID, header.maxTXID, body, header.timestamp, signal);
}

/**
 * The inputs of a compaction into a level, from listings already held: null when the newest file of
 * `dst` was created inside the current window (Go's ErrCompactionTooEarly, unless `force`) or when
 * `src` holds nothing newer (ErrNoCompaction). `interval` is the destination level's window in ms.
 */
export function compactionInputs(src: readonly FileInfo[], dst: readonly FileInfo[], now: number, interval: number, force = false): FileInfo[] | null {
  const dstInfo = dst[dst.length - 1];
  if (!force && dstInfo && dstInfo.createdAt.getTime() > windowStart(now, interval)) return null;
  const srcMax = src.reduce((m, f) => (f.maxTXID > m ? f.maxTXID : m), 0n);
  if (srcMax <= (dstInfo?.minTXID ?? 0n)) return null;
  const seek = (dstInfo?.maxTXID ?? 0n) + 1n;
  const inputs = src.filter((f) => f.minTXID >= seek);
  return inputs.length ? inputs : null;
}

/**
 * Compacts level `level - 1` into `level` (1..8). Returns the new file, or null when there is
 * nothing new (Go's ErrNoCompaction) or the window has not passed (ErrCompactionTooEarly).
 */
export async function compactLevel(replica: Replica, level: number, o: CompactOptions = {}): Promise<FileInfo | null> {
  const c = cfg(o);
  if (!Number.isInteger(level) || level < 1 || level > c.levels.length) throw new LtxError("INVALID_ARGUMENT", `invalid compaction level ${level} (1..${c.levels.length})`);
  const now = (o.now ?? new Date()).getTime();
  const dst = await listLevel(replica, level, { signal: o.signal });
  const dstInfo = last(dst);
  if (!o.force && dstInfo && dstInfo.createdAt.getTime() > windowStart(now, c.levels[level - 1]!)) return null;
  const src = await listLevel(replica, level - 1, { signal: o.signal });
  const inputs = compactionInputs(src, dst, now, c.levels[level - 1]!, true);
  return inputs ? mergeFiles(replica, level, inputs, c.pageEncoding, o.signal) : null;
}

/** Writes a level-9 snapshot of the latest state, unless the newest snapshot already covers it. */
export async function snapshotReplica(replica: Replica, o: CompactOptions = {}): Promise<FileInfo | null> {
  const c = cfg(o);
  const now = (o.now ?? new Date()).getTime();
  const levels = await Promise.all(Array.from({ length: SNAPSHOT_LEVEL + 1 }, (_, l) => listLevel(replica, l, { signal: o.signal })));
  const newest = last(levels[SNAPSHOT_LEVEL]!);
  if (!o.force && newest && newest.createdAt.getTime() > windowStart(now, c.snapshotInterval)) return null;
  const pos = levels.flat().reduce((m, f) => (f.maxTXID > m ? f.maxTXID : m), 0n);
  if (pos === 0n || (newest && newest.maxTXID >= pos)) return null;
  const plan = planFromListings(levels);
  if (plan[0]!.minTXID !== 1n) throw new LtxError("NON_CONTIGUOUS", "cannot build a snapshot: the replica's chain does not start at TXID 1");
  if (plan.length === 1 && plan[0]!.level === SNAPSHOT_LEVEL) return null;
  return mergeFiles(replica, SNAPSHOT_LEVEL, plan, c.pageEncoding, o.signal);
}

async function remove(replica: Replica, files: FileInfo[], enabled: boolean, signal?: AbortSignal): Promise<FileInfo[]> {
  if (!enabled || files.length === 0) return [];
  await replica.store.delete(files.map((f) => f.key), { signal });
  return files;
}

/**
 * What Go's EnforceSnapshotRetention + EnforceRetentionByTXID delete, from listings already held:
 * snapshots created before `now − retention` (always keeping the newest), then files of levels 1..N
 * (`levels[l]` is level l's sorted listing) whose MaxTXID is below the snapshot floor (the MaxTXID of
 * the newest deleted snapshot), always keeping each level's last file.
 */
export function snapshotRetentionVictims(snaps: readonly FileInfo[], levels: readonly (readonly FileInfo[])[], now: number, retention: number): FileInfo[] {
  const threshold = now - retention;
  let doomed = snaps.filter((s) => s.createdAt.getTime() < threshold);
  if (doomed.length && doomed[doomed.length - 1] === snaps[snaps.length - 1]) doomed = doomed.slice(0, -1);
  let floor = 0n;
  for (const [i, s] of snaps.entries()) {
    if (doomed.includes(s)) continue;
    if (i > 0) floor = snaps[i - 1]!.maxTXID;
    break;
  }
  const out = [...doomed];
  for (let level = 1; level < levels.length && level < SNAPSHOT_LEVEL; level++) {
    const files = levels[level] ?? [];
    let old = files.filter((f) => f.maxTXID < floor);
    if (old.length && old[old.length - 1] === files[files.length - 1]) old = old.slice(0, -1);
    out.push(...old);
  }
  return out;
}

/**
 * Go's EnforceSnapshotRetention + EnforceRetentionByTXID: deletes snapshots created before
 * now − retention (always keeping the newest), then files of levels 1..N whose MaxTXID is below the
 * snapshot floor (always keeping each level's last file).
 */
export async function enforceSnapshotRetention(replica: Replica, o: CompactOptions = {}): Promise<FileInfo[]> {
  const c = cfg(o);
  const snaps = await listLevel(replica, SNAPSHOT_LEVEL, { signal: o.signal });
  const levels: FileInfo[][] = [[]];
  for (let level = 1; level <= c.levels.length; level++) levels.push(await listLevel(replica, level, { signal: o.signal }));
  const victims = snapshotRetentionVictims(snaps, levels, (o.now ?? new Date()).getTime(), c.snapshotRetention);
  return remove(replica, victims, c.retention, o.signal);
}

/**
 * What Go's EnforceL0RetentionByTime deletes, from listings already held: L0 files covered by L1
 * and created before `now − retention`, stopping at the first file that is too recent, never the
 * newest L0 file. A retention of 0 or less disables it.
 */
export function l0RetentionVictims(l0: readonly FileInfo[], l1: readonly FileInfo[], now: number, retention: number): FileInfo[] {
  if (retention <= 0) return [];
  const maxL1 = l1.reduce((m, f) => (f.maxTXID > m ? f.maxTXID : m), 0n);
  if (maxL1 === 0n) return [];
  const threshold = now - retention;
  let doomed: FileInfo[] = [];
  let all = true;
  for (const f of l0) {
    if (f.createdAt.getTime() > threshold) {
      all = false;
      break;
    }
    if (f.maxTXID <= maxL1) doomed.push(f);
  }
  if (all && doomed.length && doomed[doomed.length - 1] === l0[l0.length - 1]) doomed = doomed.slice(0, -1);
  return doomed;
}

/**
 * Go's EnforceL0RetentionByTime: deletes L0 files covered by L1 and older than the L0 retention,
 * stopping at the first file that is too recent, never the newest L0 file.
 */
export async function enforceL0Retention(replica: Replica, o: CompactOptions = {}): Promise<FileInfo[]> {
  const c = cfg(o);
  if (c.l0Retention <= 0) return [];
  const l1 = await listLevel(replica, 1, { signal: o.signal });
  if (l1.length === 0) return [];
  const l0 = await listLevel(replica, 0, { signal: o.signal });
  return remove(replica, l0RetentionVictims(l0, l1, (o.now ?? new Date()).getTime(), c.l0Retention), c.retention, o.signal);
}

export interface CompactReport {
  written: FileInfo[];
  deleted: FileInfo[];
}

/**
 * One pass: compaction of levels 1..N (or only `level`), a snapshot (level 9), then retention.
 */
export async function compactReplica(replica: Replica, o: CompactOptions & { level?: number; retention?: boolean } = {}): Promise<CompactReport> {
  const c = cfg(o);
  const report: CompactReport = { written: [], deleted: [] };
  const only = o.level;
  for (let level = 1; level <= c.levels.length; level++) {
    if (only !== undefined && only !== level) continue;
    const f = await compactLevel(replica, level, o);
    if (f) report.written.push(f);
  }
  if (only === undefined || only === SNAPSHOT_LEVEL) {
    const s = await snapshotReplica(replica, o);
    if (s) report.written.push(s);
  }
  if (o.retention !== false) {
    report.deleted.push(...(await enforceL0Retention(replica, o)));
    if (only === undefined || only === SNAPSHOT_LEVEL) report.deleted.push(...(await enforceSnapshotRetention(replica, o)));
  }
  return report;
}
