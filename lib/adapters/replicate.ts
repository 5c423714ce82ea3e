/**
 * `replicate()`: Litestream's write path for a live SQLite database file, in Node, Bun and Deno.
 * A WalSource captures L0 files into `.<db>-litestream/ltx/0/` with the runtime's SQLite driver;
 * a Replicator uploads them to the replicas, compacts, snapshots and prunes in the background.
 */
import os from "node:os";
import process from "node:process";
import type { SqliteOpener } from "../capture/sqlite.ts";
import type { PageEncoding } from "../ltx/encoder.ts";
import { fileLayout, s3Layout } from "../replica/layout.ts";
import { Replicator, type ReplicatorEventType, type ReplicatorEvent, type ReplicatorOptions, type ReplicatorStatus } from "../replica/replicator.ts";
import { openReplica } from "../replica/url.ts";
import { type Replica } from "../replica/replica.ts";
import type { BlobStore } from "../store/blob-store.ts";
import { S3Store } from "../store/s3.ts";
import { FsStore } from "./fs-store.ts";
import { openWalSource } from "./wal-node.ts";
import { LtxError } from "../errors.ts";
import { replicateInWorker } from "./replicate-thread.ts";
import { openSqlite, type SqliteDriverName } from "./sqlite-open.ts";

/** Options of `replicate()`: the Replicator's, plus Litestream's per-database settings. */
export type ReplicateOptions = ReplicatorOptions & {
  /** PASSIVE checkpoint after this long (ms) without a change of the database file (default 60000; 0 disables). */
  checkpointInterval?: number;
  /** PASSIVE checkpoint once the synced WAL holds this many pages (default 1000). */
  minCheckpointPageCount?: number;
  /** TRUNCATE checkpoint once the WAL holds this many pages (default 121359). */
  truncatePageN?: number;
  /** busy_timeout of the replication connections in ms (default 1000). */
  busyTimeout?: number;
  /** At most this many WAL bytes per L0 file (default 64 MiB). */
  maxSyncWalBytes?: number;
  /** Local staging directory (default `<dir>/.<file>-litestream`). */
  metaPath?: string;
  /** SQLite driver (default: the runtime's, see openSqlite). */
  open?: SqliteOpener;
  /** SQLite driver by name, when `open` is not given (default: the runtime's, see loadSqliteDriver); with `worker`, the way to choose one. */
  driver?: SqliteDriverName;
  /**
   * Run the replication in a worker thread (node:worker_threads, also in Bun and Deno) with its own
   * SQLite connections: the WAL scan, L0 encode, checkpoint calls and uploads leave the
   * application's thread. Replicas must then be URLs, and `open` and `clock` (functions) cannot be
   * given; `status()` is the newest status the worker reported. Default false.
   */
  worker?: boolean;
  /** Environment for replica URLs (S3 credentials); default the process environment. */
  env?: Record<string, string | undefined>;
  /** Page encoding of every file written (default "block", Litestream ≥ v0.5.16; "frame" for every v0.5.x reader). */
  pageEncoding?: PageEncoding;
  /** Compress the pages of L0 files (default true); false stores them, a copy instead of an LZ4 compression per page and sync (see `WalSourceOptions.compressL0`). */
  compressL0?: boolean;
};

/** A running replication: the Replicator's surface. */
export interface ReplicationHandle {
  /** Resolves with a TXID once everything committed before the call is in every replica. */
  sync(options?: { timeout?: number }): Promise<bigint>;
  /** One capture, upload and ladder step (for callers that drive replication themselves). */
  tick(): Promise<void>;
  /** Final upload bounded by shutdownTimeout, then stops and closes the database connections. */
  close(): Promise<void>;
  status(): ReplicatorStatus;
  addEventListener<T extends ReplicatorEventType>(type: T, listener: ((e: ReplicatorEvent<T>) => void) | EventListenerObject | null, options?: AddEventListenerOptions | boolean): void;
  removeEventListener(type: ReplicatorEventType, listener: EventListenerOrEventListenerObject | null, options?: EventListenerOptions | boolean): void;
}

function isReplica(x: unknown): x is Replica {
  return typeof x === "object" && x !== null && "layout" in x && "store" in x;
}

