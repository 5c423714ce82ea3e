/**
 * The files a WalSource reads: the WAL and database handles it keeps open between syncs (where the
 * file access names files, see `RandomAccessReader.id`), and the WAL's flushes (the one ahead of
 * the checkpoint, in the background, and the checkpoint's own).
 */
import { LtxError } from "../errors.ts";
import type { FileAccess, RandomAccessReader } from "./sqlite.ts";
import { readWalHeader } from "./wal-reader.ts";
import type { WalHeader } from "./wal.ts";

/**
 * WAL bytes captured since the last flush after which a sync starts the next one in the background
 * (where the file access can flush): the checkpoint's own flush then finds at most about this much.
 */
const FLUSH_AHEAD_BYTES = 16 << 20;

/** The WAL and database files of one WalSource. */
export class WalFiles {
  readonly #access: FileAccess;
  readonly #path: string;
  readonly #walPath: string;
  /** Forces a frame into a WAL that has no header. */
  readonly #bump: () => void;
  /** The handles kept open between syncs. */
  readonly #kept: { wal: RandomAccessReader | null; db: RandomAccessReader | null } = { wal: null, db: null };
  /** WAL end (bytes, in the captured generation) the last background flush started at, and that flush. */
  #flushedTo = { salt1: 0, end: 0 };
  #flushing: Promise<void> | null = null;

  constructor(access: FileAccess, path: string, walPath: string, bump: () => void) {
    this.#access = access;
    this.#path = path;
    this.#walPath = walPath;
    this.#bump = bump;
  }

  /**
   * Opens the WAL, forcing a frame first when it has no header. The caller owns (and closes) the
   * handle: snapshots read it after the sync lane moved on.
   */
  async openWalOwned(): Promise<{ f: RandomAccessReader; h: WalHeader }> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const f = await this.#access.open(this.#walPath);
      if (f) {
        try {
          const h = await readWalHeader(f);
          if (h) return { f, h };
        } catch (e) {
          await f.close();
          throw e;
        }
        await f.close();
      }
      this.#bump();
    }
    throw new LtxError("INVALID_STATE", `wal ${this.#walPath} has no header after a forced write`);
  }

  /**
   * The WAL for the sync lane, with its header and size: the handle of the previous sync when the
   * path still names the same file (one stat instead of open, fstat and close per sync), else a
   * new one. A WAL is deleted and created again only when no connection has the database open,
   * and this source keeps two open, but a file of another identity is never read through the old
   * handle. The handle stays owned by the source (closed by close() or after an I/O error).
   */
  async openWal(): Promise<{ f: RandomAccessReader; h: WalHeader; size: number }> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const st = await this.#access.stat(this.#walPath);
      const f = await this.#handle("wal", this.#walPath, st);
      if (f) {
        const owned = f !== this.#kept.wal;
        try {
          const h = await readWalHeader(f);
          if (h) {
            if (owned) {
              // Without file identities the handle lives for one step, as it was opened.
              const size = await f.size();
              return { f: onceClosed(f), h, size };
            }
            return { f: kept(f), h, size: st!.size };
          }
        } catch (e) {
          await this.drop();
          if (owned) await f.close();
          throw e;
        }
        if (owned) await f.close();
      }
      this.#bump();
    }
    throw new LtxError("INVALID_STATE", `wal ${this.#walPath} has no header after a forced write`);
  }

  /** The database file for page reads: kept open like the WAL; null when it does not exist. */
  async openDb(): Promise<RandomAccessReader | null> {
    const f = await this.#handle("db", this.#path, await this.#access.stat(this.#path));
    if (!f) return null;
    return f === this.#kept.db ? kept(f) : onceClosed(f);
  }

  /**
   * The handle for `path` (`st`: its stat): the kept one while `st` names its file; otherwise the
   * kept one is closed and, when the file exists, a new one opened, kept when it has the identity
   * `st` names (without identities it is the caller's for one step). Null when there is no file.
   */
  async #handle(slot: "wal" | "db", path: string, st: { id?: string } | null): Promise<RandomAccessReader | null> {
    const old = this.#kept[slot];
    if (old && st && st.id !== undefined && st.id === old.id) return old;
    if (old) {
      this.#kept[slot] = null;
      await old.close();
    }
    if (!st) return null;
    const f = await this.#access.open(path);
    if (f?.id !== undefined && f.id === st.id) this.#kept[slot] = f;
    return f;
  }

  /** Closes the kept handles (after an I/O error, and at close()). */
  async drop(): Promise<void> {
    const fs = [this.#kept.wal, this.#kept.db];
    this.#kept.wal = this.#kept.db = null;
    for (const f of fs) await f?.close();
  }

  /**
   * Starts a background flush of the WAL once FLUSH_AHEAD_BYTES more of it were captured (up to
   * `pos`, the captured end) since the last one. A checkpoint fsyncs the whole WAL before copying it, and everything it flushes holds
   * up the captures queued behind it (in a burst, hundreds of MB and hundreds of ms): flushed
   * ahead while the captures go on, the checkpoint's flush finds little. Its errors are left to
   * the checkpoint's own flush, which reports them.
   */
  flushAhead(pos: { offset: number; salt1: number }): void {
    const flush = this.#access.flush;
    if (!flush || this.#flushing) return;
    const { offset: end, salt1 } = pos;
    const from = this.#flushedTo.salt1 === salt1 ? this.#flushedTo.end : 0; // a new WAL generation from its start
    if (end - from < FLUSH_AHEAD_BYTES) return;
    this.#flushedTo = { salt1, end };
    this.#flushing = flush
      .call(this.#access, this.#walPath)
      .catch(() => {})
      .finally(() => (this.#flushing = null));
  }

  /** Flushes the WAL now, after the background flush (if one runs) is done. */
  async flushWal(): Promise<void> {
    await this.#flushing;
    await this.#access.flush?.(this.#walPath);
  }

  /** Waits for the background flush, then closes the kept handles. */
  async close(): Promise<void> {
    await this.#flushing;
    await this.drop();
  }
}

/** A kept handle lent to one step: its close() is a no-op (the source closes it). */
function kept(f: RandomAccessReader): RandomAccessReader {
  return { id: f.id, size: () => f.size(), read: (o, n) => f.read(o, n), close: async () => {} };
}

/** A handle of one step whose close() may be called more than once. */
function onceClosed(f: RandomAccessReader): RandomAccessReader {
  let closed = false;
  return {
    id: f.id,
    size: () => f.size(),
    read: (o, n) => f.read(o, n),
    close: async () => {
      if (closed) return;
      closed = true;
      await f.close();
    },
  };
}
