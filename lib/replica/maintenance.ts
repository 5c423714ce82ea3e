/**
 * Compaction from a worker: one call a scheduled handler (cron trigger) or a Durable Object alarm
 * makes to run the due level compactions, the snapshot and the retention passes within a time
 * budget. The passes are Go Litestream v0.5.16's (compact.ts, retention.ts), in its order: levels
 * 1..N, the level-9 snapshot, L0 retention, snapshot retention. The budget is checked before each
 * pass (a pass that started finishes, so a write is never cut in half); what did not run is
 * reported, with the time the next window opens, so the caller can set its next alarm.
 */
import { LtxError } from "../errors.ts";
import type { FileInfo } from "./file-info.ts";
import { compactLevel, snapshotReplica } from "./compact.ts";
import type { Replica } from "./replica.ts";
import { enforceL0Retention, enforceSnapshotRetention } from "./retention.ts";
import { resolveConfig, windowStart, type CompactOptions } from "./schedule.ts";

/** One pass of a maintenance run: a level's compaction, the snapshot, or a retention pass. */
export type MaintenanceTask = `compact-L${number}` | "snapshot" | "l0-retention" | "snapshot-retention";

/** What one pass did: wrote a file, deleted files, or found nothing to do (nothing new, or too early). */
export interface MaintenanceStep {
  task: MaintenanceTask;
  written: FileInfo[];
  deleted: FileInfo[];
}

/** Options of {@link runMaintenance}. */
export interface MaintenanceOptions extends CompactOptions {
  /** Time budget in ms: no pass starts once this much has elapsed (default: unlimited). */
  budgetMs?: number;
  /** Monotonic milliseconds for the budget (default `performance.now` or `Date.now`). */
  elapsedClock?: () => number;
  /** Skip the retention passes (a bucket lifecycle rule deletes instead). */
  retention?: boolean;
}

/** What {@link runMaintenance} did and what is left. */
export interface MaintenanceReport {
  /** The passes that ran, in order. */
  steps: MaintenanceStep[];
  /** Every file written, in order. */
  written: FileInfo[];
  /** Every file deleted, in order. */
  deleted: FileInfo[];
  /** The passes not started because the budget ran out: call again soon. */
  pending: MaintenanceTask[];
  /** Epoch ms when the next compaction window (of any level or the snapshot) opens after `now`. */
  nextWindowAt: number;
}

/**
 * Runs the due maintenance passes on `replica` within `budgetMs`. Levels and the snapshot run only
 * when their epoch-aligned window has passed (unless `force`), retention only where Go's rules
 * allow. Returns the passes run, the files written and deleted, the passes left for lack of time and
 * when the next window opens.
 */
export async function runMaintenance(replica: Replica, o: MaintenanceOptions = {}): Promise<MaintenanceReport> {
  const c = resolveConfig(o);
  const budget = o.budgetMs ?? Infinity;
  if (!(budget >= 0)) throw new LtxError("INVALID_ARGUMENT", `runMaintenance: invalid budgetMs ${String(o.budgetMs)}`);
  const elapsed = o.elapsedClock ?? defaultElapsedClock();
  const now = o.now ?? new Date();
  const opts: CompactOptions = { ...o, now };
  const t0 = elapsed();

  const tasks: { task: MaintenanceTask; run: () => Promise<Pick<MaintenanceStep, "written" | "deleted">> }[] = [];
  for (let level = 1; level <= c.levels.length; level++) {
    tasks.push({ task: `compact-L${level}`, run: async () => ({ written: nonNull(await compactLevel(replica, level, opts)), deleted: [] }) });
  }
  tasks.push({ task: "snapshot", run: async () => ({ written: nonNull(await snapshotReplica(replica, opts)), deleted: [] }) });
  if (o.retention !== false) {
    tasks.push({ task: "l0-retention", run: async () => ({ written: [], deleted: await enforceL0Retention(replica, opts) }) });
    tasks.push({ task: "snapshot-retention", run: async () => ({ written: [], deleted: await enforceSnapshotRetention(replica, opts) }) });
  }

  const report: MaintenanceReport = { steps: [], written: [], deleted: [], pending: [], nextWindowAt: nextWindow(now.getTime(), [...c.levels, c.snapshotInterval]) };
  for (const t of tasks) {
    if (report.pending.length || elapsed() - t0 >= budget) {
      report.pending.push(t.task);
      continue;
    }
    const r = await t.run();
    report.steps.push({ task: t.task, ...r });
    report.written.push(...r.written);
    report.deleted.push(...r.deleted);
  }
  return report;
}

function nonNull(f: FileInfo | null): FileInfo[] {
  return f ? [f] : [];
}

/** The earliest end of the window containing `now` among the intervals. */
function nextWindow(now: number, intervals: readonly number[]): number {
  let next = Infinity;
  for (const i of intervals) if (i > 0) next = Math.min(next, windowStart(now, i) + i);
  return next;
}

function defaultElapsedClock(): () => number {
  const p = (globalThis as { performance?: { now(): number } }).performance;
  return p ? () => p.now() : () => Date.now();
}

