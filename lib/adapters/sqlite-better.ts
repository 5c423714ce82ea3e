/**
 * better-sqlite3 behind `SqliteConnection`, loaded with a dynamic import so the library never
 * depends on it (an optional peer dependency for Node 20, which has no node:sqlite).
 */
import { LtxError } from "../errors.ts";
import type { SqliteConnection, SqliteOpener } from "../capture/sqlite.ts";

interface BetterStatement {
  readonly reader: boolean;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): unknown;
}
interface BetterDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): BetterStatement;
  close(): unknown;
}
type BetterCtor = new (path: string) => BetterDatabase;

/** Wraps an open better-sqlite3 database. */
export function wrapBetterSqlite(db: BetterDatabase): SqliteConnection {
  return {
    exec: (sql) => void db.exec(sql),
    query(sql, params = []) {
      const st = db.prepare(sql);
      if (st.reader) return st.all(...params) as Record<string, unknown>[];
      st.run(...params);
      return [];
    },
    close: () => void db.close(),
  };
}

/** Loads better-sqlite3; null when it is not installed. */
export async function loadBetterSqlite(): Promise<SqliteOpener | null> {
  const name = "better-sqlite3";
  let mod: { default?: BetterCtor };
  try {
    mod = (await import(name)) as { default?: BetterCtor };
  } catch {
    return null;
  }
  const Ctor = mod.default;
  if (typeof Ctor !== "function") throw new LtxError("UNSUPPORTED", "better-sqlite3 loaded but exports no Database class");
  return (path) => wrapBetterSqlite(new Ctor(path));
}
