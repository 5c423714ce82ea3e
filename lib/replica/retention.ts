/**
 * Retention as Go Litestream v0.5.16 enforces it (spec: litestream-replica.md §4): old snapshots and
 * the level files below the oldest kept snapshot, and L0 files already covered by L1.
 */
import { last, SNAPSHOT_LEVEL, type FileInfo } from "./file-info.ts";
import { listLevel } from "./list.ts";
import type { Replica } from "./replica.ts";
import { resolveConfig, type CompactOptions } from "./schedule.ts";

async function remove(replica: Replica, files: FileInfo[], enabled: boolean, signal?: AbortSignal): Promise<FileInfo[]> {
  if (!enabled || files.length === 0) return [];
  await replica.store.delete(files.map((f) => f.key), { signal });
  return files;
}

/**
 * Go's EnforceSnapshotRetention + EnforceRetentionByTXID: deletes snapshots created before
 * now − retention (always keeping the newest), then files of levels 1..N whose MaxTXID is below the
 * snapshot floor (always keeping each level's last file).
 */
export async function enforceSnapshotRetention(replica: Replica, o: CompactOptions = {}): Promise<FileInfo[]> {
  const c = resolveConfig(o);
  const threshold = (o.now ?? new Date()).getTime() - c.snapshotRetention;
  const snaps = await listLevel(replica, SNAPSHOT_LEVEL, { signal: o.signal });
  let doomed = snaps.filter((s) => s.createdAt.getTime() < threshold);
  if (doomed.length && doomed[doomed.length - 1] === last(snaps)) doomed = doomed.slice(0, -1);
  let floor = 0n;
  for (const [i, s] of snaps.entries()) {
    if (doomed.includes(s)) continue;
    if (i > 0) floor = snaps[i - 1]!.maxTXID;
    break;
  }
  const deleted = await remove(replica, doomed, c.retention, o.signal);
  for (let level = 1; level <= c.levels.length; level++) {
    const files = await listLevel(replica, level, { signal: o.signal });
    let old = files.filter((f) => f.maxTXID < floor);
    if (old.length && old[old.length - 1] === last(files)) old = old.slice(0, -1);
    deleted.push(...(await remove(replica, old, c.retention, o.signal)));
  }
  return deleted;
}

/**
 * Go's EnforceL0RetentionByTime: deletes L0 files covered by L1 and older than the L0 retention,
 * stopping at the first file that is too recent, never the newest L0 file.
 */
export async function enforceL0Retention(replica: Replica, o: CompactOptions = {}): Promise<FileInfo[]> {
  const c = resolveConfig(o);
  if (c.l0Retention <= 0) return [];
  const l1 = await listLevel(replica, 1, { signal: o.signal });
  const maxL1 = l1.reduce((m, f) => (f.maxTXID > m ? f.maxTXID : m), 0n);
  if (maxL1 === 0n) return [];
  const threshold = (o.now ?? new Date()).getTime() - c.l0Retention;
  const l0 = await listLevel(replica, 0, { signal: o.signal });
  let doomed: FileInfo[] = [];
  let all = true;
  for (const f of l0) {
    if (f.createdAt.getTime() > threshold) {
      all = false;
      break;
    }
    if (f.maxTXID <= maxL1) doomed.push(f);
  }
  if (all && doomed.length && doomed[doomed.length - 1] === last(l0)) doomed = doomed.slice(0, -1);
  return remove(replica, doomed, c.retention, o.signal);
}
