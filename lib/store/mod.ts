/**
 * Blob stores: the BlobStore interface and the memory store (Web APIs only). The S3 store is
 * `ltxkit/s3` (it brings aws4fetch); the file-system store is runtime code: `ltxkit/node`,
 * `ltxkit/deno`, `ltxkit/bun`.
 *
 * @module
 */
export type { BlobInfo, BlobStore, ByteRange, DeleteOptions, GetOptions, ListOptions, PutBody, PutOptions } from "./blob-store.ts";
export { MemoryStore } from "./memory.ts";
