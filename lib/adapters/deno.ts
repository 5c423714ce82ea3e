/**
 * ltxkit for Deno: the file-system store, atomic file output, replica URLs with file paths and the
 * process environment, the sqlite-wasm loader for integrity checks, the SQLite drivers and
 * `replicate()` for live databases. Built on node:fs, which Deno
 * provides; the same code runs in Node, Bun and Deno and the test suite runs in all three. The core
 * is `ltxkit` (or `ltxkit/ltx`, `ltxkit/store`, `ltxkit/replica`), the S3 store `ltxkit/s3`.
 *
 * @module
 */
export { FsStore } from "./fs-store.ts";
export { FileSink } from "./fs-sink.ts";
export { AtomicFile, readFileChunks, writeFileAtomic } from "./fs-file.ts";
export { openReplicaFromEnv } from "./replica-node.ts";
export { openSqlite, loadSqliteDriver, type SqliteDriverName } from "./sqlite-open.ts";
export { openWalSource, defaultMetaPath, localReplica, type OpenWalSourceOptions } from "./wal-node.ts";
export { nodeFileAccess } from "./fs-random.ts";
export { replicate, type ReplicateOptions, type ReplicationHandle } from "./replicate.ts";
export { loadSqliteWasm } from "./sqlite-wasm.ts";
