/** node:sqlite (Node >= 22.13 without flags, and Deno) behind `SqliteConnection`. */
import type { SqliteConnection, SqliteOpener } from "../capture/sqlite.ts";

interface NodeStatement {
  all(...params: unknown[]): unknown[];
}
interface NodeDatabase {
  exec(sql: string): void;
  prepare(sql: string): NodeStatement;
  close(): void;
}
type NodeCtor = new (path: string) => NodeDatabase;

/** Wraps an open node:sqlite `DatabaseSync`; statements are prepared once per SQL text and kept. */
export function wrapNodeSqlite(db: NodeDatabase): SqliteConnection {
  const statements = new Map<string, NodeStatement>();
  return {
    exec: (sql) => db.exec(sql),
    query(sql, params = []) {
      let st = statements.get(sql);
      if (!st) statements.set(sql, (st = db.prepare(sql)));
      return st.all(...params) as Record<string, unknown>[];
    },
    close() {
      statements.clear();
      db.close();
    },
  };
}

/** Loads node:sqlite; null where the runtime lacks it (Node 20, or Node 22 before 22.13 without a flag). */
export async function loadNodeSqlite(): Promise<SqliteOpener | null> {
  const name = "node:sqlite";
  let mod: { DatabaseSync?: NodeCtor };
  try {
    mod = (await import(name)) as { DatabaseSync?: NodeCtor };
  } catch {
    return null;
  }
  const Ctor = mod.DatabaseSync;
  if (typeof Ctor !== "function") return null;
  return (path) => wrapNodeSqlite(new Ctor(path));
}
