/**
 * A sqlite-wasm database captured and replicated: the capture VFS over a VfsStorage, an oo1.DB
 * opened through it, and a Replicator shipping its L0 files to replicas. Cold start: an empty
 * storage is first restored from a replica and capture continues from the replica's position; a
 * storage that already holds a database (a restarted worker with durable storage) continues from
 * its stored position and ships what it still has queued.
 *
 * One writer per replica: two processes capturing into one replica corrupt it. The lease that
 * enforces this is not part of this module; run one captured database per replica.
 */
import { LtxError, isLtxError } from "../errors.ts";
import { lockPgno } from "../ltx/checksum.ts";
import type { PageEncoding } from "../ltx/encoder.ts";
import { fileLayout } from "../replica/layout.ts";
import { listLevel } from "../replica/list.ts";
import type { RestoreTarget } from "../replica/plan.ts";
import type { Replica } from "../replica/replica.ts";
import { restore } from "../replica/restore.ts";
import { Replicator } from "../replica/replicator.ts";
import type { ReplicatorEvent, ReplicatorEventType, ReplicatorOptions, ReplicatorStatus } from "../replica/replicator-types.ts";
import type { PageSink } from "../replica/sinks.ts";
import { BLOB_PREFIX, encodePosition, POS_KEY, QUEUE_PREFIX, type CapturePosition, type QueueStatus } from "./vfs-log.ts";
import { VfsSource } from "./vfs-source.ts";
import { MemoryVfsStorage, type VfsStorage } from "./vfs-storage.ts";
import { installCaptureVfs, type CaptureVfs, type SqliteWasmModule } from "./wasm-vfs.ts";

/** What restoreIntoStorage did: the TXID restored to and the database size in pages. */
export interface StorageRestoreResult {
  txid: bigint;
  pages: number;
}

/** Collects restored pages in memory; the caller applies them in one batch. */
class CollectSink implements PageSink {
  pages = new Map<number, Uint8Array | null>();
  pageSize = 0;
  commit_ = 0;
  async open(pageSize: number, commit: number): Promise<void> {
    this.pageSize = pageSize;
    this.commit_ = commit;
  }
  async write(pgno: number, data: Uint8Array): Promise<void> {
    if (pgno === lockPgno(this.pageSize)) return;
    this.pages.set(pgno, data.slice());
  }
  async commit(): Promise<void> {}
  async abort(): Promise<void> {
    this.pages.clear();
  }
}

/**
 * Restores a replica into an empty VfsStorage in one batch (pages, position and a copy of the
 * replica's L0 file at that TXID), so capture continues at the next TXID. A database in WAL mode
 * (header bytes 18/19 = 2, as Litestream restores them) is switched to rollback mode (1/1), and that
 * change of page 1 is queued as a transaction, so the next L0 file ships it. Rejects with
 * INVALID_STATE when the storage is not empty. Call it before installing a capture VFS on the
 * storage (openCapturedDatabase does).
 */
export async function restoreIntoStorage(replica: Replica, storage: VfsStorage, target: RestoreTarget = {}): Promise<StorageRestoreResult> {
  if (storage.maxPage() > 0 || storage.getRecord(POS_KEY) !== undefined) throw new LtxError("INVALID_STATE", "restore into a storage that already holds a database");
  const sink = new CollectSink();
  const r = await restore(replica, { ...target, sink });
  const txid = r.txid;
  const records = new Map<string, Uint8Array | null>();
  const p1 = sink.pages.get(1);
  if (p1 && p1.length >= 100 && (p1[18] === 2 || p1[19] === 2)) {
    p1[18] = 1;
    p1[19] = 1;
    const d = new Uint8Array(12);
    const v = new DataView(d.buffer);
    v.setUint32(0, sink.commit_);
    v.setUint32(4, sink.commit_);
    v.setUint32(8, 1);
    records.set(QUEUE_PREFIX + "0".repeat(16), d);
  }
  const l0 = (await listLevel(replica, 0)).find((f) => f.minTXID === txid && f.maxTXID === txid);
  if (l0) {
    const bytes = await replica.store.get(l0.key);
    if (bytes) records.set(BLOB_PREFIX + fileLayout.key(0, txid, txid), bytes);
  }
  const pos: CapturePosition = { txid, commit: sink.commit_, full: false };
  records.set(POS_KEY, encodePosition(pos));
  storage.apply({ pages: sink.pages, records, transfer: true });
  return { txid, pages: sink.commit_ };
}

