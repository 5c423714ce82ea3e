/** Opens replica URLs with the file store, the S3 store and the process environment (Node, Bun and Deno). */
import process from "node:process";
import type { Replica } from "../replica/replica.ts";
import { openReplica, type OpenReplicaOptions } from "../replica/url.ts";
import { S3Store } from "../store/s3.ts";
import { FsStore } from "./fs-store.ts";

/**
 * Opens a replica URL (a path, `file://` or `s3://`) with credentials from the process environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, LITESTREAM_S3_ENDPOINT, …).
 */
export function openReplicaFromEnv(url: string, opts: Omit<OpenReplicaOptions, "env" | "fileStore" | "s3Store"> = {}): Replica {
  return openReplica(url, { ...opts, env: process.env, fileStore: (dir) => new FsStore(dir), s3Store: (o) => new S3Store(o) });
}
