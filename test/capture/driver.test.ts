import { describe, expect, it } from "vitest";
import { loadSqliteDriver, pickSqliteDriver } from "../../lib/adapters/sqlite-open.ts";
import { loadNodeSqlite } from "../../lib/adapters/sqlite-node.ts";
import { driver, open } from "./driver.ts";

const isBun = "Bun" in globalThis;
const isDeno = "Deno" in globalThis;
const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
const nodeHasSqlite = major > 22 || (major === 22 && minor >= 13);

describe("openSqlite() picks the runtime's driver", () => {
  it(`picks ${driver.name} here`, () => {
    const want = isBun ? "bun:sqlite" : isDeno || nodeHasSqlite ? "node:sqlite" : "better-sqlite3";
    expect(driver.name).toBe(want);
  });
  it.skipIf(isBun || isDeno || nodeHasSqlite)("Node 20 has no node:sqlite", async () => {
    expect(await loadNodeSqlite()).toBeNull();
  });
  it("without any driver: UNSUPPORTED naming every alternative", async () => {
    const none = async () => null;
    const e = await pickSqliteDriver([{ name: "node:sqlite", load: none }, { name: "better-sqlite3", load: none }]).catch((x) => x);
    expect(e).toMatchObject({ name: "LtxError", code: "UNSUPPORTED" });
    for (const w of ["Node >= 22.13", "node:sqlite", "Deno", "Bun", "bun:sqlite", "better-sqlite3"]) expect(e.message).toContain(w);
  });
  it.skipIf(isBun)("asking for bun:sqlite outside Bun: UNSUPPORTED", async () => {
    await expect(loadSqliteDriver("bun:sqlite")).rejects.toMatchObject({ code: "UNSUPPORTED", message: "SQLite driver bun:sqlite is not available in this runtime" });
  });
  it("the connection type: exec, query with parameters and rows, statements without rows", () => {
    const c = open(":memory:");
    c.exec("CREATE TABLE x (a INTEGER, b TEXT, c BLOB); CREATE TABLE y (z)");
    expect(c.query("INSERT INTO x VALUES (?, ?, ?)", [1, "one", new Uint8Array([1, 2])])).toEqual([]);
    const rows = c.query("SELECT a, b, c FROM x WHERE a = ?", [1]);
    expect(rows.length).toBe(1);
    expect(Number(rows[0]!.a)).toBe(1);
    expect(rows[0]!.b).toBe("one");
    expect(Array.from(rows[0]!.c as Uint8Array)).toEqual([1, 2]);
    expect(Object.values(c.query("PRAGMA journal_mode")[0]!)[0]).toBe("memory");
    c.close();
  });
});