/** Options of openCapturedDatabase. Durations are milliseconds. */
export interface CapturedDatabaseOptions {
  /** Where the pages and the queue live (default: a new MemoryVfsStorage). */
  storage?: VfsStorage;
  /** Replicas to ship to. */
  replicas?: Replica[];
  /** One replica (same as `replicas: [replica]`). */
  replica?: Replica;
  /** Path of the database inside the VFS (default "/main.db"). */
  name?: string;
  /** How often committed transactions are merged into one L0 file and shipped (default 1000). */
  syncInterval?: number;
  /** Page size of a new database (default 4096). */
  pageSize?: number;
  /**
   * Cold start: when the storage is empty, restore it from the first replica that has backups
   * (default true), optionally at a point in time. False starts an empty database.
   */
  restore?: boolean | RestoreTarget;
  /** Page encoding of L0 files and snapshots (default "block": Litestream ≥ v0.5.16). */
  pageEncoding?: PageEncoding;
  /**
   * Compress the pages of L0 files (default false: stored as literal-only LZ4 blocks, a copy per
   * page instead of a compression; compaction writes levels 1 and up compressed). True makes L0
   * files smaller where pages compress, at the cost of an LZ4 compression per page and sync.
   */
  compressL0?: boolean;
  /** Further Replicator options (clock, compaction levels, retries, timeouts). */
  replicator?: ReplicatorOptions;
  /** Start the Replicator's background loops (default true); false: drive it with `tick()`. */
  start?: boolean;
  /** Clock for L0 timestamps (default: the replicator clock's, else Date.now). */
  now?: () => number;
  /** VFS name (default `ltxkit-capture-<n>`). */
  vfsName?: string;
}

/** Status of a captured database: the replicator's, plus the capture position and queue. */
export interface CapturedDatabaseStatus extends ReplicatorStatus {
  /** The newest L0 file made locally. */
  position: CapturePosition;
  /** Transactions and L0 files waiting (the newest L0 file is always kept). */
  queue: QueueStatus;
  /** The last failure inside the VFS (SQLite saw an I/O error), if any. */
  vfsError?: LtxError;
}

/** An oo1.DB of sqlite-wasm, as the capture needs it (the rest of its API is sqlite-wasm's). */
export interface WasmDb {
  exec(sql: string | object, options?: object): unknown;
  selectValue(sql: string, bind?: unknown): unknown;
  close(): void;
  /** The sqlite3* pointer. */
  pointer: unknown;
}

/** A captured, replicated sqlite-wasm database (openCapturedDatabase). */
export interface CapturedDatabase {
  /** The sqlite-wasm oo1.DB: use it as any oo1.DB. */
  readonly db: WasmDb;
  readonly vfs: CaptureVfs;
  readonly replicator: Replicator;
  /** The TXID restored from a replica at open (cold start), else undefined. */
  readonly restoredTXID: bigint | undefined;
  /** Resolves with the local TXID once everything committed so far is in every replica. */
  sync(options?: { timeout?: number }): Promise<bigint>;
  /** One replication step (for alarms and cron handlers when `start` is false). */
  tick(): Promise<void>;
  status(): CapturedDatabaseStatus;
  /** Replicator events: sync, upload, error, snapshot, compact. */
  addEventListener<T extends ReplicatorEventType>(type: T, listener: (e: ReplicatorEvent<T>) => void): void;
  removeEventListener<T extends ReplicatorEventType>(type: T, listener: (e: ReplicatorEvent<T>) => void): void;
  /** Ships what is left (bounded by the replicator's shutdownTimeout), closes the database and the VFS. */
  close(): Promise<void>;
}

/**
 * Opens a sqlite-wasm database through the capture VFS and replicates it. `sqlite3` is the
 * initialised module (`await sqlite3InitModule()` of @sqlite.org/sqlite-wasm 3.54.1); ltxkit never
 * imports it.
 */
