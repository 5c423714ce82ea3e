/**
 * When compaction and retention act: the level ladder's intervals, the snapshot interval, the
 * retention windows (Litestream v0.5.16's defaults) and the epoch-aligned windows Go uses.
 */
import type { PageEncoding } from "../ltx/encoder.ts";

/** The compaction ladder and retention windows (Litestream's defaults in DEFAULT_COMPACTION_CONFIG). */
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

/** Litestream v0.5.16's defaults: levels 30 s, 5 min, 1 h; daily snapshots kept 24 h; L0 kept 5 min. */
export const DEFAULT_COMPACTION_CONFIG: CompactionConfig = {
  levels: [30_000, 5 * 60_000, 60 * 60_000],
  snapshotInterval: 24 * 3600_000,
  snapshotRetention: 24 * 3600_000,
  l0Retention: 5 * 60_000,
  l0RetentionCheckInterval: 15_000,
  retention: true,
  pageEncoding: "block",
};

/** Options of the compaction and retention passes. */
export interface CompactOptions {
  now?: Date;
  /** Ignore the interval windows (compact whatever is newer). */
  force?: boolean;
  config?: Partial<CompactionConfig>;
  signal?: AbortSignal;
}

/** The configuration a pass runs with: the defaults overridden by `o.config`. */
export function resolveConfig(o: CompactOptions): CompactionConfig {
  return { ...DEFAULT_COMPACTION_CONFIG, ...o.config };
}

/** Go's time.Truncate: the start of the epoch-aligned window containing t. */
export function windowStart(t: number, interval: number): number {
  return t - (((t % interval) + interval) % interval);
}
