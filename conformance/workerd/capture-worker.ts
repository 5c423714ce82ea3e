// A worker and a Durable Object writing through sqlite-wasm with the capture VFS, replicating to an
// R2 bucket (binding) and to S3 (fetch to Ceph RGW on 127.0.0.1).
import sqlite3InitModule from "@sqlite.org/sqlite-wasm";
// @ts-ignore: a CompiledWasm module import
import sqliteWasm from "./sqlite3.wasm";
// @ts-ignore: a CompiledWasm module import
import trampolines from "./sqlite-trampolines.wasm";
import { DurableObjectVfsStorage, initSqliteWasmForWorkerd, r2Replica, type DurableObjectStorageLike, type R2BucketLike } from "../../lib/adapters/workerd.ts";
import { openCapturedDatabase, type CapturedDatabase } from "../../lib/capture/vfs-database.ts";
import { MemoryVfsStorage, type VfsStorage } from "../../lib/capture/vfs-storage.ts";
import type { SqliteWasmModule } from "../../lib/capture/wasm-vfs.ts";
import { s3Layout } from "../../lib/replica/layout.ts";
import type { Replica } from "../../lib/replica/replica.ts";
import { S3Store } from "../../lib/store/s3.ts";

interface Env {
  BUCKET: R2BucketLike;
  S3_ENDPOINT?: string;
  S3_BUCKET?: string;
  S3_KEY?: string;
  S3_SECRET?: string;
  DBO: { idFromName(n: string): unknown; get(id: unknown): { fetch(r: Request): Promise<Response> } };
}

// deno-lint-ignore no-explicit-any
type Sqlite3 = SqliteWasmModule & { capi: any; wasm: any };
let sqlite: Promise<Sqlite3> | undefined;
const getSqlite = () => (sqlite ??= initSqliteWasmForWorkerd<Sqlite3>({ init: sqlite3InitModule as never, wasm: sqliteWasm, trampolines }));

function replicas(env: Env, prefix: string, withS3: boolean): Replica[] {
  const out = [r2Replica(env.BUCKET, prefix, { name: "BUCKET" })];
  if (withS3 && env.S3_ENDPOINT) {
    const store = new S3Store({ endpoint: env.S3_ENDPOINT, bucket: env.S3_BUCKET!, accessKeyId: env.S3_KEY!, secretAccessKey: env.S3_SECRET!, region: "us-east-1", forcePathStyle: true, retries: 2 });
    out.push({ url: `s3://${env.S3_BUCKET}/${prefix}`, kind: "s3", store, layout: s3Layout(prefix), timestampFromMetadata: true });
  }
  return out;
}

function b64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * The database file as SQLite reads it: exported through a second, fresh connection on the capture
 * VFS. (The writing connection's own export comes from its page cache, where pages SQLite moved to
 * the freelist hold contents it never writes to the file.)
 */
function exportImage(sqlite3: Sqlite3, h: CapturedDatabase): Uint8Array {
  // deno-lint-ignore no-explicit-any
  const reader = new (sqlite3.oo1 as any).DB({ filename: h.vfs.path, flags: "r", vfs: h.vfs.name });
  try {
    return sqlite3.capi.sqlite3_js_db_export(reader.pointer) as Uint8Array;
  } finally {
    reader.close();
  }
}

/** One captured database and the requests that drive it; the same for the worker and the DO. */
class Host {
  h: CapturedDatabase | undefined;
  constructor(readonly storage: () => VfsStorage) {}

  async handle(req: Request, env: Env): Promise<Response> {
    const url = new URL(req.url);
    const op = url.pathname.split("/").pop();
    const sqlite3 = await getSqlite();
    try {
      if (op === "open") {
        const prefix = url.searchParams.get("prefix")!;
        const t0 = Date.now();
        this.h = await openCapturedDatabase(sqlite3, { storage: this.storage(), replicas: replicas(env, prefix, url.searchParams.get("s3") === "1"), start: false, syncInterval: 3_600_000 });
        const h = this.h;
        return Response.json({ restoredTXID: h.restoredTXID?.toString() ?? null, localTXID: h.status().position.txid.toString(), ms: Date.now() - t0 });
      }
      const h = this.h;
      if (!h) return new Response("not open", { status: 409 });
      if (op === "exec") {
        h.db.exec(await req.text());
        return Response.json({ localTXID: h.status().position.txid.toString(), image: b64(exportImage(sqlite3, h)), queue: h.status().queue });
      }
      if (op === "sync") {
        const txid = await h.sync({ timeout: 30_000 });
        return Response.json({ txid: txid.toString(), image: b64(exportImage(sqlite3, h)), replicas: h.status().replicas.map((r) => r.remoteTXID.toString()) });
      }
      if (op === "query") return Response.json({ value: h.db.selectValue(await req.text()) ?? null });
      if (op === "close") {
        await h.close();
        this.h = undefined;
        return Response.json({ closed: true });
      }
      return new Response("unknown op", { status: 404 });
    } catch (e) {
      return new Response(`${(e as { code?: string }).code ?? ""} ${String(e)}\n${(e as Error).stack ?? ""}`, { status: 500 });
    }
  }
}

/**
 * A stateless worker does one whole session per request (workerd does not let one request await
 * what another started): open (a cold start restores from the replica), per statement exec + sync,
 * close. Returns each synced point.
 */
async function session(req: Request, env: Env): Promise<Response> {
  const url = new URL(req.url);
  const sqlite3 = await getSqlite();
  try {
    const { prefix, s3, steps } = (await req.json()) as { prefix: string; s3: boolean; steps: string[] };
    const t0 = Date.now();
    const h = await openCapturedDatabase(sqlite3, { storage: new MemoryVfsStorage(), replicas: replicas(env, prefix, s3), start: false, syncInterval: 3_600_000 });
    const openMs = Date.now() - t0;
    const restoredTXID = h.restoredTXID?.toString() ?? null;
    const points: { txid: string; image: string; replicas: string[] }[] = [];
    const counts: unknown[] = [];
    for (const sql of steps) {
      if (sql.startsWith("SELECT")) {
        counts.push(h.db.selectValue(sql) ?? null);
        continue;
      }
      h.db.exec(sql);
      const txid = await h.sync({ timeout: 30_000 });
      points.push({ txid: txid.toString(), image: b64(exportImage(sqlite3, h)), replicas: h.status().replicas.map((r) => r.remoteTXID.toString()) });
    }
    await h.close();
    return Response.json({ restoredTXID, openMs, points, counts, path: url.pathname });
  } catch (e) {
    return new Response(`${(e as { code?: string }).code ?? ""} ${String(e)}\n${(e as Error).stack ?? ""}`, { status: 500 });
  }
}

export class CaptureDO {
  host: Host;
  constructor(ctx: { storage: DurableObjectStorageLike }, readonly env: Env) {
    this.host = new Host(() => new DurableObjectVfsStorage(ctx.storage, { name: "db" }));
  }
  fetch(req: Request): Promise<Response> {
    return this.host.handle(req, this.env);
  }
}

export default {
  fetch(req: Request, env: Env): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname.startsWith("/do/")) return env.DBO.get(env.DBO.idFromName(url.searchParams.get("name") ?? "one")).fetch(req);
    return session(req, env);
  },
};
