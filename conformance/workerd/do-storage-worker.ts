// A Durable Object that keeps a VfsStorage in its own SQLite storage.
import { DurableObjectVfsStorage, type DurableObjectStorageLike } from "../../lib/adapters/do-vfs-storage.ts";

/** Deterministic test bytes: byte i of pattern `seed`. */
export function pattern(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out[i] = x & 0xff;
  }
  return out;
}

async function sha(b: Uint8Array | undefined): Promise<string | null> {
  if (!b) return null;
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  return Array.from(d, (x: number) => x.toString(16).padStart(2, "0")).join("");
}

export class StorageDO {
  storage: DurableObjectVfsStorage;
  raw: DurableObjectStorageLike;
  constructor(ctx: { storage: DurableObjectStorageLike }) {
    this.raw = ctx.storage;
    this.storage = new DurableObjectVfsStorage(ctx.storage, { name: "t" });
  }

  async state(): Promise<unknown> {
    const s = this.storage;
    const pages: Record<string, string | null> = {};
    for (let p = 1; p <= 4; p++) pages[p] = await sha(s.getPage(p));
    const chunks = this.raw.sql.exec("SELECT key, count(*) AS n, max(length(data)) AS m FROM ltxkit_t_records GROUP BY key ORDER BY key").toArray();
    return {
      maxPage: s.maxPage(),
      pages,
      big: await sha(s.getRecord("q/0000000000000002")),
      small: await sha(s.getRecord("q/0000000000000001")),
      empty: s.getRecord("empty")?.length ?? null,
      queued: s.listRecords("q/"),
      all: s.listRecords(""),
      chunks,
    };
  }

  async fetch(req: Request): Promise<Response> {
    const op = new URL(req.url).pathname.slice(1);
    const s = this.storage;
    if (op === "write") {
      s.apply({
        pages: new Map([[1, pattern(1, 4096)], [2, pattern(2, 4096)], [3, pattern(3, 4096)]]),
        records: new Map([["q/0000000000000001", pattern(10, 100)], ["q/0000000000000002", pattern(11, 3 * 1024 * 1024 + 5)], ["pos", pattern(12, 16)], ["empty", new Uint8Array(0)],
          // Around the bound of listRecords("q/"): a non-ASCII key inside the prefix, and two keys just past it.
          ["q/\u00e9", pattern(14, 3)], ["q0", pattern(15, 2)], ["qa", pattern(16, 1)]]),
      });
    } else if (op === "atomic") {
      // Page 1 changes and page 4 appears, then the invalid record key aborts the batch: none of it may show.
      let code = "none";
      try {
        s.apply({ pages: new Map([[1, pattern(99, 4096)], [4, pattern(4, 4096)]]), records: new Map([["q/0000000000000003", pattern(13, 10)], ["", pattern(1, 1)]]) });
      } catch (e) {
        code = (e as { code?: string }).code ?? String(e);
      }
      return Response.json({ code, state: await this.state() });
    } else if (op === "truncate") {
      s.apply({ pages: new Map([[3, null]]), records: new Map([["q/0000000000000001", null]]) });
    } else if (op !== "read") return new Response("unknown op", { status: 404 });
    return Response.json(await this.state());
  }
}

export default {
  async fetch(req: Request, env: { DBO: { idFromName(n: string): unknown; get(id: unknown): { fetch(r: Request): Promise<Response> } } }): Promise<Response> {
    return env.DBO.get(env.DBO.idFromName("one")).fetch(req);
  },
};
