/**
 * Blob stores: the BlobStore interface, the memory store and the S3 store (Web APIs only).
 * The file-system store is runtime code: `ltxkit/node`, `ltxkit/deno`, `ltxkit/bun`.
 *
 * @module
 */
export * from "./blob-store.ts";
export { MemoryStore } from "./memory.ts";
export { S3Store, encodeRfc3986, type S3StoreOptions } from "./s3.ts";
