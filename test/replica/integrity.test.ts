import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it, expect } from "vitest";
import { integrityCheck } from "../../lib/replica/integrity.ts";

const DB = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "conformance", "vectors", "ltx-vectors", "sqlite", "10-source.db");

describe("integrity check with sqlite-wasm", () => {
  it("passes a good database and reports a damaged one", async () => {
    const db = new Uint8Array(readFileSync(DB));
    expect(await integrityCheck(db, "quick")).toEqual([]);
    expect(await integrityCheck(db, "full")).toEqual([]);
    const bad = db.slice();
    for (let i = 4096 * 3 + 100; i < 4096 * 3 + 600; i++) bad[i] = 0xa5;
    const problems = await integrityCheck(bad, "full");
    expect(problems.length).toBeGreaterThan(0);
    expect(await integrityCheck(bad, "none")).toEqual([]);
  });
});
