/**
 * Integrity checks of restored databases with @sqlite.org/sqlite-wasm (pinned 3.54.1-build1),
 * in-process in any runtime: `PRAGMA quick_check` or `PRAGMA integrity_check` on a deserialized
 * copy. The copy costs memory equal to the database size.
 */
import { LtxError } from "../errors.ts";

export type IntegrityMode = "none" | "quick" | "full";

// A structural subset of the sqlite-wasm module this file calls.
interface Sqlite3 {
  oo1: { DB: new (name?: string, flags?: string) => Db };
  capi: {
    sqlite3_deserialize(db: unknown, schema: string, p: number, n: number, max: number, flags: number): number;
    SQLITE_DESERIALIZE_FREEONCLOSE: number;
    SQLITE_DESERIALIZE_RESIZEABLE: number;
  };
  wasm: { allocFromTypedArray(a: Uint8Array): number };
}
interface Db {
  pointer: unknown;
  selectValues(sql: string): unknown[];
  exec(sql: string | { sql: string; rowMode: string; returnValue: string }): unknown;
  close(): void;
}

let loading: Promise<Sqlite3> | null = null;

/** Loads sqlite-wasm once (lazily, so only callers that need it pay for it). */
export function loadSqlite(): Promise<Sqlite3> {
  loading ??= (async () => {
    const mod = (await import("@sqlite.org/sqlite-wasm")) as unknown as { default: (o?: object) => Promise<Sqlite3> };
    return mod.default({ print: () => {}, printErr: () => {} });
  })();
  return loading;
}

/** Opens a copy of a database image in sqlite-wasm (WAL header bytes patched to rollback mode). */
export async function openImage(image: Uint8Array): Promise<Db> {
  const sqlite3 = await loadSqlite();
  const copy = image.slice();
  if (copy.length >= 20 && copy[18] === 2) {
    copy[18] = 1;
    copy[19] = 1;
  }
  const db = new sqlite3.oo1.DB(":memory:", "c");
  const p = sqlite3.wasm.allocFromTypedArray(copy);
  const rc = sqlite3.capi.sqlite3_deserialize(db.pointer, "main", p, copy.length, copy.length, sqlite3.capi.SQLITE_DESERIALIZE_FREEONCLOSE | sqlite3.capi.SQLITE_DESERIALIZE_RESIZEABLE);
  if (rc !== 0) {
    db.close();
    throw new LtxError("INTEGRITY_CHECK_FAILED", `sqlite3_deserialize failed with code ${rc}`);
  }
  return db;
}

/** Runs the check; returns the problems SQLite reports (empty when ok). */
export async function integrityCheck(image: Uint8Array, mode: IntegrityMode): Promise<string[]> {
  if (mode === "none") return [];
  if (mode !== "quick" && mode !== "full") throw new LtxError("INVALID_ARGUMENT", `invalid integrity check mode: ${String(mode)} (none, quick, full)`);
  let db: Db;
  try {
    db = await openImage(image);
  } catch (e) {
    if (e instanceof LtxError) throw e;
    return [`cannot open database: ${(e as Error).message}`];
  }
  try {
    const rows = db.selectValues(mode === "quick" ? "PRAGMA quick_check" : "PRAGMA integrity_check").map(String);
    return rows.length === 1 && rows[0] === "ok" ? [] : rows;
  } catch (e) {
    return [(e as Error).message];
  } finally {
    db.close();
  }
}
