/**
 * The one interface every ltxkit component reads and writes LTX files through. Stores know keys and
 * bytes, never LTX. Keys are `/`-separated strings with no leading `/`.
 *
 * @module
 */

/** A byte range: `length` omitted means "from offset to the end". */
export interface ByteRange {
  offset: number;
  length?: number;
}

/** What a store knows about one object. */
export interface BlobInfo {
  key: string;
  size: number;
  /** Entity tag as the store reports it, without surrounding quotes. */
  etag: string;
  /** Last modification time (file mtime, S3 LastModified). */
  lastModified: Date;
  /** User metadata (S3 `x-amz-meta-*`, lower-case names without the prefix). Only from head(). */
  metadata?: Record<string, string>;
}

/** Options of BlobStore.put: conditions, metadata, mtime. */
export interface PutOptions {
  /** `"*"`: write only if the key does not exist; a lost race throws PRECONDITION_FAILED. */
  ifNoneMatch?: "*";
  /** Write only if the current ETag equals this one; otherwise PRECONDITION_FAILED. */
  ifMatch?: string;
  /** User metadata to store with the object (S3 `x-amz-meta-*`). */
  metadata?: Record<string, string>;
  /** Modification time to record where the store can (file stores set the mtime, as Go does). */
  mtime?: Date;
  /** Content type, where the store keeps one. */
  contentType?: string;
  /**
   * The body, a Uint8Array, is immutable from now on (neither the caller nor anyone it shares the
   * array with writes to it), so a store that keeps objects in memory may keep that very array
   * instead of a copy. Default false: the store copies what it keeps.
   */
  transfer?: boolean;
  signal?: AbortSignal;
  /**
   * Called as late as the store can before the write becomes visible: a file store after the fsync,
   * right before the rename; a network store before each attempt of the request that makes it so.
   * An error it throws abandons the write and is what put() rejects with. A lease fence checks its
   * clock here, because a timer that would abort `signal` may not have run yet (a process that was
   * stopped and continued runs its pending I/O callbacks before its timers).
   */
  beforeCommit?: () => void;
}

/** Options of BlobStore.get and getStream. */
export interface GetOptions {
  signal?: AbortSignal;
  /**
   * getStream only: the preferred size of the chunks a body is read in. Stores that read in chunks
   * (files, memory) read this many bytes at a time; network stores deliver what arrives.
   */
  chunkSize?: number;
}

/** Options of BlobStore.list. */
export interface ListOptions {
  /** Only keys strictly greater than this one. */
  startAfter?: string;
  signal?: AbortSignal;
}

/** Options of BlobStore.delete. */
export interface DeleteOptions {
  /** Delete only if the current ETag equals this one (single key only); else PRECONDITION_FAILED. */
  ifMatch?: string;
  signal?: AbortSignal;
  /** As PutOptions.beforeCommit: called right before the keys are removed; throwing keeps them. */
  beforeCommit?: () => void;
}

/** Body accepted by put: bytes, or a stream of bytes of unknown length. */
export type PutBody = Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** A key/value store of immutable blobs: what replicas live on (memory, file system, S3). */
export interface BlobStore {
  /** Short name for messages: "memory", "file", "s3". */
  readonly kind: string;

  /**
   * True when the store keeps its objects in memory, so that a whole-object `get` costs no I/O and
   * no more memory than the object already takes: a reader may then prefer it to `getStream`.
   * Absent means false.
   */
  readonly inMemory?: boolean;

  /**
   * Optional, for stores that keep objects in memory: the stored bytes of a whole object without a
   * copy, or null when absent. Shared with the store: nobody may write to them (a reader reads
   * them, or hands them to a put with `transfer`).
   */
  getShared?(key: string): Uint8Array | null;

  /**
   * Reads an object, or a byte range of it. Returns `null` when the key does not exist. A range that
   * starts at or past the end returns an empty array; a range that runs past the end is clipped.
   * Idempotent; no side effects.
   */
  get(key: string, range?: ByteRange, opts?: GetOptions): Promise<Uint8Array | null>;

  /**
   * Like get, but returns a stream, so large objects are never held whole in memory. `null` when absent.
   */
  getStream(key: string, range?: ByteRange, opts?: GetOptions): Promise<ReadableStream<Uint8Array> | null>;

  /**
   * Writes a whole object atomically: readers see the old object or the new one, never a mix.
   * Conditional writes (`ifNoneMatch`, `ifMatch`) are atomic against concurrent writers; the loser
   * gets an LtxError with code PRECONDITION_FAILED. Unconditional puts are idempotent.
   */
  put(key: string, body: PutBody, opts?: PutOptions): Promise<{ etag: string; size: number }>;

  /**
   * Lists objects whose key starts with `prefix`, in lexicographic (byte) key order, fetching pages
   * underneath. The listing is a snapshot per page: objects written during iteration may be missed.
   */
  list(prefix: string, opts?: ListOptions): AsyncIterable<BlobInfo>;

  /**
   * Deletes keys in batches. Idempotent: missing keys are not errors. With `ifMatch`, exactly one key
   * may be given and it is deleted only if its ETag matches.
   */
  delete(keys: readonly string[], opts?: DeleteOptions): Promise<void>;

  /** Size, ETag, metadata and modification time of one object, or `null` when absent. Idempotent. */
  head(key: string, opts?: GetOptions): Promise<BlobInfo | null>;
}
