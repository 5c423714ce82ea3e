/**
 * The S3 store: S3 and S3-compatible servers (R2, B2, Tigris, MinIO, Ceph RGW) over `fetch`, signed
 * with aws4fetch. Its own entry point, so that the codec, the memory store and the replica logic do
 * not carry aws4fetch. Pass it to `openReplica` as `s3Store: (o) => new S3Store(o)`.
 *
 * @module
 */
export { S3Store, type S3StoreOptions } from "./store/s3.ts";
