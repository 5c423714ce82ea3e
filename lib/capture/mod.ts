/**
 * Where changes come from: page capture from whole database images (sqlite-wasm), and the WAL
 * capture of live SQLite databases as Litestream does it (`WalSource`, with the SQLite driver and
 * file access injected; `ltxkit/node`, `ltxkit/bun` and `ltxkit/deno` provide both). Produces L0
 * files for the Replicator of `ltxkit/replica`.
 *
 * @module
 */
export { captureL0, sqlitePageSize, type CaptureOptions } from "./page-diff.ts";
export { WalSource, type WalSourceOptions, type L0Event } from "./wal-source.ts";
export type { SqliteConnection, SqliteOpener, FileAccess, RandomAccessReader } from "./sqlite.ts";
export { DEFAULT_CHECKPOINT, type CheckpointConfig } from "./checkpoint-policy.ts";
export { DEFAULT_MAX_SYNC_WAL_BYTES } from "./wal-reader.ts";
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
} from "./wal.ts";
