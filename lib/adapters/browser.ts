/**
 * ltxkit for browsers: the Origin Private File System as a blob store (`OpfsStore`, for a local
 * replica) and as the durable storage under the capture VFS (`OpfsVfsStorage`, over sync access
 * handles, in a dedicated Worker). Web APIs only, no Node modules. The S3 store (`ltxkit/s3`) works
 * in the browser over `fetch` when the bucket allows the page's origin by CORS (see the README). The
 * core is `ltxkit` (or `ltxkit/ltx`, `ltxkit/store`, `ltxkit/replica`, `ltxkit/capture`).
 *
 * @module
 */
export {
  OpfsStore,
  type OpfsStoreOptions,
  type OpfsDirectoryHandle,
  type OpfsFileHandle,
  type OpfsFile,
  type OpfsWritable,
  type OpfsLockManager,
} from "../store/opfs.ts";
export {
  OpfsVfsStorage,
  type OpfsVfsStorageOptions,
  type OpfsSyncAccessHandle,
  type OpfsSyncFileHandle,
  type OpfsSyncDirectoryHandle,
} from "../capture/opfs-vfs-storage.ts";
