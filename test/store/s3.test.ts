import { describe, it, expect } from "vitest";
import { S3Store, encodeRfc3986, parseRetryAfter } from "../../lib/store/s3.ts";
import { md5, base64 } from "../../lib/store/md5.ts";
import { parseListObjectsV2 } from "../../lib/store/s3-xml.ts";
import { storeSuite } from "./suite.ts";
import { httpFetch } from "../../lib/adapters/http-fetch.ts";
import { haveS3, s3env, skipS3 } from "./s3-env.ts";

const PART = 5 * 1024 * 1024;

describe("S3 helpers", () => {
  it("computes MD5 like RFC 1321", () => {
    const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    expect(hex(md5(new Uint8Array(0)))).toBe("d41d8cd98f00b204e9800998ecf8427e");
    expect(hex(md5(new TextEncoder().encode("The quick brown fox jumps over the lazy dog")))).toBe("9e107d9d372bb6826bd81d3542a419d6");
    expect(base64(md5(new TextEncoder().encode("a".repeat(1000))))).toBe("yr5F3MmuW2a6hmAMymuLqA==");
  });
  it("encodes queries as SigV4 wants", () => {
    expect(encodeRfc3986("a b+c/d*(e)!'")).toBe("a%20b%2Bc%2Fd%2A%28e%29%21%27");
  });
  it("reads Retry-After as delta-seconds or an HTTP date, and ignores anything else", () => {
    const now = Date.parse("2026-03-01T10:00:00Z");
    expect(parseRetryAfter("2", now)).toBe(2000);
    expect(parseRetryAfter(" 120 ", now)).toBe(120_000);
    expect(parseRetryAfter("0", now)).toBe(0);
    expect(parseRetryAfter("Sun, 01 Mar 2026 10:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Sun, 01 Mar 2026 09:59:00 GMT", now)).toBe(0);
    for (const bad of [null, "", "-1", "1.5", "soon", "12345678901", "2026-03-01"]) expect(parseRetryAfter(bad, now), String(bad)).toBe(0);
  });
  it("parses ListObjectsV2 with entities", () => {
    const p = parseListObjectsV2(`<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a &amp; b&#x2713;</Key><Size>3</Size><ETag>&quot;abc&quot;</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents><NextContinuationToken>tok/+=</NextContinuationToken></ListBucketResult>`);
    expect(p.objects).toEqual([{ key: "a & b✓", size: 3, etag: "abc", lastModified: new Date("2026-01-01T00:00:00.000Z") }]);
    expect(p.isTruncated).toBe(true);
    expect(p.nextContinuationToken).toBe("tok/+=");
  });
});

const make = () => new S3Store({ ...s3env, partSize: PART });

describe.skipIf(skipS3)("S3 store on a real server (Ceph RGW)", () => {
  it("has a server configured", () => {
    expect(haveS3, "LTXKIT_S3_ENDPOINT/LTXKIT_S3_BUCKET/AWS_* must be set (bash conformance/s3/ceph-rgw.sh start)").toBe(true);
  });

  it("reports rejected credentials as STORE_AUTH without leaking them", async () => {
    const bad = new S3Store({ ...s3env, secretAccessKey: "definitely-wrong-secret", retries: 0 });
    const err = await bad.get("x").catch((e) => e);
    expect(err.code).toBe("STORE_AUTH");
    expect(err.message).not.toContain("definitely-wrong-secret");
    expect(err.message).not.toContain("X-Amz-Signature");
  });

  it("reports an unreachable endpoint as STORE_ERROR after bounded retries", async () => {
    const stats: Record<string, number> = {};
    const dead = new S3Store({ ...s3env, endpoint: "http://127.0.0.1:9", retries: 2, timeoutMs: 2000, stats });
    const err = await dead.get("x").catch((e) => e);
    expect(err.code).toBe("STORE_ERROR");
    expect(stats.GET).toBe(1);
    expect(err.message).toMatch(/after 3 attempts/);
  });

  it("lists more than 1000 keys across pages", async () => {
    const s = make();
    const p = `pages-${Date.now().toString(36)}/`;
    const keys = Array.from({ length: 1203 }, (_, i) => `${p}${i.toString().padStart(5, "0")}`);
    let i = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (i < keys.length) await s.put(keys[i++]!, new Uint8Array([1]));
    }));
    const listed: string[] = [];
    for await (const b of s.list(p)) listed.push(b.key);
    expect(listed).toEqual(keys);
    await s.delete(keys);
    const after: string[] = [];
    for await (const b of s.list(p)) after.push(b.key);
    expect(after).toEqual([]);
  });

  it("uploads a stream larger than the part size in bounded parts", async () => {
    const stats: Record<string, number> = {};
    const s = new S3Store({ ...s3env, partSize: PART, stats });
    const total = PART * 3 + 777;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= total) return c.close();
        const n = Math.min(1 << 20, total - sent);
        const chunk = new Uint8Array(n).fill((sent >> 20) & 0xff);
        sent += n;
        c.enqueue(chunk);
      },
    });
    const r = await s.put("stream/big.bin", body);
    expect(r.size).toBe(total);
    expect(r.etag).toMatch(/-4$/);
    expect(stats.POST).toBe(2); // create + complete
    expect(stats.PUT).toBe(4);
    const tail = await s.get("stream/big.bin", { offset: total - 10 });
    expect(tail).toEqual(new Uint8Array(10).fill(((total - 1) >> 20) & 0xff));
    await s.delete(["stream/big.bin"]);
  });
});

const suiteStats: Record<string, number> = {};
storeSuite("s3 (Ceph RGW)", () => new S3Store({ ...s3env, partSize: PART, stats: suiteStats }), { partSize: PART, metadata: true, skip: skipS3, stats: suiteStats });

describe("S3 store deadlines (local stalling server)", () => {
  it("times out a request that gets no answer, and a body that stalls, as TIMEOUT after bounded retries", async () => {
    const { createServer } = await import("node:http");
    let hits = 0;
    const server = createServer((req, res) => {
      hits++;
      if (req.url?.includes("stall-body")) {
        res.writeHead(200, { "content-length": "100" });
        res.write("x"); // then nothing
      }
      // otherwise never answer
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      // Attempts are counted where they are sent: a starved process may fire the 300 ms timer
      // before the server saw the request, so the server's count can fall short.
      let attempts = 0;
      const counted: typeof fetch = (...a) => (attempts++, fetch(...a));
      const s = new S3Store({ bucket: "b", endpoint: `http://127.0.0.1:${port}`, accessKeyId: "AK", secretAccessKey: "SK", timeoutMs: 300, retries: 1, fetch: counted });
      await expect(s.get("no-answer")).rejects.toMatchObject({ code: "TIMEOUT" });
      expect(attempts).toBe(2);
      await expect(s.get("stall-body")).rejects.toMatchObject({ code: "TIMEOUT" });
      expect(attempts).toBe(4);
      expect(hits).toBeGreaterThan(0);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

// The same conformance suite with requests sent over node:http, as the Node CLI sends them.
const httpStats: Record<string, number> = {};
storeSuite("s3 (Ceph RGW) over node:http", () => new S3Store({ ...s3env, partSize: PART, fetch: httpFetch, stats: httpStats }), { partSize: PART, metadata: true, skip: skipS3, stats: httpStats });
