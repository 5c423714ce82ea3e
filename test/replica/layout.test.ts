import { describe, it, expect } from "vitest";
import { fileLayout, s3Layout } from "../../lib/replica/layout.ts";
import { cleanPath, openReplica, parseReplicaURL } from "../../lib/replica/url.ts";
import { S3Store, type S3StoreOptions } from "../../lib/store/s3.ts";
import { MemoryStore } from "../../lib/store/memory.ts";

describe("replica layouts", () => {
  it("maps file replicas to ltx/<decimal level>/", () => {
    expect(fileLayout.key(9, 1n, 0x3e8n)).toBe("ltx/9/0000000000000001-00000000000003e8.ltx");
    expect(fileLayout.parseKey("ltx/0/0000000000000002-0000000000000002.ltx")).toEqual({ level: 0, minTXID: 2n, maxTXID: 2n });
    expect(fileLayout.parseKey("ltx/0/0000000000000002-0000000000000002.ltx.tmp")).toBeNull();
    expect(fileLayout.parseKey("ltx/0/0000000000000002-000000000000000A.ltx")).toBeNull();
  });
  it("maps S3 replicas to <prefix>/<%04x>/", () => {
    const l = s3Layout("prod/app.db");
    expect(l.key(0, 1n, 1n)).toBe("prod/app.db/0000/0000000000000001-0000000000000001.ltx");
    expect(l.key(9, 1n, 0x3e8n)).toBe("prod/app.db/0009/0000000000000001-00000000000003e8.ltx");
    expect(l.parseKey("prod/app.db/0002/0000000000000001-0000000000000014.ltx")).toEqual({ level: 2, minTXID: 1n, maxTXID: 20n });
    expect(l.parseKey("prod/app.db/lock.json")).toBeNull();
    expect(() => l.levelPrefix(10)).toThrow(/invalid level/);
  });
  it("parses replica URLs as Litestream does", () => {
    expect(parseReplicaURL("/backups/app.db")).toEqual({ kind: "file", path: "/backups/app.db" });
    expect(parseReplicaURL("file:///backups/app%20x.db")).toEqual({ kind: "file", path: "/backups/app x.db" });
    expect(parseReplicaURL("s3://bkt/prod/./app.db/?endpoint=127.0.0.1:7480&region=eu-west-1&forcePathStyle=true")).toEqual({
      kind: "s3", bucket: "bkt", prefix: "prod/app.db", endpoint: "https://127.0.0.1:7480", region: "eu-west-1", forcePathStyle: true,
    });
    expect(parseReplicaURL("s3://bkt")).toMatchObject({ prefix: "." });
    expect(() => parseReplicaURL("gs://bkt/x")).toThrow(/unsupported/);
    expect(cleanPath("/a//b/../c/")).toBe("/a/c");
  });
  it("rejects a malformed percent-escape in the path or bucket with INVALID_URL, without the credentials", () => {
    for (const url of ["file:///tmp/x%zz", "file:///tmp/%E0%A4%A", "s3://bkt/p%ff/x", "s3://user:secret@b%c3/p"]) {
      let err: unknown;
      try {
        parseReplicaURL(url);
      } catch (e) {
        err = e;
      }
      expect(err, url).toMatchObject({ name: "LtxError", code: "INVALID_URL" });
      expect(String((err as Error).message)).not.toContain("secret");
    }
  });
  it("opens S3 replicas with credentials from the environment and never leaks them", () => {
    let given: S3StoreOptions | undefined;
    const s3Store = (o: S3StoreOptions) => ((given = o), new S3Store(o));
    const r = openReplica("s3://bkt/db?endpoint=http://127.0.0.1:7480", { env: { LITESTREAM_ACCESS_KEY_ID: "AK", LITESTREAM_SECRET_ACCESS_KEY: "SK" }, s3Store });
    expect(r.kind).toBe("s3");
    expect(r.store).toBeInstanceOf(S3Store);
    expect(given).toMatchObject({ bucket: "bkt", accessKeyId: "AK", secretAccessKey: "SK", endpoint: "http://127.0.0.1:7480", region: "us-east-1" });
    expect(JSON.stringify(r.url)).not.toMatch(/AK|SK/);
    expect(r.layout.key(1, 1n, 2n)).toBe("db/0001/0000000000000001-0000000000000002.ltx");
    expect(() => openReplica("s3://bkt/db", { env: {}, s3Store })).toThrow(/credentials missing/);
    // without an injected S3 store the core cannot open s3:// (it never imports aws4fetch itself)
    expect(() => openReplica("s3://bkt/db", { env: { AWS_ACCESS_KEY_ID: "AK", AWS_SECRET_ACCESS_KEY: "SK" } })).toThrow(expect.objectContaining({ code: "UNSUPPORTED" }));
    expect(() => openReplica("/x", {})).toThrow(/runtime adapter/);
    expect(openReplica("/x", { fileStore: () => new MemoryStore() }).kind).toBe("file");
  });
});
