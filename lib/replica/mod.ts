/**
 * Litestream's replica model over a BlobStore: layouts and URLs, listing, the restore plan,
 * restore, level compaction, snapshots and retention, integrity checks, whole-replica verification,
 * the Replicator that ships L0 files from a live database to replicas, and Litestream's lock.json
 * lease (single writer).
 *
 * @module
 */
export { compareFileInfo, MAX_LEVEL, SNAPSHOT_LEVEL, type FileInfo } from "./file-info.ts";
export { fileLayout, s3Layout, type ReplicaLayout } from "./layout.ts";
export { memoryReplica, type Replica } from "./replica.ts";
export { openReplica, parseReplicaURL, type OpenReplicaOptions, type ParsedReplicaURL } from "./url.ts";
export { listAll, listLevel, writeLtxFile, type ListLevelOptions } from "./list.ts";
export { calcRestorePlan, checkTimestampBounds, planFromListings, type RestoreTarget } from "./plan.ts";
export { restore, type RestoreOptions, type RestoreProgress, type RestoreResult } from "./restore.ts";
export { BytesSink, StreamSink, type PageSink } from "./sinks.ts";
export type { FetchOptions } from "./fetch.ts";
export { compactLevel, compactReplica, snapshotReplica, type CompactReport } from "./compact.ts";
export { runMaintenance, type MaintenanceOptions, type MaintenanceReport, type MaintenanceStep, type MaintenanceTask } from "./maintenance.ts";
export { enforceL0Retention, enforceSnapshotRetention } from "./retention.ts";
export { DEFAULT_COMPACTION_CONFIG, type CompactionConfig, type CompactOptions } from "./schedule.ts";
export { integrityCheck, type IntegrityMode, type SqliteWasm } from "./integrity.ts";
export {
  verifyReplica,
  VERIFY_FINDING_SEVERITY,
  type VerifyFinding,
  type VerifyFindingKind,
  type VerifyLevelSummary,
  type VerifyOptions,
  type VerifyProgress,
  type VerifyReport,
} from "./verify.ts";
export {
  Replicator,
  ReplicatorEvent,
  type L0Source,
  type ReplicatorOptions,
  type ReplicatorLeaseOptions,
  type ReplicaLeaseStatus,
  type ReplicaStatus,
  type ReplicatorStatus,
  type ReplicatorEventType,
  type ReplicatorEventDetail,
} from "./replicator.ts";
export { systemClock, type Clock } from "./clock.ts";
export { DEFAULT_LEASE_TTL, Leaser, decodeLease, encodeLease, leaseExpired, probeConditionalWrites, type Lease, type LeaseOptions, type LeaseRecord } from "./lease.ts";
