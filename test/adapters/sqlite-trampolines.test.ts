/**
 * Staleness of the precompiled sqlite-wasm trampolines (ltxkit/workerd): re-records, in this
 * runtime, every module sqlite-wasm's jsFuncToWasm compiles and compares with the shipped table and
 * bundle. Fails when the sqlite-wasm version or the set of signatures changes; the fix is
 * `node scripts/sqlite-trampolines.mjs`.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SQLITE_WASM_VERSION, TRAMPOLINES } from "../../lib/adapters/sqlite-trampolines.ts";
// @ts-ignore: a plain .mjs script without types
import { bundleBytes, outputs, recordTrampolines, sqliteWasmVersion } from "../../scripts/sqlite-trampolines.mjs";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "..");

describe("sqlite-wasm trampolines for workerd", () => {
  it("were recorded from the pinned and installed sqlite-wasm version", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(SQLITE_WASM_VERSION).toBe(pkg.dependencies["@sqlite.org/sqlite-wasm"]);
    expect(SQLITE_WASM_VERSION).toBe(sqliteWasmVersion());
  });

  it("are exactly the modules sqlite-wasm compiles at start-up and for every function-pointer signature, UDF, hook and VFS", async () => {
    const rec = await recordTrampolines();
    expect(rec.modules).toEqual([...TRAMPOLINES]);
    // Each is the fixed import e.f / export f module around one function type.
    for (const h of TRAMPOLINES) expect(h).toMatch(/^0061736d0100000001[0-9a-f]+02070101650166000007050101660000$/);
  });

  it("ship as the bundle the generator emits, one import and export per trampoline", async () => {
    const shipped = new Uint8Array(readFileSync(outputs.wasm));
    expect(shipped).toEqual(bundleBytes([...TRAMPOLINES]));
    const m = new WebAssembly.Module(shipped);
    expect(WebAssembly.Module.exports(m).map((e) => e.name)).toEqual(TRAMPOLINES.map((_, k) => `f${k}`));
    expect(WebAssembly.Module.imports(m).map((e) => `${e.module}.${e.name}`)).toEqual(TRAMPOLINES.map((_, k) => `e.f${k}`));
  });
});
