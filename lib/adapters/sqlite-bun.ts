/** bun:sqlite behind `SqliteConnection`. */
import type { SqliteConnection, SqliteOpener } from "../capture/sqlite.ts";

interface BunStatement {
  all(...params: unknown[]): unknown[];
}
interface BunDatabase {
  exec(sql: string): unknown;
  query(sql: string): BunStatement;
  close(): void;
}
type BunCtor = new (path: string) => BunDatabase;

/** Wraps an open bun:sqlite `Database`. */
export function wrapBunSqlite(db: BunDatabase): SqliteConnection {
  return {
    exec: (sql) => void db.exec(sql),
    // query() keeps one statement per SQL text (Database.prepare would make one per call).
    query: (sql, params = []) => db.query(sql).all(...params) as Record<string, unknown>[],
    close: () => db.close(),
  };
}

/** Loads bun:sqlite; null outside Bun. */
export async function loadBunSqlite(): Promise<SqliteOpener | null> {
  const name = "bun:sqlite";
  let mod: { Database?: BunCtor };
  try {
    mod = (await import(name)) as { Database?: BunCtor };
  } catch {
    return null;
  }
  const Ctor = mod.Database;
  if (typeof Ctor !== "function") return null;
  return (path) => wrapBunSqlite(new Ctor(path));
}
