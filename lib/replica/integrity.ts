/**
 * Integrity checks of restored databases with sqlite-wasm, in-process in any runtime:
 * `PRAGMA quick_check` or `PRAGMA integrity_check` on a deserialized copy. The copy costs memory
 * equal to the database size.
 *
 * sqlite-wasm is injected, never imported here, so a bundle that never checks integrity does not
 * carry it: pass the initialised module (`await sqlite3InitModule()` from @sqlite.org/sqlite-wasm),
 * or take it from `loadSqliteWasm()` of a runtime adapter (`ltxkit/node`, `ltxkit/deno`, `ltxkit/bun`).
 */
import { LtxError } from "../errors.ts";

/** "none" skips the check, "quick" runs PRAGMA quick_check, "full" PRAGMA integrity_check. */
export type IntegrityMode = "none" | "quick" | "full";

/** The part of an initialised sqlite-wasm module (@sqlite.org/sqlite-wasm) an integrity check uses. */
export interface SqliteWasm {
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

/** Opens a copy of a database image in sqlite-wasm (WAL header bytes patched to rollback mode). */
function openImage(sqlite3: SqliteWasm, image: Uint8Array): Db {
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

/**
 * Runs `PRAGMA quick_check` ("quick") or `PRAGMA integrity_check` ("full") on a copy of `image` in
 * the given sqlite-wasm module; returns the problems SQLite reports (empty when ok, and for "none").
 */
export async function integrityCheck(image: Uint8Array, mode: IntegrityMode, sqlite3: SqliteWasm): Promise<string[]> {
  if (mode === "none") return [];
  if (mode !== "quick" && mode !== "full") throw new LtxError("INVALID_ARGUMENT", `invalid integrity check mode: ${String(mode)} (none, quick, full)`);
  let db: Db;
  try {
    if (typeof sqlite3?.oo1?.DB !== "function") throw new LtxError("INVALID_ARGUMENT", "integrityCheck needs an initialised sqlite-wasm module (loadSqliteWasm() of a runtime adapter)");
    db = openImage(sqlite3, image);
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
