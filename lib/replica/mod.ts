/**
 * Litestream's replica model over a BlobStore: layouts and URLs, listing, the restore plan,
 * restore, level compaction, snapshots and retention, and the Replicator that ships L0 files from a
 * live database to replicas.
 *
 * @module
 */
export * from "./file-info.ts";
export * from "./layout.ts";
export * from "./url.ts";
export * from "./list.ts";
export * from "./plan.ts";
export * from "./restore.ts";
export * from "./compact.ts";
export { integrityCheck, type IntegrityMode } from "./integrity.ts";
export { Semaphore, type FetchOptions } from "./fetch.ts";
export {
  Replicator,
  ReplicatorEvent,
  type L0Source,
  type ReplicatorOptions,
  type ReplicaStatus,
  type ReplicatorStatus,
  type ReplicatorEventType,
  type ReplicatorEventDetail,
} from "./replicator.ts";
export { systemClock, type Clock } from "./clock.ts";
