/**
 * ltxkit for workerd (Cloudflare Workers, Durable Objects): the R2 bucket store, an R2 replica with
 * Litestream's S3 layout, the VfsStorage over a Durable Object's SQLite storage, and the loader
 * that starts sqlite-wasm in workerd with ltxkit's precompiled function trampolines
 * (`ltxkit/wasm/sqlite-trampolines.wasm`). Compaction from a scheduled handler or an alarm is
 * `runMaintenance` (re-exported here); the S3 store over fetch is `ltxkit/s3`, the capture VFS
 * `ltxkit/capture`. Runs on Web APIs only; the rest of ltxkit works in workerd unchanged.
 *
 * @module
 */
import { LtxError } from "../errors.ts";
import { s3Layout } from "../replica/layout.ts";
import type { Replica } from "../replica/replica.ts";
import { R2Store, type R2BucketLike, type R2StoreOptions } from "../store/r2.ts";

export { R2Store, type R2BucketLike, type R2ObjectLike, type R2ObjectBodyLike, type R2ConditionalLike, type R2StoreOptions } from "../store/r2.ts";
export { DurableObjectVfsStorage, type DurableObjectStorageLike, type DurableObjectVfsStorageOptions, type SqlCursorLike } from "./do-vfs-storage.ts";
export { initSqliteWasmForWorkerd, installSqliteTrampolines, SQLITE_WASM_VERSION, type WorkerdSqliteWasmOptions } from "./sqlite-wasm-workerd.ts";
export { runMaintenance, type MaintenanceOptions, type MaintenanceReport, type MaintenanceStep, type MaintenanceTask } from "../replica/maintenance.ts";

/**
 * A replica on an R2 bucket binding under `prefix`, with Litestream's S3 key layout
 * (`<prefix>/<level %04x>/<min>-<max>.ltx`) and timestamps in custom metadata, so Go Litestream
 * restores it through R2's S3 API (`s3://<bucket>/<prefix>?endpoint=…`).
 */
export function r2Replica(bucket: R2BucketLike, prefix: string, opts: R2StoreOptions & { name?: string } = {}): Replica {
  const p = prefix.replace(/^\/+|\/+$/g, "");
  if (!p) throw new LtxError("INVALID_ARGUMENT", "r2Replica: a key prefix is required (the database's directory in the bucket)");
  return { url: `r2://${opts.name ?? "bucket"}/${p}`, kind: "r2", store: new R2Store(bucket, opts), layout: s3Layout(p), timestampFromMetadata: true };
}
