/**
 * Loads @sqlite.org/sqlite-wasm (pinned 3.54.1-build1) on first use, for integrity checks and the
 * demo. The core never imports it: it takes the module as an argument (`integrityCheck`), so only
 * programs that call this pay for the ~1 MB of wasm.
 */
import type { SqliteWasm } from "../replica/integrity.ts";

let loading: Promise<SqliteWasm> | null = null;

/** The initialised sqlite-wasm module, loaded once (its console output silenced). */
export function loadSqliteWasm(): Promise<SqliteWasm> {
  loading ??= (async () => {
    const mod = (await import("@sqlite.org/sqlite-wasm")) as unknown as { default: (o?: object) => Promise<SqliteWasm> };
    return mod.default({ print: () => {}, printErr: () => {} });
  })();
  return loading;
}
