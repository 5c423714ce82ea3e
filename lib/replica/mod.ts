/**
 * Litestream's replica model over a BlobStore: layouts and URLs, listing, the restore plan,
 * restore, level compaction, snapshots and retention, integrity checks.
 *
 * @module
 */
export { compareFileInfo, MAX_LEVEL, SNAPSHOT_LEVEL, type FileInfo } from "./file-info.ts";
export { fileLayout, s3Layout, type ReplicaLayout } from "./layout.ts";
export { memoryReplica, type Replica } from "./replica.ts";
export { openReplica, parseReplicaURL, type OpenReplicaOptions, type ParsedReplicaURL } from "./url.ts";
export { listAll, listLevel, writeLtxFile, type ListLevelOptions } from "./list.ts";
export { calcRestorePlan, checkTimestampBounds, planFromListings, type RestoreTarget } from "./plan.ts";
export { BytesSink, restore, StreamSink, type PageSink, type RestoreOptions, type RestoreProgress, type RestoreResult } from "./restore.ts";
export type { FetchOptions } from "./fetch.ts";
export {
  compactLevel,
  compactReplica,
  DEFAULT_COMPACTION_CONFIG,
  enforceL0Retention,
  enforceSnapshotRetention,
  snapshotReplica,
  type CompactionConfig,
  type CompactOptions,
  type CompactReport,
} from "./compact.ts";
export { integrityCheck, type IntegrityMode, type SqliteWasm } from "./integrity.ts";
