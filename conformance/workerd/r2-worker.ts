// R2Store on a real bucket binding inside workerd.
import { R2Store, type R2BucketLike } from "../../lib/store/r2.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export default {
  async fetch(_req: Request, env: { BUCKET: R2BucketLike }): Promise<Response> {
    const s = new R2Store(env.BUCKET, { listLimit: 7, deleteBatch: 10 });
    const p = `w-${Date.now()}/`;
    await s.put(p + "r", enc.encode("0123456789"));
    const range = dec.decode((await s.get(p + "r", { offset: 2, length: 3 }))!);
    const tail = dec.decode((await s.get(p + "r", { offset: 8, length: 100 }))!);
    const past = (await s.get(p + "r", { offset: 20 }))!.length;
    const keys = Array.from({ length: 25 }, (_, i) => `${p}k/${String(i).padStart(3, "0")}`);
    for (const k of keys) await s.put(k, enc.encode(k));
    const listed: string[] = [];
    for await (const b of s.list(p + "k/")) listed.push(b.key);
    if (listed.join() !== keys.join()) throw new Error(`list order: ${listed.join()}`);
    const code = (e: unknown) => (e as { code?: string }).code;
    const created = await s.put(p + "r", enc.encode("x"), { ifNoneMatch: "*" }).then(() => "ok", code);
    const v1 = (await s.head(p + "r"))!.etag;
    const v2 = await s.put(p + "r", enc.encode("v2"), { ifMatch: v1 });
    const stale = await s.put(p + "r", enc.encode("v3"), { ifMatch: v1 }).then(() => "ok", code);
    const casOk = dec.decode((await s.get(p + "r"))!) === "v2" && v2.etag !== v1;
    await s.delete(keys);
    let after = 0;
    for await (const _ of s.list(p + "k/")) after++;
    const missing = await s.get(p + "nothing");
    return Response.json({ range, tail, past, listed: listed.length, created, stale, casOk, after, missing });
  },
};
