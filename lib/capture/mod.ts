/**
 * Where changes come from: the capture VFS of sqlite-wasm databases (`openCapturedDatabase`,
 * `installCaptureVfs`: pages kept in a `VfsStorage`, each committed transaction queued in the same
 * batch as its pages, merged into one L0 file per sync interval), page capture from whole database
 * images (`captureL0`), and the WAL
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
export { installCaptureVfs, type CaptureVfs, type CaptureVfsOptions, type CaptureVfsError, type SqliteWasmModule } from "./wasm-vfs.ts";
export { CaptureLog, type CaptureLogOptions, type CapturePosition, type CommitInput, type QueueStatus } from "./vfs-log.ts";
export { VfsSource, VfsRecordStore, type VfsSourceOptions } from "./vfs-source.ts";
export {
  openCapturedDatabase,
  restoreIntoStorage,
  type CapturedDatabase,
  type CapturedDatabaseOptions,
  type CapturedDatabaseStatus,
  type StorageRestoreResult,
  type WasmDb,
} from "./vfs-database.ts";
export { MemoryVfsStorage, type VfsStorage, type VfsBatch } from "./vfs-storage.ts";
