/**
 * Litestream's replica model over a BlobStore: layouts and URLs, listing, the restore plan,
 * restore, level compaction, snapshots and retention.
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
