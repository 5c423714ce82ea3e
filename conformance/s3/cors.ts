/**
 * Sets the test bucket's CORS rule (PutBucketCors, signed with the test keys), so pages served from
 * http://127.0.0.1:<any port> may call it with fetch. The rule is what the README's "S3 from a
 * browser" section asks of a bucket: the methods the S3 store sends, any request header (SigV4's
 * authorization and x-amz-*, conditions, range, x-amz-meta-*), and every response header exposed
 * (ETag above all; Content-Range, x-amz-meta-*).
 */
import { AwsClient } from "aws4fetch";
import { base64, md5 } from "../../lib/store/md5.ts";

export const TEST_ORIGINS = "http://127.0.0.1:*";

export function corsXml(origin: string): string {
  const methods = ["GET", "HEAD", "PUT", "POST", "DELETE"].map((m) => `<AllowedMethod>${m}</AllowedMethod>`).join("");
  return `<CORSConfiguration><CORSRule><AllowedOrigin>${origin}</AllowedOrigin>${methods}<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><ExposeHeader>Content-Range</ExposeHeader><ExposeHeader>Content-Length</ExposeHeader><ExposeHeader>Last-Modified</ExposeHeader><ExposeHeader>x-amz-meta-litestream-timestamp</ExposeHeader><ExposeHeader>x-amz-meta-other</ExposeHeader><ExposeHeader>x-amz-request-id</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>`;
}

/** PutBucketCors on the bucket; returns the rule the server then reports (GetBucketCors). */
export async function putBucketCors(env: { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string; region: string }, origin = TEST_ORIGINS): Promise<string> {
  const c = new AwsClient({ accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey, region: env.region, service: "s3" });
  const url = `${env.endpoint.replace(/\/$/, "")}/${encodeURIComponent(env.bucket)}?cors`;
  const body = new TextEncoder().encode(corsXml(origin));
  const put = await c.fetch(url, { method: "PUT", body, headers: { "content-md5": base64(md5(body)), "content-type": "application/xml" } });
  if (put.status !== 200) throw new Error(`PutBucketCors: HTTP ${put.status}: ${await put.text()}`);
  const get = await c.fetch(url);
  if (get.status !== 200) throw new Error(`GetBucketCors: HTTP ${get.status}`);
  return get.text();
}
