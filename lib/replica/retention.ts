/**
 * Retention as Go Litestream v0.5.16 enforces it (spec: litestream-replica.md §4): old snapshots and
 * the level files below the oldest kept snapshot, and L0 files already covered by L1. The *Victims
 * functions decide from listings a caller already holds (the replicator's ladder); the enforce*
 * functions list, decide and delete.
 */
import { SNAPSHOT_LEVEL, type FileInfo } from "./file-info.ts";
import { listLevel } from "./list.ts";
import type { Replica } from "./replica.ts";
import { resolveConfig, type CompactOptions } from "./schedule.ts";

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
  const c = resolveConfig(o);
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
  const c = resolveConfig(o);
  if (c.l0Retention <= 0) return [];
  const l1 = await listLevel(replica, 1, { signal: o.signal });
  if (l1.length === 0) return [];
  const l0 = await listLevel(replica, 0, { signal: o.signal });
  return remove(replica, l0RetentionVictims(l0, l1, (o.now ?? new Date()).getTime(), c.l0Retention), c.retention, o.signal);
}
