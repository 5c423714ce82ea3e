/**
 * OpfsStore in headless Chromium: the shared BlobStore conformance suite (the same cases as
 * test/store/*) run against an OpfsStore inside the page, plus what is particular to OPFS: the
 * directory layout, objects surviving a reload, a second store on the same directory seeing the
 * first one's writes, and create-if-absent races between two stores of one origin.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeSuite } from "../test/store/suite.ts";
import { openBrowser, rpc, skipBrowser, type BrowserSession } from "./browser/harness.ts";
import { BrowserProxyStore } from "./browser/proxy-store.ts";

let session: BrowserSession | undefined;
let opening: Promise<BrowserSession> | undefined;
const browser = () => (opening ??= openBrowser().then((s) => (session = s)));
afterAll(async () => {
  await session?.close();
});

storeSuite("opfs (headless Chromium)", async () => {
  const s = await browser();
  await rpc(s, "openOpfs", "suite", { dir: "suite" });
  return new BrowserProxyStore(s, "suite", "opfs");
}, { metadata: true, chunked: true, skip: skipBrowser, callbacks: false });

describe.skipIf(skipBrowser)("OpfsStore in headless Chromium: layout, reload, two stores", () => {
  let s: BrowserSession;
  beforeAll(async () => {
    s = await browser();
  });

  it("lays keys out as nested directories (segment + %2F) with escaped names, and a key and a key below it side by side", async () => {
    await rpc(s, "openOpfs", "lay", { dir: "layout" });
    const st = new BrowserProxyStore(s, "lay", "opfs");
    await st.put("ltx/0/0000000000000001-0000000000000001.ltx", new Uint8Array([1]));
    await st.put("a", new Uint8Array([2]));
    await st.put("a/b", new Uint8Array([3]));
    await st.put("x/100%/..", new Uint8Array([4]));
    await st.put("x/end/", new Uint8Array([5]));
    expect(await rpc(s, "listOpfs", "layout")).toEqual([
      "a",
      "a%2F/b",
      "ltx%2F/0%2F/0000000000000001-0000000000000001.ltx",
      "x%2F/100%25%2F/%2E%2E",
      "x%2F/end%2F/%",
    ]);
    const keys: string[] = [];
    for await (const b of st.list("")) keys.push(b.key);
    expect(keys).toEqual(["a", "a/b", "ltx/0/0000000000000001-0000000000000001.ltx", "x/100%/..", "x/end/"]);
    expect(await st.get("x/100%/..")).toEqual(new Uint8Array([4]));
    expect(await st.get("x/end/")).toEqual(new Uint8Array([5]));
    expect(await st.get("x/end")).toBeNull();
  });

  it("keeps objects, ETags and metadata across a page reload", async () => {
    await rpc(s, "openOpfs", "rl", { dir: "reload" });
    const st = new BrowserProxyStore(s, "rl", "opfs");
    const data = new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff);
    const put = await st.put("db/ltx/0/a.ltx", data, { metadata: { "litestream-timestamp": "2026-01-01T00:00:00Z" } });
    await s.reload();
    await rpc(s, "openOpfs", "rl", { dir: "reload" });
    expect(await st.get("db/ltx/0/a.ltx")).toEqual(data);
    const h = await st.head("db/ltx/0/a.ltx");
    expect(h).toMatchObject({ size: 70_000, etag: put.etag, metadata: { "litestream-timestamp": "2026-01-01T00:00:00Z" } });
  });

  it("two stores on one directory: each sees the other's writes; of 8 overlapping create-if-absent puts from both exactly one wins, of 8 overlapping If-Match puts on one ETag exactly one wins", async () => {
    await rpc(s, "openOpfs", "two-a", { dir: "two" });
    await rpc(s, "openOpfs", "two-b", { dir: "two" });
    const a = new BrowserProxyStore(s, "two-a", "opfs");
    const b = new BrowserProxyStore(s, "two-b", "opfs");
    const r = await a.put("k", new Uint8Array([9]));
    expect((await b.head("k"))?.etag).toBe(r.etag);
    const ids = ["two-a", "two-b", "two-a", "two-b", "two-a", "two-b", "two-a", "two-b"];
    type Res = { ok: boolean; etag?: string; code?: string };
    const create = (await rpc(s, "racePuts", ids, "lock", { ifNoneMatch: "*" })) as Res[];
    expect(create.filter((x) => x.ok).length).toBe(1);
    expect(create.filter((x) => !x.ok).map((x) => x.code)).toEqual(Array(7).fill("PRECONDITION_FAILED"));
    const winner = create.findIndex((x) => x.ok);
    expect(new TextDecoder().decode((await a.get("lock"))!)).toBe(`w${winner}`);
    const cas = (await rpc(s, "racePuts", ids, "lock", { ifMatch: create[winner]!.etag })) as Res[];
    expect(cas.filter((x) => x.ok).length).toBe(1);
    expect(cas.filter((x) => !x.ok).map((x) => x.code)).toEqual(Array(7).fill("PRECONDITION_FAILED"));
    expect(new TextDecoder().decode((await b.get("lock"))!)).toBe(`w${cas.findIndex((x) => x.ok)}`);
  });

  it("a file the store did not write is an IO_ERROR naming its key and what is wrong; an empty file (a put not yet committed) is absent", async () => {
    await rpc(s, "openOpfs", "foreign", { dir: "foreign" });
    const st = new BrowserProxyStore(s, "foreign", "opfs");
    const te = new TextEncoder();
    /** "LTXO", a little-endian u32 length, then the bytes given. */
    const framed = (len: number, rest: string) => {
      const b = new Uint8Array(8 + rest.length);
      b.set(te.encode("LTXO"));
      new DataView(b.buffer).setUint32(4, len, true);
      b.set(te.encode(rest), 8);
      return b;
    };
    const files: [string, Uint8Array, string][] = [
      ["junk", te.encode("hello, world"), "bad magic"],
      ["short", framed(1000, "{}"), "metadata length 1000"],
      ["nojson", framed(5, "{oops"), "metadata is not JSON"],
      ["fields", framed(10, '{"etag":1}'), "metadata fields"],
    ];
    for (const [name, bytes] of files) await rpc(s, "writeOpfsFile", "foreign", name, Buffer.from(bytes).toString("base64"));
    await rpc(s, "writeOpfsFile", "foreign", "empty", "");
    for (const [name, , why] of files) {
      await expect(st.get(name), name).rejects.toMatchObject({ code: "IO_ERROR", message: expect.stringContaining(`"${name}": not an object file of OpfsStore (${why})`) });
      await expect(st.head(name), name).rejects.toMatchObject({ code: "IO_ERROR" });
    }
    expect(await st.get("empty")).toBeNull();
    expect(await st.head("empty")).toBeNull();
    await st.put("ok", new Uint8Array([1, 2, 3]));
    expect(await st.get("ok")).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("refuses malformed keys and ranges with INVALID_ARGUMENT", async () => {
    await rpc(s, "openOpfs", "bad", { dir: "bad" });
    const st = new BrowserProxyStore(s, "bad", "opfs");
    await expect(st.put("", new Uint8Array(1))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(st.put("a\0b", new Uint8Array(1))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await st.put("r", new Uint8Array(4));
    await expect(st.get("r", { offset: -1 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
