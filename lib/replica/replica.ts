/** A replica: a blob store plus the key layout Litestream uses on it. */
import type { BlobStore } from "../store/blob-store.ts";
import { MemoryStore } from "../store/memory.ts";
import { fileLayout, type ReplicaLayout } from "./layout.ts";

/** A store plus its key layout, as `openReplica` returns it. */
export interface Replica {
  /** The URL as given (never with credentials). */
  url: string;
  kind: "file" | "s3" | "memory" | "r2";
  store: BlobStore;
  layout: ReplicaLayout;
  /** True where file timestamps come from object metadata (S3), false where from mtime (file). */
  timestampFromMetadata: boolean;
}

/** A memory replica (tests, browsers, workers) over a given store. */
export function memoryReplica(store: BlobStore = new MemoryStore()): Replica {
  return { url: "memory://", kind: "memory", store, layout: fileLayout, timestampFromMetadata: false };
}
