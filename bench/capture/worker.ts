// The workerd side of bench/capture (workerd.mjs drives it through miniflare): one request runs one
// variant of the Node bench's workload (shared.mjs) on a database of `mib` MiB, n transactions:
//   off    sqlite-wasm's in-memory database (memdb, C)
//   jsvfs  the plain in-memory JavaScript VFS (shared.mjs), the uncaptured baseline
//   vfs    the capture VFS over MemoryVfsStorage, synced and shipped to a memory replica every
//          `batch` transactions (and at the end)
// The timing is taken outside (workerd's clocks stand still while JavaScript runs).
import sqlite3InitModule from "@sqlite.org/sqlite-wasm";
// @ts-ignore: a CompiledWasm module import
import sqliteWasm from "./sqlite3.wasm";
// @ts-ignore: a CompiledWasm module import
import trampolines from "./sqlite-trampolines.wasm";
import { initSqliteWasmForWorkerd } from "../../lib/adapters/workerd.ts";
import { openCapturedDatabase } from "../../lib/capture/vfs-database.ts";
import { MemoryVfsStorage } from "../../lib/capture/vfs-storage.ts";
import { captureL0 } from "../../lib/capture/page-diff.ts";
import type { SqliteWasmModule } from "../../lib/capture/wasm-vfs.ts";
import { memoryReplica } from "../../lib/replica/replica.ts";
import { writeLtxFile } from "../../lib/replica/list.ts";
import { MemoryStore } from "../../lib/store/memory.ts";
// @ts-ignore: a plain JavaScript module of the bench
import { buildImage, installPlainVfs, workload } from "./shared.mjs";

// deno-lint-ignore no-explicit-any
type Sqlite3 = SqliteWasmModule & { capi: any; wasm: any; oo1: any };
let sqlite: Promise<Sqlite3> | undefined;
const getSqlite = () => (sqlite ??= initSqliteWasmForWorkerd<Sqlite3>({ init: sqlite3InitModule as never, wasm: sqliteWasm, trampolines }));
const images = new Map<number, { image: Uint8Array; rows: number }>();
let seq = 0;

async function run(mode: string, n: number, batch: number, mib: number): Promise<Record<string, unknown>> {
  const sqlite3 = await getSqlite();
  let img = images.get(mib);
  if (!img) images.set(mib, (img = buildImage(sqlite3, mib)));
  const { image, rows } = img!;
  if (mode === "off") {
    const db = new sqlite3.oo1.DB(":memory:", "c");
    const p = sqlite3.wasm.allocFromTypedArray(image);
    const rc = sqlite3.capi.sqlite3_deserialize(db.pointer, "main", p, image.length, image.length, sqlite3.capi.SQLITE_DESERIALIZE_FREEONCLOSE | sqlite3.capi.SQLITE_DESERIALIZE_RESIZEABLE);
    if (rc) throw new Error(`deserialize: ${rc}`);
    db.exec("PRAGMA journal_mode=MEMORY");
    const w = workload(db, rows, 1);
    for (let i = 0; i < n; i++) w.tx();
    w.finalize();
    db.close();
    return { n };
  }
  if (mode === "jsvfs") {
    const name = `bench-plain-${++seq}`;
    const unregister = installPlainVfs(sqlite3, image, name);
    const db = new sqlite3.oo1.DB({ filename: "/plain.db", vfs: name });
    db.exec("PRAGMA journal_mode=MEMORY");
    const w = workload(db, rows, 1);
    for (let i = 0; i < n; i++) w.tx();
    w.finalize();
    db.close();
    unregister();
    return { n };
  }
  // vfs: the storage restored from a replica holding the image, then captured and shipped.
  const seed = memoryReplica(new MemoryStore());
  await writeLtxFile(seed, 0, 1n, 1n, captureL0(null, image, { txid: 1n, timestamp: 0 })!, 0);
  const storage = new MemoryVfsStorage();
  const first = await openCapturedDatabase(sqlite3, { storage, replicas: [seed], start: false });
  await first.close();
  const store = new MemoryStore();
  let shipped = 0;
  const put = store.put.bind(store);
  store.put = async (key, body, o) => {
    const r = await put(key, body, o);
    if (key.includes("/0/")) shipped += r.size;
    return r;
  };
  const h = await openCapturedDatabase(sqlite3, { storage, replicas: [memoryReplica(store)], start: false });
  await h.sync(); // the replica is empty: the first sync ships every page (in t(0) as in t(n))
  shipped = 0;
  const w = workload(h.db, rows, 1);
  for (let i = 0; i < n; i++) {
    w.tx();
    if ((i + 1) % batch === 0) await h.sync();
  }
  await h.sync();
  w.finalize();
  await h.close();
  return { n, shipped };
}

export default {
  async fetch(req: Request): Promise<Response> {
    try {
      const { mode, n, batch, mib } = (await req.json()) as { mode: string; n: number; batch: number; mib: number };
      return Response.json(await run(mode, n, batch, mib));
    } catch (e) {
      return new Response(`${String(e)}\n${(e as Error).stack ?? ""}`, { status: 500 });
    }
  },
};
