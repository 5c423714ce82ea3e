/**
 * ltxkit for Node: the file-system store, atomic file output, replica URLs with file paths and the
 * process environment, and the sqlite-wasm loader for integrity checks. Built on node:fs, which Node
 * provides; the same code runs in Node, Bun and Deno and the test suite runs in all three. The core
 * is `ltxkit` (or `ltxkit/ltx`, `ltxkit/store`, `ltxkit/replica`), the S3 store `ltxkit/s3`.
 *
 * @module
 */
export { FsStore } from "./fs-store.ts";
export { FileSink } from "./fs-sink.ts";
export { AtomicFile, readFileChunks, writeFileAtomic } from "./fs-file.ts";
export { openReplicaFromEnv } from "./replica-node.ts";
export { loadSqliteWasm } from "./sqlite-wasm.ts";
