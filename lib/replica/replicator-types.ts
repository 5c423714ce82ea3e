/** The public types of the Replicator: the L0 source it reads, its options, status and events. */
import type { LtxError } from "../errors.ts";
import type { Clock } from "./clock.ts";
import type { CompactionConfig } from "./schedule.ts";
import type { FileInfo } from "./file-info.ts";
import type { Replica } from "./replica.ts";

/** Where L0 files come from (the WAL capture of a live database, or a sqlite-wasm capture). */
export interface L0Source {
  /** Local staging replica holding L0 files as `ltx/0/<txid>-<txid>.ltx` (file layout), or a memory replica. The replicator uploads from it and deletes what every replica holds. */
  readonly local: Replica;
  /**
   * Captures everything committed so far into local L0 files; returns the newest local TXID (0n
   * when none). Writes nothing when nothing is new. Optional `written` is called with each new
   * TXID once its local file is durable, before sync() resolves (a sync that also checkpoints
   * writes more than one), so uploads can start at once; a source may wait for the promise it
   * returns (that upload pass) before a checkpoint, whose fsyncs would otherwise delay it.
   */
  sync(written?: (txid: bigint) => void | Promise<void>): Promise<bigint>;
  /** A full snapshot at the current local position: MinTXID 1, MaxTXID = txid, NoChecksum, pages 1..commit. */
  snapshot(): Promise<{ txid: bigint; timestamp: number; body: ReadableStream<Uint8Array> }>;
  /** The remote is ahead of the local position: adopt this remote L0 file (its bytes) as the local position. */
  adoptRemote(txid: bigint, file: Uint8Array): Promise<void>;
  /** Optional: calls `onCommit` soon after a commit lands; returns a stop function. */
  watch?(onCommit: () => void): () => void;
  close(): Promise<void>;
}

/** Options of a Replicator. Durations are milliseconds. */
export interface ReplicatorOptions {
  /** Time source (default: Date.now and setTimeout). */
  clock?: Clock;
  /** How often the source is captured (default 1000, Litestream's monitor-interval). */
  monitorInterval?: number;
  /** How often replicas are uploaded to when no capture wakes them (default 1000, sync-interval). */
  syncInterval?: number;
  /** Levels, snapshot interval and retention, L0 retention (default: Litestream's). */
  compaction?: Partial<CompactionConfig>;
  /** Backoff after a failure: initialDelay doubled per consecutive failure up to maxDelay (default 1000 and 300000, Litestream's 5 min). */
  retries?: { initialDelay?: number; maxDelay?: number };
  /** How long `sync()` keeps retrying a failing replica before it rejects (default 30000). */
  syncTimeout?: number;
  /** How long `close()` tries to upload what is left (default 30000, shutdown-sync-timeout). */
  shutdownTimeout?: number;
  /** How often `close()` retries meanwhile, whatever the backoff (default 500, shutdown-sync-interval). */
  shutdownSyncInterval?: number;
  /** Capture as soon as a commit lands (source.watch) as well as every monitorInterval. */
  eventDriven?: boolean;
  /**
   * eventDriven: the least time from the end of one capture to the next one a change triggers
   * (default 0: at once). The commits of that time go into one L0 file and one PUT: to S3, where
   * every file is a request, 250 caps an application committing all the time at 4 PUTs a second.
   */
  eventInterval?: number;
  /** Files per "upload" event; uploads stay one at a time, in order (default 256, max-sync-ltx-files). */
  batchSize?: number;
  /**
   * Single writer: hold Litestream's lock.json lease on every replica (`true`, or the TTL and owner).
   * The startup waits until every lease is acquired (polling every TTL/6, or just past the
   * holder's expiry when sooner); a lease that is lost or cannot be renewed within its TTL stops
   * that replica for good (status `stopped`, LEASE_LOST; local L0 files kept). While nothing is to
   * be written the lease is not renewed and lapses (no requests while idle); the next write first
   * re-takes it with a PUT conditional on the lock this writer last wrote, and is LEASE_LOST (nothing
   * written) when another writer took the lock meanwhile. Default off.
   */
  lease?: boolean | ReplicatorLeaseOptions;
}

