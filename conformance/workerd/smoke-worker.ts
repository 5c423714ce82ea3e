// A worker that starts sqlite-wasm with the precompiled trampolines and exercises what needs them.
import sqlite3InitModule from "@sqlite.org/sqlite-wasm";
// @ts-ignore: a CompiledWasm module import
import sqliteWasm from "./sqlite3.wasm";
// @ts-ignore: a CompiledWasm module import
import trampolines from "./sqlite-trampolines.wasm";
import { initSqliteWasmForWorkerd } from "../../lib/adapters/sqlite-wasm-workerd.ts";

export default {
  async fetch(_req: Request, env: { BARE?: string }): Promise<Response> {
    const t0 = Date.now();
    if (env.BARE) {
      // Without the trampolines: sqlite-wasm's own start-up, as shipped.
      try {
        await (sqlite3InitModule as unknown as (o: object) => Promise<unknown>)({
          print() {},
          printErr() {},
          instantiateWasm(imports: WebAssembly.Imports, ok: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) {
            WebAssembly.instantiate(sqliteWasm as WebAssembly.Module, imports).then((i) => ok(i, sqliteWasm));
            return {};
          },
        });
        return Response.json({ started: true });
      } catch (e) {
        return Response.json({ started: false, error: String(e) });
      }
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const sqlite3: any = await initSqliteWasmForWorkerd({ init: sqlite3InitModule as never, wasm: sqliteWasm, trampolines });
    const db = new sqlite3.oo1.DB(":memory:");
    db.createFunction("twice", (_c: unknown, a: number) => a * 2, { arity: 1 });
    db.exec("create table t(a); insert into t with recursive c(x) as (select 1 union all select x + 1 from c where x < 500) select x from c");
    const sum = db.selectValue("select sum(twice(a)) from t");
    const ok = db.selectValue("pragma integrity_check");
    db.close();
    return Response.json({ sum, ok, ms: Date.now() - t0 });
  },
};