export async function openCapturedDatabase(sqlite3: SqliteWasmModule, options: CapturedDatabaseOptions = {}): Promise<CapturedDatabase> {
  const storage = options.storage ?? new MemoryVfsStorage();
  const replicas = [...(options.replicas ?? []), ...(options.replica ? [options.replica] : [])];
  const clock = options.replicator?.clock;
  const now = options.now ?? (clock ? () => clock.now() : undefined);
  const restoredTXID = await coldStart(storage, replicas, options.restore);
  const vfsOptions: Parameters<typeof installCaptureVfs>[2] = {};
  if (options.vfsName) vfsOptions.vfsName = options.vfsName;
  if (options.name) vfsOptions.path = options.name;
  if (options.pageEncoding) vfsOptions.pageEncoding = options.pageEncoding;
  if (options.compressL0 !== undefined) vfsOptions.compressL0 = options.compressL0;
  if (now) vfsOptions.now = now;
  const vfs = installCaptureVfs(sqlite3, storage, vfsOptions);
  const db = openThrough(sqlite3, vfs, storage.maxPage() === 0 ? Math.floor(options.pageSize ?? 4096) : null);
  const source = new VfsSource(vfs.log, options.pageEncoding ? { pageEncoding: options.pageEncoding } : {});
  const interval = options.syncInterval ?? 1000;
  const replicator = new Replicator(source, replicas, { monitorInterval: interval, syncInterval: interval, ...options.replicator });
  if (options.start !== false) replicator.start();
  let closing: Promise<void> | undefined;
  return {
    db,
    vfs,
    replicator,
    restoredTXID,
    sync: (o) => replicator.sync(o),
    tick: () => replicator.tick(),
    status(): CapturedDatabaseStatus {
      const s: CapturedDatabaseStatus = { ...replicator.status(), position: vfs.log.position, queue: vfs.log.queueStatus() };
      const ve = vfs.lastError;
      if (ve) s.vfsError = ve.error;
      return s;
    },
    addEventListener: (type, listener) => replicator.addEventListener(type, listener),
    removeEventListener: (type, listener) => replicator.removeEventListener(type, listener as EventListener),
    close() {
      closing ??= (async () => {
        let error: unknown;
        try {
          await replicator.close();
        } catch (e) {
          error = e;
        }
        try {
          db.close();
          vfs.unregister();
        } catch (e) {
          error ??= e;
        }
        if (error !== undefined) throw error;
      })();
      return closing;
    },
  };
}

/**
 * Cold start: an empty storage with no capture position is restored from the first replica that
 * has a backup (`restore` picks the point; false skips it). Returns the TXID restored, if any.
 */
async function coldStart(storage: VfsStorage, replicas: Replica[], restore: CapturedDatabaseOptions["restore"]): Promise<bigint | undefined> {
  if (restore === false || storage.maxPage() > 0 || storage.getRecord(POS_KEY) !== undefined) return undefined;
  const target = typeof restore === "object" ? restore : {};
  for (const r of replicas) {
    try {
      return (await restoreIntoStorage(r, storage, target)).txid;
    } catch (e) {
      if (isLtxError(e, "NO_BACKUPS") || isLtxError(e, "TX_NOT_AVAILABLE")) continue;
      throw e;
    }
  }
  return undefined;
}

/**
 * Opens the database through the capture VFS in journal_mode MEMORY (with `pageSize` set first on a
 * new database); on failure the VFS is unregistered.
 */
function openThrough(sqlite3: SqliteWasmModule, vfs: CaptureVfs, pageSize: number | null): WasmDb {
  let db: WasmDb;
  try {
    // deno-lint-ignore no-explicit-any
    const DB = (sqlite3.oo1 as any).DB as new (o: object) => WasmDb;
    db = new DB({ filename: vfs.path, flags: "c", vfs: vfs.name });
  } catch (e) {
    vfs.unregister();
    throw new LtxError("IO_ERROR", `cannot open ${vfs.path} through the capture VFS: ${(e as Error).message}`, { cause: e });
  }
  try {
    if (pageSize !== null) db.exec(`PRAGMA page_size=${pageSize}`);
    const mode = String(db.selectValue("PRAGMA journal_mode=MEMORY")).toLowerCase();
    if (mode !== "memory") throw new LtxError("INVALID_STATE", `journal_mode is ${mode}, not memory`);
  } catch (e) {
    db.close();
    vfs.unregister();
    throw isLtxError(e) ? e : new LtxError("IO_ERROR", `cannot set up ${vfs.path}: ${(e as Error).message}`, { cause: e });
  }
  return db;
}
