/**
 * ltxkit: Litestream-compatible SQLite replication for every JavaScript runtime.
 *
 * Core entry: the LTX codec, the BlobStore interface and stores that need no runtime, and the
 * replica logic. Runtime adapters (file stores, file output) are in `ltxkit/node`, `ltxkit/deno`
 * and `ltxkit/bun`.
 *
 * @module
 */
export * from "./errors.ts";
