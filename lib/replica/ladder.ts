/**
 * The level ladder of one replica as Go Litestream v0.5.16 schedules it (spec:
 * litestream-replica.md §4): level N−1 merged into N at the end of each epoch-aligned window of
 * level N, a level-9 snapshot of the live database once per snapshot window (and at startup when
 * the replica has none), snapshot retention after each snapshot tick, L0 retention every check
 * interval and after each L1 compaction.
 *
 * Listings are read once (the first step) and then kept in memory as files are written and
 * deleted, so an idle ladder makes no requests at all besides due retention deletes.
 */
import { LtxError } from "../errors.ts";
import { SNAPSHOT_LEVEL, compareFileInfo, type FileInfo } from "./file-info.ts";
import { compactionInputs, mergeFiles } from "./compact.ts";
import { l0RetentionVictims, snapshotRetentionVictims } from "./retention.ts";
import { windowStart, type CompactionConfig } from "./schedule.ts";
import { listLevel, writeLtxFile } from "./list.ts";
import type { Replica } from "./replica.ts";

/** Where a snapshot's pages come from: the live database (L0Source.snapshot). */
export type SnapshotFn = () => Promise<{ txid: bigint; timestamp: number; body: ReadableStream<Uint8Array> }>;

/** What one ladder step did. */
export interface LadderReport {
  written: FileInfo[];
  deleted: FileInfo[];
}

/** One replica's listings per level (0..9), kept current by the replicator's own writes and deletes. */
export class LevelCache {
  readonly levels: FileInfo[][] = Array.from({ length: SNAPSHOT_LEVEL + 1 }, () => []);
  #listed = new Set<number>();

  /** True once `level` was listed (or set). */
  has(level: number): boolean {
    return this.#listed.has(level);
  }

  /** Sets a level's listing (sorted). */
  set(level: number, files: FileInfo[]): void {
    this.levels[level] = [...files].sort(compareFileInfo);
    this.#listed.add(level);
  }

  /** Lists the levels not listed yet (one LIST each). */
  async ensure(replica: Replica, levels: readonly number[], signal?: AbortSignal): Promise<void> {
    for (const l of levels) if (!this.#listed.has(l)) this.set(l, await listLevel(replica, l, { signal }));
  }

  /** Records a file this process wrote. */
  add(f: FileInfo): void {
    const files = this.levels[f.level]!;
    // The common case, an upload after the newest file: no search (the listing is sorted, so no
    // file with this key can be in it).
    const tail = files[files.length - 1];
    if (tail === undefined || compareFileInfo(tail, f) < 0) {
      files.push(f);
      return;
    }
    const i = files.findIndex((g) => g.key === f.key);
    if (i >= 0) files[i] = f;
    else {
      files.push(f);
      if (files.length > 1 && compareFileInfo(files[files.length - 2]!, f) > 0) files.sort(compareFileInfo);
    }
  }

  /** Forgets deleted files. */
  remove(files: readonly FileInfo[]): void {
    const gone = new Set(files.map((f) => f.key));
    for (let l = 0; l < this.levels.length; l++) if (this.levels[l]!.some((f) => gone.has(f.key))) this.levels[l] = this.levels[l]!.filter((f) => !gone.has(f.key));
  }

  /** Drops every listing except level 0 (re-read on the next step), after a failure that may mean they are stale. */
  invalidateUpper(): void {
    for (let l = 1; l <= SNAPSHOT_LEVEL; l++) this.#listed.delete(l);
  }

  /** The newest file of a level. */
  last(level: number): FileInfo | undefined {
    const f = this.levels[level]!;
    return f[f.length - 1];
  }
}

/** The ladder of one replica: due times per job and the step that runs the due ones. */
export class Ladder {
  readonly replica: Replica;
  readonly cache: LevelCache;
  readonly config: CompactionConfig;
  #due: { levels: number[]; snapshot: number; l0: number } | undefined;
  /**
   * Local copies of this replica's L0 files (the source's staging replica): level-1 compactions
   * read their inputs from there when present, so the merge costs no GET per L0 file.
   */
  localL0: Replica | undefined;

  constructor(replica: Replica, cache: LevelCache, config: CompactionConfig) {
    this.replica = replica;
    this.cache = cache;
    this.config = config;
    if (config.levels.length > SNAPSHOT_LEVEL - 1) throw new LtxError("INVALID_ARGUMENT", `at most ${SNAPSHOT_LEVEL - 1} compaction levels (got ${config.levels.length})`);
    for (const iv of [...config.levels, config.snapshotInterval]) if (!(iv > 0)) throw new LtxError("INVALID_ARGUMENT", `compaction intervals must be positive (got ${iv})`);
  }

  /** When the next job is due (ms since the epoch); `now` before the first step. */
  nextDue(now: number): number {
    const d = this.#due;
    if (!d) return now;
    return Math.min(...d.levels, d.snapshot, this.config.l0Retention > 0 ? d.l0 : Infinity);
  }