/** The lease settings of a Replicator. Durations are milliseconds. */
export interface ReplicatorLeaseOptions {
  /** Lease duration without renewal (default 30000, Litestream's DefaultLeaseTTL); renewed every ttl/3 while there is something to write, left to lapse while idle. */
  ttl?: number;
  /** The owner written into lock.json (default: `<hostname>:<pid>` from the runtime adapter, else `ltxkit-<random hex>`). */
  owner?: string;
  /**
   * Renew while idle too (a conditional PUT every ttl/3 per replica, as before the dormant lease), so
   * that a standby waiting for the lease never takes it from a writer that is alive but idle; a
   * dormant writer whose lease a standby took stops for good (LEASE_LOST) at its next write.
   * Default false: an idle database lets its lease lapse and makes no requests.
   */
  keepAlive?: boolean;
}

/** A replica's lease as status() reports it. */
export interface ReplicaLeaseStatus {
  /** True while this replicator holds the lease (false once a dormant lease lapsed: it is re-taken before the next write). */
  held: boolean;
  /** The owner this replicator writes into lock.json. */
  owner: string;
  /** The holder as last seen: this replicator while held, else the other writer (undefined when unknown). */
  holder?: string;
  /** The lock's generation as last seen. */
  generation?: number;
  /** The lock's expires_at as last seen (RFC 3339). */
  expiresAt?: string;
}

/** One replica's state. */
export interface ReplicaStatus {
  url: string;
  /** The newest TXID this replica holds (0n before its position is known). */
  remoteTXID: bigint;
  /** The error of the last failed attempt, while the replica is failing. */
  lastError?: LtxError;
  /** Clock time of the last successful upload. */
  lastUploadAt?: number;
  /** Consecutive failed attempts. */
  failures: number;
  /** True when the replica was stopped for good (REPLICA_MISMATCH, LEASE_LOST). */
  stopped: boolean;
  /** The lease, when the replicator runs with one. */
  lease?: ReplicaLeaseStatus;
}

/** The replicator's state. */
export interface ReplicatorStatus {
  localTXID: bigint;
  replicas: ReplicaStatus[];
  /** How long the oldest TXID not yet in every replica has waited (0 when all are caught up). */
  lagMs: number;
  /** The current error: the source's, else the first failing replica's. */
  lastError?: LtxError;
}

/** Events a Replicator dispatches; `detail` says what happened. */
export type ReplicatorEventType = "sync" | "upload" | "error" | "snapshot" | "compact" | "lease";

/** Details per event type. */
export interface ReplicatorEventDetail {
  /** New local TXIDs were captured. */
  sync: { minTXID: bigint; maxTXID: bigint };
  /** L0 files minTXID..maxTXID reached a replica. */
  upload: { url: string; minTXID: bigint; maxTXID: bigint };
  /** A capture (url undefined) or a replica operation failed. */
  error: { url?: string; error: LtxError };
  /** A level-9 snapshot was written. */
  snapshot: { url: string; file: FileInfo };
  /** A compacted file was written (`file`), or files were deleted by retention (`deleted`). */
  compact: { url: string; file?: FileInfo; inputs?: FileInfo[]; deleted?: FileInfo[] };
  /**
   * A lease changed: "acquired", "renewed", "released"; "waiting" (another writer holds it: `holder`,
   * `expiresAt`); "lost" (this writer stopped writing to the replica; `error` says why and names the holder).
   */
  lease: { url: string; state: "acquired" | "renewed" | "waiting" | "lost" | "released"; owner: string; holder?: string; generation?: number; expiresAt?: string; error?: LtxError };
}

/** An event of a Replicator. */
export class ReplicatorEvent<T extends ReplicatorEventType = ReplicatorEventType> extends Event {
  readonly detail: ReplicatorEventDetail[T];
  constructor(type: T, detail: ReplicatorEventDetail[T]) {
    super(type);
    this.detail = detail;
  }
}
