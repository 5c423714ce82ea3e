/**
 * When Litestream checkpoints (spec: litestream-replica.md §3.3), in priority order:
 * 1. the WAL file reached `truncatePageN` pages: PASSIVE first, then a blocking TRUNCATE unless
 *    the PASSIVE one restarted the WAL;
 * 2. the synced part of the WAL reached `minCheckpointPageCount` pages: PASSIVE;
 * 3. `checkpointInterval` passed since the database file changed and something was synced: PASSIVE.
 */
import { walSizeOf } from "./wal.ts";

export interface CheckpointConfig {
  /** PASSIVE checkpoint once the synced WAL holds this many pages (Litestream: 1000). */
  minCheckpointPageCount: number;
  /** PASSIVE checkpoint after this long (ms) without a change of the database file (Litestream: 1 min; 0 disables). */
  checkpointInterval: number;
  /** TRUNCATE checkpoint once the WAL file holds this many pages (Litestream: 121359; 0 means the default). */
  truncatePageN: number;
}

export const DEFAULT_CHECKPOINT: CheckpointConfig = { minCheckpointPageCount: 1000, checkpointInterval: 60_000, truncatePageN: 121_359 };

/** What the policy needs to know and do. */
export interface CheckpointHost {
  pageSize: number;
  hasPosition(): boolean;
  /** End of the WAL part captured so far. */
  syncedEnd(): number;
  syncedSinceCheckpoint(): boolean;
  walFileSize(): Promise<number>;
  dbMtime(): Promise<number>;
  now(): number;
  /** Runs one checkpoint; true when the WAL restarted. */
  checkpoint(mode: "PASSIVE" | "TRUNCATE"): Promise<boolean>;
}

/** Runs the checkpoint Litestream would run now, if any; returns the mode run. */
export async function checkpointPolicy(h: CheckpointHost, c: CheckpointConfig): Promise<"PASSIVE" | "TRUNCATE" | null> {
  if (!h.hasPosition() || h.pageSize <= 0) return null;
  const truncateN = c.truncatePageN > 0 ? c.truncatePageN : DEFAULT_CHECKPOINT.truncatePageN;
  const truncateAt = walSizeOf(h.pageSize, truncateN);
  if ((await h.walFileSize()) >= truncateAt) {
    if ((await h.checkpoint("PASSIVE")) && h.syncedEnd() < truncateAt) return "PASSIVE";
    await h.checkpoint("TRUNCATE");
    return "TRUNCATE";
  }
  if (c.minCheckpointPageCount > 0 && h.syncedEnd() >= walSizeOf(h.pageSize, c.minCheckpointPageCount)) {
    await h.checkpoint("PASSIVE");
    return "PASSIVE";
  }
  if (c.checkpointInterval > 0 && h.syncedSinceCheckpoint() && h.syncedEnd() > walSizeOf(h.pageSize, 1)) {
    if (h.now() - (await h.dbMtime()) > c.checkpointInterval) {
      await h.checkpoint("PASSIVE");
      return "PASSIVE";
    }
  }
  return null;
}
