/**
 * The S3 store over the browser's own fetch, against Ceph RGW from a page on another origin: the
 * bucket gets the CORS rule the README states (PutBucketCors), then the shared BlobStore conformance
 * suite (put, ranged get, list, conditional puts and deletes, metadata, a 3-part multipart upload)
 * runs on an S3Store inside headless Chromium. Control: a page on an origin the rule does not allow
 * (localhost) fails with STORE_ERROR, so the rule is what makes the browser store work.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeSuite } from "../test/store/suite.ts";
import { s3env, skipS3 } from "../test/store/s3-env.ts";
import { openBrowser, rpc, skipBrowser, type BrowserSession } from "./browser/harness.ts";
import { BrowserProxyStore } from "./browser/proxy-store.ts";
import { putBucketCors } from "./s3/cors.ts";

const PART = 5 * 1024 * 1024;
const skip = skipBrowser || skipS3;
let session: BrowserSession | undefined;
let opening: Promise<BrowserSession> | undefined;
const browser = () =>
  (opening ??= (async () => {
    const rule = await putBucketCors(s3env);
    if (!rule.includes("<ExposeHeader>ETag</ExposeHeader>")) throw new Error(`CORS rule not in place: ${rule}`);
    return (session = await openBrowser());
  })());
afterAll(async () => {
  await session?.close();
});

storeSuite("s3 (Ceph RGW) over fetch in headless Chromium, by CORS", async () => {
  const s = await browser();
  await rpc(s, "openS3", "s3", { ...s3env, partSize: PART, retries: 1 });
  return new BrowserProxyStore(s, "s3", "s3");
}, { partSize: PART, metadata: true, skip, callbacks: false });

describe.skipIf(skip)("S3 store in headless Chromium: the CORS rule is what lets it in", () => {
  let other: BrowserSession;
  beforeAll(async () => {
    await browser();
    other = await openBrowser({ host: "localhost" });
  });
  afterAll(async () => {
    await other?.close();
  });

  it("from an origin the rule does not name (http://localhost:<port>) every request fails with STORE_ERROR", async () => {
    await rpc(other, "openS3", "s3", { ...s3env, retries: 0 });
    const st = new BrowserProxyStore(other, "s3", "s3");
    await expect(st.get("cors-control/x")).rejects.toMatchObject({ code: "STORE_ERROR" });
    await expect(st.put("cors-control/x", new Uint8Array([1]))).rejects.toMatchObject({ code: "STORE_ERROR" });
  });
});
