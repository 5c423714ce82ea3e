/**
 * Litestream's own connections to a database (spec: litestream-replica.md §1.6, §3.1): one for
 * writes (schema, `_litestream_seq` bumps, the `_litestream_lock` write barrier) and one holding
 * the long-lived read transaction that keeps other connections from restarting the WAL past
 * unread frames; both with `busy_timeout` and `wal_autocheckpoint=0`.
 */
import { LtxError } from "../errors.ts";
import type { SqliteConnection, SqliteOpener } from "./sqlite.ts";

const SEQ_BUMP = "INSERT INTO _litestream_seq (id, seq) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET seq = seq + 1";
const BARRIER = "INSERT INTO _litestream_lock (id) VALUES (1)";

function firstValue(rows: Record<string, unknown>[]): unknown {
  const r = rows[0];
  return r ? Object.values(r)[0] : undefined;
}

/** True for SQLite's "database is locked" / SQLITE_BUSY from any driver. */
export function isBusyError(e: unknown): boolean {
  const m = e instanceof Error ? `${e.message} ${String((e as { code?: unknown }).code ?? "")}` : String(e);
  return /SQLITE_BUSY|database is locked/i.test(m);
}

/** Rolls back after a failed statement; SQLite may have rolled the transaction back already. */
function rollbackQuietly(c: SqliteConnection): void {
  try {
    c.exec("ROLLBACK");
  } catch {
    // no transaction left open
  }
}

export class LitestreamConnections {
  #w: SqliteConnection | null = null;
  #r: SqliteConnection | null = null;
  #reading = false;
  #barrier = false;
  readonly pageSize: number;

  /** Opens the write connection, switches to WAL mode, creates the Litestream tables. Call `beginRead` next. */
  constructor(open: SqliteOpener, path: string, busyTimeout: number) {
    const connect = () => {
      const c = open(path);
      try {
        c.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeout))}`);
        c.query("PRAGMA wal_autocheckpoint = 0");
        // The drivers are synchronous: a commit of these connections (the `_litestream_seq` bump)
        // would block the thread on an fsync of the WAL. NORMAL still syncs around checkpoints;
        // a bump lost to a power failure costs a snapshot at most (the WAL then does not continue
        // the last L0 file), never a commit of the application.
        c.exec("PRAGMA synchronous = NORMAL");
      } catch (e) {
        c.close();
        throw e;
      }
      return c;
    };
    try {
      const w = (this.#w = connect());
      const mode = firstValue(w.query("PRAGMA journal_mode = wal"));
      if (String(mode).toLowerCase() !== "wal") throw new LtxError("UNSUPPORTED", `enable wal failed, mode=${String(mode)}`);
      w.exec("CREATE TABLE IF NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER)");
      w.exec("CREATE TABLE IF NOT EXISTS _litestream_lock (id INTEGER)");
      this.pageSize = Number(firstValue(w.query("PRAGMA page_size")));
      if (!(this.pageSize > 0)) throw new LtxError("INVALID_STATE", `invalid db page size: ${this.pageSize}`);
      this.#r = connect();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  #conn(c: SqliteConnection | null): SqliteConnection {
    if (!c) throw new LtxError("INVALID_STATE", "litestream connections are closed");
    return c;
  }

  /** Starts the long-lived read transaction; on failure no transaction is left open. */
  beginRead(): void {
    const r = this.#conn(this.#r);
    r.exec("BEGIN");
    try {
      r.query("SELECT COUNT(1) AS n FROM _litestream_seq");
    } catch (e) {
      rollbackQuietly(r);
      throw e;
    }
    this.#reading = true;
  }

  endRead(): void {
    if (!this.#reading) return;
    this.#reading = false;
    this.#conn(this.#r).exec("ROLLBACK");
  }

  /** Commits one `_litestream_seq` upsert: forces a WAL frame (and a WAL restart after a complete checkpoint). */
  bump(): void {
    this.#conn(this.#w).query(SEQ_BUMP);
  }

  /**
   * `PRAGMA data_version` of the write connection: changes when another connection (of any
   * process) commits, not for this connection's own commits.
   */
  dataVersion(): number {
    return Number(firstValue(this.#conn(this.#w).query("PRAGMA data_version")));
  }

  /**
   * Takes the write lock with an insert that is never committed. When the insert fails (busy past
   * the timeout while the application writes), the transaction is rolled back before the error
   * is thrown: left open, every later barrier's BEGIN would fail and no checkpoint would run again.
   */
  beginBarrier(): void {
    const w = this.#conn(this.#w);
    w.exec("BEGIN");
    try {
      w.query(BARRIER);
    } catch (e) {
      rollbackQuietly(w);
      throw e;
    }
    this.#barrier = true;
  }

  endBarrier(): void {
    if (!this.#barrier) return;
    this.#barrier = false;
    this.#conn(this.#w).exec("ROLLBACK");
  }

  /**
   * `PRAGMA wal_checkpoint(mode)` outside the read transaction, which is taken again afterwards.
   * Returns SQLite's result: `busy` 1 when it could not finish, `log` the frames in the WAL.
   */
  checkpoint(mode: "PASSIVE" | "TRUNCATE"): { busy: number; log: number; checkpointed: number } {
    this.endRead();
    try {
      const row = this.#conn(this.#r).query(`PRAGMA wal_checkpoint(${mode})`)[0] ?? {};
      const v = Object.values(row).map(Number);
      return { busy: v[0] ?? 1, log: v[1] ?? -1, checkpointed: v[2] ?? -1 };
    } finally {
      this.beginRead();
    }
  }

  close(): void {
    for (const c of [this.#r, this.#w]) {
      if (!c) continue;
      rollbackQuietly(c);
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    this.#r = this.#w = null;
    this.#reading = this.#barrier = false;
  }
}
