import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it, expect } from "vitest";
import { integrityCheck, type SqliteWasm } from "../../lib/replica/integrity.ts";
import { loadSqliteWasm } from "../../lib/adapters/sqlite-wasm.ts";
import { isLtxError } from "../../lib/errors.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const DB = join(HERE, "..", "..", "conformance", "vectors", "ltx-vectors", "sqlite", "10-source.db");

describe("integrity check with sqlite-wasm", () => {
  it("passes a good database and reports a damaged one", async () => {
    const sqlite3 = await loadSqliteWasm();
    const db = new Uint8Array(readFileSync(DB));
    expect(await integrityCheck(db, "quick", sqlite3)).toEqual([]);
    expect(await integrityCheck(db, "full", sqlite3)).toEqual([]);
    const bad = db.slice();
    for (let i = 4096 * 3 + 100; i < 4096 * 3 + 600; i++) bad[i] = 0xa5;
    const problems = await integrityCheck(bad, "full", sqlite3);
    expect(problems.length).toBeGreaterThan(0);
    expect(await integrityCheck(bad, "none", sqlite3)).toEqual([]);
  });

  it("without a sqlite-wasm module it is an INVALID_ARGUMENT error, not a crash", async () => {
    const db = new Uint8Array(readFileSync(DB));
    const err = await integrityCheck(db, "quick", undefined as unknown as SqliteWasm).catch((e) => e);
    expect(isLtxError(err, "INVALID_ARGUMENT"), String(err)).toBe(true);
  });
});
