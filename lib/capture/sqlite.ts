/**
 * What the WAL capture needs from its surroundings, as structural types the runtime adapters
 * fill in: a synchronous SQLite connection (node:sqlite, bun:sqlite and better-sqlite3 are all
 * synchronous) and asynchronous random-access reads of the database and WAL files.
 */

/** The subset of a SQLite connection the WAL path calls. */
export interface SqliteConnection {
  /** Runs SQL that returns no rows (one or more statements). */
  exec(sql: string): void;
  /** Runs one statement and returns its rows as objects (an empty array for statements without rows). */
  query(sql: string, params?: readonly unknown[]): Record<string, unknown>[];
  close(): void;
}

/** Opens a connection to the database at `path`. */
export type SqliteOpener = (path: string) => SqliteConnection;

/** An open file read at arbitrary offsets. */
export interface RandomAccessReader {
  /**
   * Optional: what names the opened file on its device (e.g. `dev:ino`), as `FileAccess.stat`
   * reports it for a path. Where both are given, a WalSource keeps its WAL and database files open
   * between syncs and opens them again only when the path names another file.
   */
  readonly id?: string;
  /** Current size in bytes. */
  size(): Promise<number>;
  /** Up to `length` bytes at `offset`; shorter only at the end of the file. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** File access for the database and its WAL. */
export interface FileAccess {
  /** Opens a file for reading; null when it does not exist. */
  open(path: string): Promise<RandomAccessReader | null>;
  /** Size, modification time (ms) and optionally the file's identity (see `RandomAccessReader.id`); null when the file does not exist. */
  stat(path: string): Promise<{ size: number; mtimeMs: number; id?: string } | null>;
  /** Optional: calls `onChange` soon after the file changes (or appears); returns a stop function. */
  watch?(path: string, onChange: () => void): () => void;
  /**
   * Optional: makes the file's written data durable (fsync) without blocking the calling thread.
   * A WalSource flushes the WAL this way before a checkpoint, whose own fsync of the WAL otherwise
   * runs inside the synchronous driver call, on the thread the application commits on.
   */
  flush?(path: string): Promise<void>;
}

/** Reads exactly `length` bytes at `offset` (fewer only when the file ends first). */
export async function readFully(f: RandomAccessReader, offset: number, length: number): Promise<Uint8Array> {
  const first = await f.read(offset, length);
  if (first.length === length || first.length === 0) return first;
  const out = new Uint8Array(length);
  out.set(first);
  let got = first.length;
  while (got < length) {
    const more = await f.read(offset + got, length - got);
    if (more.length === 0) break;
    out.set(more, got);
    got += more.length;
  }
  return got === length ? out : out.subarray(0, got);
}
