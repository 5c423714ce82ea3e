/** The public types of the Replicator: the L0 source it reads, its options, status and events. */
import type { LtxError } from "../errors.ts";
import type { Clock } from "./clock.ts";
import type { CompactionConfig } from "./compact.ts";
import type { FileInfo } from "./file-info.ts";
import type { Replica } from "./url.ts";

/** Where L0 files come from (the WAL capture of a live database, or a sqlite-wasm capture). */
export interface L0Source {
  /** Local staging replica holding L0 files as `ltx/0/<txid>-<txid>.ltx` (file layout), or a memory replica. The replicator uploads from it and deletes what every replica holds. */
  readonly local: Replica;
  /** Captures everything committed so far into local L0 files; returns the newest local TXID (0n when none). Writes nothing when nothing is new. */
  sync(): Promise<bigint>;
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
  /** Files per upload batch before other work gets a turn (default 256, max-sync-ltx-files). */
  batchSize?: number;
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
  /** True when the replica was stopped for good (REPLICA_MISMATCH). */
  stopped: boolean;
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
export type ReplicatorEventType = "sync" | "upload" | "error" | "snapshot" | "compact";

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
}

/** An event of a Replicator. */
export class ReplicatorEvent<T extends ReplicatorEventType = ReplicatorEventType> extends Event {
  readonly detail: ReplicatorEventDetail[T];
  constructor(type: T, detail: ReplicatorEventDetail[T]) {
    super(type);
    this.detail = detail;
  }
}
