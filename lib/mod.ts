/**
 * ltxkit: Litestream-compatible SQLite replication for every JavaScript runtime.
 *
 * The core entry: the LTX codec, the BlobStore interface with the memory and S3 stores, the replica
 * logic, page capture and the WAL capture of live databases (SQLite driver and file access
 * injected). Runtime adapters (file store, file output, SQLite drivers) are `ltxkit/node`,
 * `ltxkit/deno` and `ltxkit/bun`.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./ltx/mod.ts";
export * from "./store/mod.ts";
export * from "./replica/mod.ts";
export { captureL0, sqlitePageSize, type CaptureOptions } from "./capture/page-diff.ts";
export { WalSource, type WalSourceOptions, type L0Event } from "./capture/wal-source.ts";
export type { SqliteConnection, SqliteOpener, FileAccess, RandomAccessReader } from "./capture/sqlite.ts";
export { DEFAULT_CHECKPOINT, type CheckpointConfig } from "./capture/checkpoint-policy.ts";
export { DEFAULT_MAX_SYNC_WAL_BYTES } from "./capture/wal-reader.ts";
export {
  decodeWalHeader,
  decodeWalFrameHeader,
  encodeWalHeader,
  encodeWalFrame,
  verifyWalFrame,
  walChecksum,
  WAL_HEADER_SIZE,
  WAL_FRAME_HEADER_SIZE,
  WAL_MAGIC_LE,
  WAL_MAGIC_BE,
  type WalHeader,
  type WalFrameHeader,
  type WalChecksum,
} from "./capture/wal.ts";
