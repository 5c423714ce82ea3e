/**
 * ltxkit for Bun: the core plus the file-system store, atomic file output, replica URLs with
 * file paths, the SQLite drivers and `replicate()` for live databases. Built on node:fs, which
 * Bun provides; the same code runs in Node, Bun and Deno and the test suite runs in all three.
 *
 * @module
 */
export * from "../mod.ts";
export { FsStore } from "./fs-store.ts";
export { FileSink } from "./fs-sink.ts";
export { AtomicFile, writeFileAtomic, readFileChunks } from "./fs-file.ts";
export { openReplicaFromEnv } from "./replica-node.ts";
export { openSqlite, loadSqliteDriver, type SqliteDriverName } from "./sqlite-open.ts";
export { openWalSource, defaultMetaPath, localReplica, type OpenWalSourceOptions } from "./wal-node.ts";
export { nodeFileAccess } from "./fs-random.ts";
export { replicate, type ReplicateOptions, type ReplicationHandle } from "./replicate.ts";
