/**
 * ltxkit: Litestream-compatible SQLite replication for every JavaScript runtime.
 *
 * The core entry: the LTX codec, the BlobStore interface with the memory and S3 stores, the replica
 * logic and page capture. Runtime adapters (file store, file output) are `ltxkit/node`,
 * `ltxkit/deno` and `ltxkit/bun`.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./ltx/mod.ts";
export * from "./store/mod.ts";
export * from "./replica/mod.ts";
export { captureL0, sqlitePageSize, type CaptureOptions } from "./capture/page-diff.ts";
