/**
 * L0 files from a live SQLite database, as Litestream's write path makes them (spec:
 * litestream-replica.md §1.6, §3): its own connections with `wal_autocheckpoint=0`, the
 * `_litestream_seq` / `_litestream_lock` tables, a long-lived read transaction, one L0 file per
 * sync in the local staging replica (`.<db>-litestream/ltx/0/<txid>-<txid>.ltx`, written
 * atomically), the checkpoint policy with its write barrier, and a full snapshot whenever
 * continuity with the previous L0 file cannot be proven. Drivers and file access are injected.
 */
import { LtxError } from "../errors.ts";
import { decodeHeader, HEADER_FLAG_NO_CHECKSUM, HEADER_SIZE, type Header } from "../ltx/header.ts";
import type { PageEncoding } from "../ltx/encoder.ts";
import { listLevel, writeLtxFile } from "../replica/list.ts";
import type { Replica } from "../replica/replica.ts";
import { L0_BUILD_MAX, l0Builds } from "./build-gate.ts";
import { allPgnos, encodePages, incrementalPgnos, readPages, rechunk, streamPages, windowed } from "./l0-pages.ts";
import { isBusyError, LitestreamConnections } from "./litestream-conn.ts";
import type { FileAccess, RandomAccessReader, SqliteOpener } from "./sqlite.ts";
import { WalFiles } from "./wal-files.ts";
import { DEFAULT_MAX_SYNC_WAL_BYTES, frameSize, planSync, scanWal, type SyncPlan, type WalPosition } from "./wal-reader.ts";
import { WAL_HEADER_SIZE, type WalHeader } from "./wal.ts";
import { checkpointPolicy, DEFAULT_CHECKPOINT, type CheckpointConfig } from "./checkpoint-policy.ts";

/** Options of a WalSource: the database, its driver and file access, the local L0 replica, the checkpoint policy. */
export interface WalSourceOptions extends Partial<CheckpointConfig> {
  /** Path of the database file. */
  path: string;
  open: SqliteOpener;
  files: FileAccess;
  /** The local staging replica in the file layout (a file store on `.<db>-litestream`). */
  local: Replica;
  /** busy_timeout of the source's connections in ms (Litestream: 1000). */
  busyTimeout?: number;
  /** At most this many WAL bytes per L0 file, cut at a commit (Litestream: 64 MiB). */
  maxSyncWalBytes?: number;
  pageEncoding?: PageEncoding;
  /**
   * Compress the pages of L0 files (default true, as Litestream does). False stores each page (a
   * literal-only LZ4 block in encoding "block", an LZ4 frame with one stored block in "frame"),
   * which every reader decodes: a copy per page instead of an LZ4 compression on every sync, for
   * L0 files larger by what their pages would compress (compaction writes levels 1 and up
   * compressed). Snapshots are compressed either way.
   */
  compressL0?: boolean;
  /** Clock for L0 timestamps and the checkpoint interval (ms). */
  now?: () => number;
  /** Called after each L0 file is written (observability and tests). */
  onL0?: (e: L0Event) => void;
}

/** One L0 file written by `sync()`. */
export interface L0Event {
  txid: bigint;
  /** True when the file holds every page (no position, or continuity not provable). */
  snapshot: boolean;
  reason?: string;
  header: Header;
  pages: number;
}

interface Position {
  txid: bigint;
  header: Header;
}


function walPosition(p: Position): WalPosition {
  const h = p.header;
  return { offset: h.walOffset + h.walSize, salt1: h.walSalt1, salt2: h.walSalt2, commit: h.commit };
}

/** How long a sync waits for the uploads of the files it captured before its checkpoint policy runs. */
const UPLOAD_HEAD_START_MS = 1000;

/** Resolves when `p` settles or after `ms`, whichever comes first. */
function within(p: Promise<unknown>, ms: number): Promise<void> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p.then(() => {}, () => {}), new Promise<void>((r) => (t = setTimeout(r, ms)))]).finally(() => clearTimeout(t));
}

/** The capture side of replication over a live database: an `L0Source` for the replicator. */
export class WalSource {
  readonly path: string;
  readonly walPath: string;
  readonly local: Replica;
  #o: WalSourceOptions;
  #cfg: CheckpointConfig;
  #c: LitestreamConnections | null = null;
  #pageSize = 0;
  #pos: Position | null = null;
  #sealed: { salt1: number; salt2: number } | null = null;
  #hold = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #syncedSinceCheckpoint = false;
  /** Commits landed during the sync() running now: its checkpoint could not be sealed. */
  #busyWal = false;
  /** The `written` callback of the sync() running now. */
  #written: ((txid: bigint) => void) | undefined;
  #closed = false;
  /** The WAL and database files, kept open between syncs, and the WAL's flushes. */
  readonly #files: WalFiles;