  /**
   * Runs every job due at `now`: compactions of levels 1..N, the snapshot, then retention.
   * `localTXID` is the source's position (a snapshot is skipped when the newest one covers it).
   */
  async step(now: number, localTXID: bigint, snapshot: SnapshotFn, signal?: AbortSignal, events?: LadderEvents): Promise<LadderReport> {
    const c = this.config;
    const n = c.levels.length;
    const levels = [...Array.from({ length: n + 1 }, (_, l) => l), SNAPSHOT_LEVEL];
    await this.cache.ensure(this.replica, levels, signal);
    if (!this.#due) {
      // Go's level goroutines first fire at the end of the current window; the snapshot job runs
      // at startup only when the replica has no snapshot.
      this.#due = {
        levels: c.levels.map((iv) => windowStart(now, iv) + iv),
        snapshot: this.cache.last(SNAPSHOT_LEVEL) ? windowStart(now, c.snapshotInterval) + c.snapshotInterval : now,
        l0: now + c.l0RetentionCheckInterval,
      };
    }
    const due = this.#due;
    const report: LadderReport = { written: [], deleted: [] };
    const del = async (files: FileInfo[]) => {
      if (!c.retention || files.length === 0) return;
      await this.replica.store.delete(files.map((f) => f.key), { signal });
      this.cache.remove(files);
      report.deleted.push(...files);
      events?.deleted?.(files);
    };
    const l0Retention = () => del(l0RetentionVictims(this.cache.levels[0]!, this.cache.levels[1]!, now, c.l0Retention));
    for (let level = 1; level <= n; level++) {
      const iv = c.levels[level - 1]!;
      if (now < due.levels[level - 1]!) continue;
      // Windows that passed since the last step are caught up one by one, each with the files
      // that existed at its end, so a late tick() yields the files Go's timers would have.
      for (let guard = 0; guard < 100_000; guard++) {
        const src = this.cache.levels[level - 1]!;
        const seek = (this.cache.last(level)?.maxTXID ?? 0n) + 1n;
        const first = src.find((f) => f.minTXID >= seek);
        if (!first) break;
        const created = first.createdAt.getTime();
        const end = Math.max(due.levels[level - 1]!, created % iv === 0 ? created : windowStart(created, iv) + iv);
        if (end > now) break;
        const existing = src.filter((f) => f.createdAt.getTime() <= end);
        const inputs = compactionInputs(existing, this.cache.levels[level]!, end, iv);
        if (!inputs) break;
        await this.#merge(level, inputs, report, events, signal);
        due.levels[level - 1] = end + iv;
      }
      due.levels[level - 1] = windowStart(now, iv) + iv;
      if (level === 1 && report.written.some((f) => f.level === 1)) await l0Retention();
    }
    if (now >= due.snapshot) {
      due.snapshot = windowStart(now, c.snapshotInterval) + c.snapshotInterval;
      const f = await this.#snapshot(now, localTXID, snapshot, signal);
      if (f) {
        report.written.push(f);
        events?.snapshot?.(f);
      }
      // Until the replica has a snapshot at all, look again at the next window of the first level.
      const first = c.levels[0] ?? c.snapshotInterval;
      if (!this.cache.last(SNAPSHOT_LEVEL)) due.snapshot = Math.min(due.snapshot, windowStart(now, first) + first);
      await del(snapshotRetentionVictims(this.cache.levels[SNAPSHOT_LEVEL]!, this.cache.levels, now, c.snapshotRetention));
    }
    if (c.l0Retention > 0 && now >= due.l0) {
      due.l0 = now + c.l0RetentionCheckInterval;
      await l0Retention();
    }
    return report;
  }

  async #merge(level: number, inputs: FileInfo[], report: LadderReport, events: LadderEvents | undefined, signal?: AbortSignal): Promise<void> {
    const local = level === 1 ? this.localL0 : undefined;
    const readLocal = local ? (f: FileInfo) => local.store.getStream(local.layout.key(0, f.minTXID, f.maxTXID), undefined, { signal }) : undefined;
    const f = await mergeFiles(this.replica, level, inputs, this.config.pageEncoding, signal, readLocal);
    this.cache.add(f);
    report.written.push(f);
    events?.compacted?.(f, inputs);
  }

  async #snapshot(now: number, localTXID: bigint, snapshot: SnapshotFn, signal?: AbortSignal): Promise<FileInfo | null> {
    const newest = this.cache.last(SNAPSHOT_LEVEL);
    if (newest && newest.createdAt.getTime() > windowStart(now, this.config.snapshotInterval)) return null;
    // An idle database gets no new snapshot: the newest one already covers the position.
    if (localTXID === 0n || (newest && newest.maxTXID >= localTXID)) return null;
    const s = await snapshot();
    if (newest && s.txid <= newest.maxTXID) {
      await s.body.cancel().catch(() => {});
      return null;
    }
    let f: FileInfo;
    try {
      f = await writeLtxFile(this.replica, SNAPSHOT_LEVEL, 1n, s.txid, s.body, s.timestamp, signal);
    } catch (e) {
      await s.body.cancel().catch(() => {});
      throw e;
    }
    this.cache.add(f);
    return f;
  }
}

/** Callbacks a ladder step reports through. */
export interface LadderEvents {
  compacted?(file: FileInfo, inputs: FileInfo[]): void;
  snapshot?(file: FileInfo): void;
  deleted?(files: FileInfo[]): void;
}
