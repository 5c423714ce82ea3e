/**
 * Level compaction, snapshots and retention as Go Litestream v0.5.16 runs them (spec:
 * litestream-replica.md §4), as one pass callable from a cron job: merge level N−1 into N, write a
 * level-9 snapshot, then delete what retention allows. Inputs are streamed, so memory is one page
 * per input whatever the database size.
 */
import { LtxError } from "../errors.ts";
import { Compactor } from "../ltx/compactor.ts";
import { Decoder } from "../ltx/decoder.ts";
import { Encoder, type PageEncoding } from "../ltx/encoder.ts";
import { HEADER_FLAG_NO_CHECKSUM, type Header } from "../ltx/header.ts";
import { last, SNAPSHOT_LEVEL, type FileInfo } from "./file-info.ts";
import { listLevel, writeLtxFile } from "./list.ts";
import { planFromListings } from "./plan.ts";
import type { Replica } from "./replica.ts";
import { enforceL0Retention, enforceSnapshotRetention } from "./retention.ts";
import { DEFAULT_COMPACTION_CONFIG, resolveConfig, windowStart, type CompactOptions } from "./schedule.ts";

/**
 * Merges `files` (oldest first) into one NoChecksum LTX file at `level` of `replica`. `readInput`
 * may supply an input's bytes from elsewhere (a local copy of the same file); when it gives null
 * the input is read from `replica`.
 */
export async function mergeFiles(
  replica: Replica,
  level: number,
  files: readonly FileInfo[],
  encoding: PageEncoding = DEFAULT_COMPACTION_CONFIG.pageEncoding,
  signal?: AbortSignal,
  readInput?: (f: FileInfo) => Promise<ReadableStream<Uint8Array> | null>,
): Promise<FileInfo> {
  const readers: Decoder[] = [];
  try {
    for (const f of files) {
      const s = (await readInput?.(f)) ?? (await replica.store.getStream(f.key, undefined, { signal }));
      if (!s) throw new LtxError("NOT_FOUND", `ltx file disappeared during compaction: ${f.key}`);
      readers.push(new Decoder(s));
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
  const c = resolveConfig(o);
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
  const c = resolveConfig(o);
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

/** What one compaction pass wrote and deleted. */
export interface CompactReport {
  written: FileInfo[];
  deleted: FileInfo[];
}

/**
 * One pass: compaction of levels 1..N (or only `level`), a snapshot (level 9), then retention.
 */
export async function compactReplica(replica: Replica, o: CompactOptions & { level?: number; retention?: boolean } = {}): Promise<CompactReport> {
  const c = resolveConfig(o);
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