function storeReplica(store: BlobStore): Replica {
  if (store.kind === "s3") return { url: "s3://", kind: "s3", store, layout: s3Layout(""), timestampFromMetadata: true };
  const url = store instanceof FsStore ? store.root : `${store.kind}://`;
  return { url, kind: store.kind === "file" ? "file" : "memory", store, layout: fileLayout, timestampFromMetadata: false };
}

function toReplicas(r: string | Replica | BlobStore | Array<string | Replica>, env: Record<string, string | undefined>): Replica[] {
  const list = Array.isArray(r) ? r : [r];
  return list.map((x) => (typeof x === "string" ? openReplica(x, { env, fileStore: (dir) => new FsStore(dir), s3Store: (o) => new S3Store(o) }) : isReplica(x) ? x : storeReplica(x as BlobStore)));
}

/**
 * Replicates the SQLite database at `db` to one or more replicas (URLs, Replica objects or a
 * BlobStore) as Go Litestream v0.5.16 does, and starts the background loops. The database must
 * exist; it is switched to WAL mode and gains the `_litestream_seq` and `_litestream_lock` tables.
 * The application must not checkpoint by itself for Litestream's guarantees (checkpoints it does
 * run are detected, and cost a full snapshot in the next L0 file).
 *
 * The SQLite drivers are synchronous: a replication in the same thread as an application that
 * keeps a write transaction open across an `await` makes the seq bump or the checkpoint barrier
 * wait up to `busyTimeout` with the thread blocked (then that checkpoint is skipped). Such
 * applications replicate from a worker thread (`worker: true`) or another process. SQLite's PERSIST_WAL cannot be set
 * through these drivers, so when replication holds the last connection, closing it deletes the
 * WAL and the next start writes a snapshot.
 *
 * @throws {LtxError} NOT_FOUND when the database does not exist; UNSUPPORTED without a SQLite driver
 */
export async function replicate(db: string, replica: string | Replica | BlobStore | Array<string | Replica>, options: ReplicateOptions = {}): Promise<ReplicationHandle> {
  if (options.worker) return inWorker(db, replica, options);
  const env = options.env ?? process.env;
  const replicas = toReplicas(replica, env);
  const { checkpointInterval, minCheckpointPageCount, truncatePageN, busyTimeout, maxSyncWalBytes, metaPath, pageEncoding, compressL0, env: _env, open: given, driver, worker: _worker, ...rest } = options;
  const open = given ?? (driver ? await openSqlite(driver) : undefined);
  const source = await openWalSource(db, stripUndefined({ checkpointInterval, minCheckpointPageCount, truncatePageN, busyTimeout, maxSyncWalBytes, metaPath, open, pageEncoding, compressL0, now: options.clock ? () => options.clock!.now() : undefined }));
  const ro: ReplicatorOptions = { ...rest };
  if (ro.lease) ro.lease = { owner: leaseOwner(), ...(ro.lease === true ? {} : ro.lease) };
  if (pageEncoding) ro.compaction = { ...ro.compaction, pageEncoding };
  let r: Replicator;
  try {
    r = new Replicator(source, replicas, ro);
    r.start();
  } catch (e) {
    await source.close();
    throw e;
  }
  return r;
}

/** `worker: true`: checks that everything given can cross to the worker thread, then starts it there. */
function inWorker(db: string, replica: string | Replica | BlobStore | Array<string | Replica>, options: ReplicateOptions): Promise<ReplicationHandle> {
  const list = Array.isArray(replica) ? replica : [replica];
  if (!list.every((r) => typeof r === "string")) throw new LtxError("INVALID_ARGUMENT", "replicate with worker: true takes replica URLs: a BlobStore or Replica object cannot cross to the worker thread");
  for (const k of ["open", "clock"] as const) if (options[k] !== undefined) throw new LtxError("INVALID_ARGUMENT", `replicate with worker: true cannot take the ${k} option (a function does not cross to the worker thread)${k === "open" ? "; name the driver with driver instead" : ""}`);
  const { worker: _worker, ...rest } = options;
  return replicateInWorker({ db, replicas: list as string[], options: stripUndefined(rest) });
}

/** Litestream's lease owner: `<hostname>:<pid>`, or `pid-<pid>` when the hostname is empty. */
function leaseOwner(): string {
  let host = "";
  try {
    host = os.hostname();
  } catch {
    // no hostname
  }
  return host ? `${host}:${process.pid}` : `pid-${process.pid}`;
}

function stripUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