  private constructor(o: WalSourceOptions) {
    this.#o = o;
    this.path = o.path;
    this.walPath = o.path + "-wal";
    this.local = o.local;
    this.#files = new WalFiles(o.files, this.path, this.walPath, () => this.#bump());
    this.#cfg = { ...DEFAULT_CHECKPOINT, ...stripUndefined(o) };
  }

  /** Opens the database as Litestream's `DB.init` does and loads the position from the local L0 files. */
  static async open(o: WalSourceOptions): Promise<WalSource> {
    const s = new WalSource(o);
    try {
      await s.#init();
    } catch (e) {
      s.#closeConnections();
      throw e;
    }
    return s;
  }

  get pageSize(): number {
    return this.#pageSize;
  }

  /** The newest local TXID (0n before the first sync). */
  get txid(): bigint {
    return this.#pos?.txid ?? 0n;
  }

  async #init(): Promise<void> {
    if (!(await this.#o.files.stat(this.path))) throw new LtxError("NOT_FOUND", `database does not exist: ${this.path}`);
    const c = (this.#c = new LitestreamConnections(this.#o.open, this.path, this.#o.busyTimeout ?? 1000));
    this.#pageSize = c.pageSize;
    const wal = await this.#o.files.stat(this.walPath);
    if (!wal || wal.size < WAL_HEADER_SIZE) c.bump();
    c.beginRead();
    this.#pos = await this.#loadPosition();
  }

  #bump(): void {
    this.#c!.bump();
  }

  async #loadPosition(): Promise<Position | null> {
    const files = await listLevel(this.local, 0);
    let best = files[0];
    for (const f of files) if (f.maxTXID > best!.maxTXID) best = f;
    if (!best) return null;
    const b = await this.local.store.get(best.key, { offset: 0, length: HEADER_SIZE });
    if (!b) throw new LtxError("NOT_FOUND", `local ltx file disappeared: ${best.key}`);
    try {
      return { txid: best.maxTXID, header: decodeHeader(b) };
    } catch (e) {
      throw new LtxError("INVALID_LTX_FILE", `local ltx file ${best.key} is corrupt: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Runs `fn` after every earlier operation (one sync, checkpoint or snapshot at a time). */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#closed) throw new LtxError("INVALID_STATE", "wal source is closed");
      return fn();
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Captures everything committed so far into local L0 files, then runs the checkpoint policy.
   * `written` is called with the TXID of each L0 file this call writes (the checkpoint's syncs
   * included), once the file is durable. The promises it returns for the files of the capture
   * itself are awaited before the checkpoint policy runs, for `UPLOAD_HEAD_START_MS` at most: the
   * upload of what was just captured goes first, not behind the checkpoint's fsyncs of the WAL, and
   * a hung request of one replica holds up the capture for no longer than that.
   */
  sync(written?: (txid: bigint) => void | Promise<void>): Promise<bigint> {
    return this.#exclusive(async () => {
      const uploads: Promise<void>[] = [];
      this.#written = written && ((txid) => {
        const p = written(txid);
        if (p) uploads.push(p.catch(() => {}));
      });
      try {
        const version = this.#c!.dataVersion();
        await this.#syncAll();
        this.#busyWal = this.#c!.dataVersion() !== version;
        if (this.#pos) this.#files.flushAhead(walPosition(this.#pos));
        const first = uploads.splice(0);
        if (first.length) await within(Promise.all(first), UPLOAD_HEAD_START_MS);
        await checkpointPolicy(this.#checkpointHost(), this.#cfg);
      } finally {
        this.#written = undefined;
      }
      return this.txid;
    });
  }

  /** Syncs until no committed frame is left unread. */
  async #syncAll(force?: string): Promise<void> {
    for (let i = 0; ; i++) {
      const r = await this.#syncOnce(i === 0 ? force : undefined);
      if (!r.limited) return;
    }
  }

  /**
   * Writes at most one L0 file. `force` names the reason for a snapshot that must be taken. The
   * build runs under the process's byte budget of L0 builds (l0Builds).
   */
  async #syncOnce(force?: string): Promise<{ wrote: boolean; limited: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const { f, h, size: walSize } = await this.#files.openWal();
      const pos = this.#pos ? walPosition(this.#pos) : null;
      // What this build may hold: the WAL it has to read, or the most a build holds for a snapshot.
      const same = pos && pos.salt1 === h.salt1 && pos.salt2 === h.salt2 && walSize >= pos.offset;
      const bytes = !force && same ? Math.min(L0_BUILD_MAX, walSize - pos.offset) : L0_BUILD_MAX;
      const r = await l0Builds.run(bytes, () => this.#build(f, h, walSize, pos, force, attempt));
      if (r !== "again") return r;
    }
  }

  async #build(f: RandomAccessReader, h: WalHeader, walSize: number, pos: WalPosition | null, force: string | undefined, attempt: number): Promise<{ wrote: boolean; limited: boolean } | "again"> {
    try {
      const plan: SyncPlan = force ? { mode: "snapshot", reason: force } : await planSync(f, { pos, header: h, walSize, pageSize: this.#pageSize, sealed: this.#sealed });
      const inc = plan.mode === "incremental";
      // Frames appended after the size was read are captured by the next sync.
      const scan = await scanWal(f, h, inc ? { offset: plan.offset, seed: plan.seed, maxBytes: this.#o.maxSyncWalBytes ?? DEFAULT_MAX_SYNC_WAL_BYTES, endOffset: walSize } : { offset: WAL_HEADER_SIZE, seed: h.checksum, maxBytes: Infinity, endOffset: walSize });
      if (scan.commit === 0) {
        if (inc) return { wrote: false, limited: false };
        // A snapshot needs a commit to take its size from: force one and read again.
        if (attempt > 0) throw new LtxError("INVALID_STATE", "no committed frame in the wal after a forced write");
        this.#bump();
        return "again";
      }
      const txid = (this.#pos?.txid ?? 0n) + 1n;
      const header: Header = {
        flags: HEADER_FLAG_NO_CHECKSUM,
        pageSize: this.#pageSize,
        commit: scan.commit,
        minTXID: txid,
        maxTXID: txid,
        timestamp: this.#now(),
        preApplyChecksum: 0n,
        walOffset: scan.start,
        walSize: scan.end - scan.start,
        walSalt1: h.salt1,
        walSalt2: h.salt2,
        nodeID: 0n,
      };
      const pgnos = inc ? incrementalPgnos(scan.pages, plan.prevCommit, scan.commit, this.#pageSize) : [...allPgnos(scan.commit, this.#pageSize)];
      const dbFile = await this.#files.openDb();
      try {
        const src = { db: dbFile && windowed(dbFile), wal: windowed(f), header: h, pageSize: this.#pageSize, map: scan.pages, data: scan.data };
        const body = encodePages(header, readPages(src, pgnos), this.#o.pageEncoding ?? "block", this.#o.compressL0 ?? true);
        await writeLtxFile(this.local, 0, txid, txid, rechunk(body), header.timestamp);
      } finally {
        await dbFile?.close();
      }
      this.#pos = { txid, header };
      // A sealed generation is consumed by the first file of the next one and stale once more
      // frames of its own are captured.
      this.#sealed = null;
      this.#syncedSinceCheckpoint = true;
      const ev: L0Event = { txid, snapshot: !inc, header, pages: pgnos.length };
      if (!inc) ev.reason = plan.reason;
      this.#o.onL0?.(ev);
      this.#written?.(txid);
      return { wrote: true, limited: scan.limited };
    } catch (e) {
      if (isIoError(e)) await this.#files.drop(); // a file that failed a read is opened again by the next sync
      throw e;
    } finally {
      await f.close();
    }
  }

  #now(): number {
    return this.#o.now ? this.#o.now() : Date.now();
  }

  /**
   * The checkpoint procedure: returns true when the WAL restarted. With `deferUnsealed` (the
   * policy's PASSIVE checkpoints), a PASSIVE checkpoint whose restart cannot be sealed is not run.
   */
  async #checkpoint(mode: "PASSIVE" | "TRUNCATE", deferUnsealed = false): Promise<boolean> {
    if (this.#hold > 0) return false; // a snapshot reads the WAL: no checkpoint until it is done
    if (deferUnsealed && this.#busyWal) return false; // commits landed during this sync: so would they during the checkpoint's
    const before = await this.#checkpointAndBump(mode, deferUnsealed);
    if (before === null) return false;
    const after = await this.#files.openWal();
    await after.f.close();
    if (`${after.h.salt1}:${after.h.salt2}` === before) {
      this.#sealed = null; // no restart: the seal proves nothing about frames written after it
      return false;
    }
    if (mode === "PASSIVE") {
      await this.#syncAll();
      return true;
    }
    // TRUNCATE took the writer lock itself: commits between the last sync and the checkpoint may
    // have been copied into the database unseen, so a full "checkpoint boundary snapshot" follows.
    // The read transaction keeps the database file and the new WAL generation stable meanwhile.
    await this.#syncAll("checkpoint boundary snapshot");
    this.#syncedSinceCheckpoint = false;
    return true;
  }

  /**
   * Syncs, checkpoints and bumps `_litestream_seq` (which restarts the WAL when the checkpoint
   * copied all of it); returns the salts of the WAL the checkpoint saw ("salt1:salt2"), or null
   * when a deferred PASSIVE checkpoint was not run.
   */
  async #checkpointAndBump(mode: "PASSIVE" | "TRUNCATE", deferUnsealed: boolean): Promise<string | null> {
    const c = this.#c!;
    // The sync before the checkpoint and the barrier cannot be one synchronous step (the WAL is
    // read asynchronously), and holding the barrier across an await would block an application
    // in this thread on its busy timeout. A commit of another connection between the two would be
    // copied into the database uncaptured and cost a full snapshot after the restart. So the
    // database's data_version is read before the sync: everything committed before it is in the
    // WAL below the size the sync reads, so an unchanged data_version under the barrier (which
    // holds the write lock) proves the WAL holds only captured frames. Otherwise the barrier is
    // released and the sync runs again (twice at most; then the checkpoint goes ahead and the
    // restart is not sealed, as before). An application committing between every await (a burst
    // in this thread) never leaves the WAL still for that long, and every unsealed restart costs
    // a full snapshot of the database: so the policy's PASSIVE checkpoint is put off to a later
    // sync instead (the WAL keeps growing meanwhile; the policy's TRUNCATE at truncatePageN still
    // bounds it, and runs whatever comes between), at once when commits landed during the sync
    // that runs the policy (the retries would only add syncs and fsyncs to a sync in a burst).
    let h: WalHeader;
    let p: Position;
    let r: { busy: number; log: number };
    // The checkpoint fsyncs the WAL before copying it: everything the application wrote since the
    // last checkpoint (synchronous=NORMAL commits are not flushed), tens of MB in a burst, inside
    // the synchronous driver call. Flushed here first through the I/O threads (before and after
    // the sync, which can take long enough for a burst to dirty as much again), the checkpoint's
    // own fsync finds only what was committed since.
    await this.#files.flushWal();
    for (let attempt = 0; ; attempt++) {
      const version = mode === "PASSIVE" ? c.dataVersion() : 0;
      await this.#syncAll();
      await this.#files.flushWal();
      const w = await this.#files.openWal();
      await w.f.close();
      h = w.h;
      p = this.#pos!;
      // One synchronous step from here, so an application in this thread cannot commit in
      // between (and the barrier keeps other processes out): the write barrier (PASSIVE), the
      // checkpoint, the rollback, the seq bump that restarts the WAL. The WAL generation is
      // sealed when the checkpoint saw exactly the frames already captured: the one restart that
      // follows then loses nothing. No lock is ever held across an await.
      this.#sealed = null;
      if (mode !== "PASSIVE") {
        r = c.checkpoint(mode);
        break;
      }
      c.beginBarrier();
      try {
        if (c.dataVersion() !== version) {
          if (attempt < 2) continue; // committed since: sync again
          if (deferUnsealed) return null; // still committing: a later sync checkpoints
        }
        r = c.checkpoint(mode);
      } finally {
        c.endBarrier();
      }
      break;
    }
    const before = `${h.salt1}:${h.salt2}`;
    const aligned = p.header.walSalt1 === h.salt1 && p.header.walSalt2 === h.salt2;
    const frames = (walPosition(p).offset - WAL_HEADER_SIZE) / frameSize(this.#pageSize);
    if (mode === "PASSIVE" && aligned && r.busy === 0 && r.log === frames) this.#sealed = { salt1: h.salt1, salt2: h.salt2 };
    c.bump();
    this.#syncedSinceCheckpoint = false;
    return before;
  }

  #checkpointHost() {
    return {
      pageSize: this.#pageSize,
      hasPosition: () => this.#pos !== null,
      syncedEnd: () => (this.#pos ? walPosition(this.#pos).offset : WAL_HEADER_SIZE),
      syncedSinceCheckpoint: () => this.#syncedSinceCheckpoint,
      walFileSize: async () => (await this.#o.files.stat(this.walPath))?.size ?? 0,
      dbMtime: async () => (await this.#o.files.stat(this.path))?.mtimeMs ?? 0,
      now: () => this.#now(),
      checkpoint: async (mode: "PASSIVE" | "TRUNCATE") => {
        try {
          return await this.#checkpoint(mode, mode === "PASSIVE");
        } catch (e) {
          if (isBusyError(e)) return false; // someone holds a lock: the next sync retries
          throw e;
        }
      },
    };
  }

  /** Runs a checkpoint now (PASSIVE with the write barrier, or TRUNCATE and a boundary snapshot). */
  checkpoint(mode: "PASSIVE" | "TRUNCATE" = "PASSIVE"): Promise<boolean> {
    return this.#exclusive(() => this.#checkpoint(mode));
  }

  /**
   * A full snapshot at the current local position for level 9: MinTXID 1, MaxTXID = the position,
   * NoChecksum, every page 1..commit (the database file plus the WAL up to the synced offset).
   * Checkpoints wait until the body is read to the end or cancelled.
   */
  snapshot(): Promise<{ txid: bigint; timestamp: number; body: ReadableStream<Uint8Array> }> {
    return this.#exclusive(async () => {
      await this.#syncAll();
      let { f, h } = await this.#files.openWalOwned();
      if (!this.#pos || this.#pos.header.walSalt1 !== h.salt1 || this.#pos.header.walSalt2 !== h.salt2) {
        await f.close();
        await this.#syncAll("align the position with the wal generation before a snapshot");
        ({ f, h } = await this.#files.openWalOwned());
      }
      const pos = this.#pos!;
      const end = walPosition(pos).offset;
      const scan = await scanWal(f, h, { offset: WAL_HEADER_SIZE, seed: h.checksum, maxBytes: Infinity, endOffset: end });
      if (scan.end !== end || (scan.commit !== 0 && scan.commit !== pos.header.commit)) {
        await f.close();
        throw new LtxError("INVALID_STATE", `the wal changed under the snapshot (read to ${scan.end}, position ${end})`);
      }
      const fs = frameSize(this.#pageSize);
      const walOffset = end <= WAL_HEADER_SIZE ? WAL_HEADER_SIZE : Math.max(end - fs, WAL_HEADER_SIZE);
      const timestamp = this.#now();
      const header: Header = {
        flags: HEADER_FLAG_NO_CHECKSUM,
        pageSize: this.#pageSize,
        commit: pos.header.commit,
        minTXID: 1n,
        maxTXID: pos.txid,
        timestamp,
        preApplyChecksum: 0n,
        walOffset,
        walSize: end - walOffset,
        walSalt1: h.salt1,
        walSalt2: h.salt2,
        nodeID: 0n,
      };
      const db = await this.#o.files.open(this.path);
      this.#hold++;
      const src = { db: db && windowed(db), wal: windowed(f), header: h, pageSize: this.#pageSize, map: scan.pages, data: scan.data };
      const body = streamPages(header, readPages(src, allPgnos(header.commit, this.#pageSize)), this.#o.pageEncoding ?? "block", async () => {
        this.#hold--;
        await f.close();
        await db?.close();
      });
      return { txid: pos.txid, timestamp, body };
    });
  }

  /**
   * The remote is ahead of the local position (a restore on a fresh host, Litestream issue
   * #781): local L0 files are removed and the given remote L0 file becomes the position, so
   * numbering continues after it (the next sync then writes a snapshot).
   */
  adoptRemote(txid: bigint, file: Uint8Array): Promise<void> {
    return this.#exclusive(async () => {
      const h = decodeHeader(file);
      if (h.maxTXID !== txid) throw new LtxError("INVALID_ARGUMENT", `adopted file ends at txid ${h.maxTXID}, not ${txid}`);
      const old = await listLevel(this.local, 0);
      if (old.length) await this.local.store.delete(old.map((f) => f.key));
      await writeLtxFile(this.local, 0, h.minTXID, h.maxTXID, file, h.timestamp);
      this.#pos = { txid, header: h };
      this.#sealed = null;
    });
  }

  /**
   * Calls `onCommit` soon after the WAL changes (where the file access can watch files), so a
   * replicator can capture a commit at once; returns a stop function.
   */
  watch(onCommit: () => void): () => void {
    const w = this.#o.files.watch;
    if (!w) throw new LtxError("UNSUPPORTED", "this file access cannot watch files");
    return w.call(this.#o.files, this.walPath, onCommit);
  }

  /** Ends the read transaction and closes the connections. */
  close(): Promise<void> {
    return this.#exclusive(async () => {
      this.#closed = true;
      await this.#files.close();
      this.#closeConnections();
    });
  }

  #closeConnections(): void {
    this.#c?.close();
    this.#c = null;
  }
}

function isIoError(e: unknown): boolean {
  return e instanceof LtxError && e.code === "IO_ERROR";
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
