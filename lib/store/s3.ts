/**
 * A BlobStore on S3 and S3-compatible servers, over `fetch`, signed with aws4fetch (SigV4). No AWS SDK.
 *
 * - Path-style URLs for custom endpoints, virtual-hosted style for AWS.
 * - No flexible-checksum headers and no aws-chunked bodies (the failures R2, B2 and Tigris showed).
 * - PutObject up to `partSize`; above it a multipart upload with bounded memory
 *   (`partSize × partConcurrency`), aborted on failure.
 * - DeleteObjects in batches of 1000 with Content-MD5.
 * - Bounded retries with exponential backoff and jitter on 5xx, 429, 408 and network errors; a
 *   `Retry-After` (seconds or an HTTP date) on such an answer is waited out before the next attempt,
 *   up to `maxRetryAfterMs`. A timeout per request; a streamed body that delivers nothing for that
 *   long fails with TIMEOUT; a whole body shorter than its Content-Length is retried. Errors name
 *   method, key and status but never credentials or signed URLs.
 */
import { AwsClient } from "aws4fetch";
import { LtxError, type ErrorCode } from "../errors.ts";
import type { BlobInfo, BlobStore, ByteRange, DeleteOptions, GetOptions, ListOptions, PutBody, PutOptions } from "./blob-store.ts";
import { iterateChunks } from "../util/chunks.ts";
import { sleep } from "../util/sleep.ts";
import { base64, md5 } from "./md5.ts";
import { unquote } from "./memory.ts";
import { blocks, parseError, parseListObjectsV2, tag, xmlEscape } from "./s3-xml.ts";
import { anySignal, chunksOf, emptyStream, guardBody, metaHeaders, parseRetryAfter, rangeHeader, readPart, writeHeaders } from "./s3-http.ts";

export { parseRetryAfter } from "./s3-http.ts";

/** Options of S3Store: bucket, endpoint, credentials, multipart and retry settings. */
export interface S3StoreOptions {
  bucket: string;
  /** Custom endpoint (`http://127.0.0.1:7480`); absent means AWS. */
  endpoint?: string;
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Default: true with a custom endpoint, false for AWS. */
  forcePathStyle?: boolean;
  /** Multipart threshold and part size in bytes (default 5 MiB, the S3 minimum). */
  partSize?: number;
  /** Parts uploaded at once (default 4). */
  partConcurrency?: number;
  /** Retries after the first attempt (default 5). */
  retries?: number;
  /**
   * Per-request timeout in ms (default 60 000): for the answer and a whole body, or, for a streamed
   * body, the longest wait for its next chunk.
   */
  timeoutMs?: number;
  /** The longest `Retry-After` honoured, in ms (default 30 000); a longer one waits this long. */
  maxRetryAfterMs?: number;
  /** Counts requests by method, for measurements. */
  stats?: Record<string, number>;
  /** Sends a signed request (default: the global fetch). Runtime adapters may pass a leaner one. */
  fetch?: (request: Request) => Promise<Response>;
}

const MIN_PART = 5 * 1024 * 1024;
/** Bodies #send already read, so callers take them without another copy. */
const bodies = new WeakMap<Response, Uint8Array>();
const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** RFC 3986 encoding, as SigV4 canonicalises (spaces are %20, never +). */
export function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

interface Req {
  method: string;
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array;
  signal?: AbortSignal;
  /** Statuses handed back to the caller instead of becoming errors. */
  pass?: number[];
  /** The caller streams the body: the timeout covers the response headers only. */
  streaming?: boolean;
  /** Runs right before each attempt is sent (PutOptions.beforeCommit); what it throws ends the request. */
  check?: () => void;
}

/** A BlobStore on S3 or an S3-compatible server, over fetch, signed with aws4fetch. */
export class S3Store implements BlobStore {
  readonly kind = "s3";
  readonly bucket: string;
  #client: AwsClient;
  #base: string;
  #pathStyle: boolean;
  #partSize: number;
  #partConcurrency: number;
  #retries: number;
  #timeoutMs: number;
  #maxRetryAfterMs: number;
  #stats?: Record<string, number>;
  #fetch: ((request: Request) => Promise<Response>) | undefined;

  constructor(o: S3StoreOptions) {
    if (!o.bucket) throw new LtxError("INVALID_ARGUMENT", "S3 store: bucket required");
    this.bucket = o.bucket;
    const region = o.region || "us-east-1";
    this.#client = new AwsClient({ accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey, sessionToken: o.sessionToken, service: "s3", region, retries: 0 });
    this.#pathStyle = o.forcePathStyle ?? Boolean(o.endpoint);
    const endpoint = (o.endpoint ?? `https://s3.${region}.amazonaws.com`).replace(/\/+$/, "");
    if (this.#pathStyle) this.#base = `${endpoint}/${encodeRfc3986(o.bucket)}`;
    else {
      const u = new URL(endpoint);
      this.#base = `${u.protocol}//${o.bucket}.${u.host}`;
    }
    this.#partSize = Math.max(o.partSize ?? MIN_PART, 1);
    this.#partConcurrency = Math.max(1, o.partConcurrency ?? 4);
    this.#retries = o.retries ?? 5;
    this.#timeoutMs = o.timeoutMs ?? 60_000;
    this.#maxRetryAfterMs = Math.max(0, o.maxRetryAfterMs ?? 30_000);
    if (o.stats) this.#stats = o.stats;
    this.#fetch = o.fetch;
  }

  async get(key: string, range?: ByteRange, opts: GetOptions = {}): Promise<Uint8Array | null> {
    if (range?.length === 0) return (await this.head(key, opts)) ? new Uint8Array(0) : null;
    const res = await this.#send({ method: "GET", key, headers: rangeHeader(range), signal: opts.signal, pass: [404, 416] });
    if (res.status === 404) return null;
    if (res.status === 416) return (await this.head(key, opts)) ? new Uint8Array(0) : null;
    return bodies.get(res)!;
  }

  async getStream(key: string, range?: ByteRange, opts: GetOptions = {}): Promise<ReadableStream<Uint8Array> | null> {
    if (range?.length === 0) return (await this.head(key, opts)) ? emptyStream() : null;
    const res = await this.#send({ method: "GET", key, headers: rangeHeader(range), signal: opts.signal, pass: [404, 416], streaming: true });
    if (res.status === 404) return null;
    if (res.status === 416) return (await this.head(key, opts)) ? emptyStream() : null;
    if (!res.body) return emptyStream();
    const declared = res.headers.get("content-length");
    const expected = declared !== null && /^\d+$/.test(declared) && !res.headers.get("content-encoding") ? Number(declared) : undefined;
    return guardBody(res.body, this.#timeoutMs, `s3 GET ${JSON.stringify(key)}`, expected);
  }

  async head(key: string, opts: GetOptions = {}): Promise<BlobInfo | null> {
    const res = await this.#send({ method: "HEAD", key, signal: opts.signal, pass: [404] });
    if (res.status === 404) return null;
    const metadata: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      if (k.toLowerCase().startsWith("x-amz-meta-")) metadata[k.toLowerCase().slice(11)] = v;
    });
    return {
      key,
      size: Number(res.headers.get("content-length") ?? 0),
      etag: unquote(res.headers.get("etag") ?? ""),
      lastModified: new Date(res.headers.get("last-modified") ?? 0),
      metadata,
    };
  }

  async put(key: string, body: PutBody, opts: PutOptions = {}): Promise<{ etag: string; size: number }> {
    if (body instanceof Uint8Array && body.length <= this.#partSize) return this.#putObject(key, body, opts);
    // Read up to one part; small streams become one PutObject, larger ones a multipart upload.
    const it = body instanceof Uint8Array ? chunksOf(body, this.#partSize) : iterateChunks(body)[Symbol.asyncIterator]();
    const first = await readPart(it, this.#partSize);
    if (first.length < this.#partSize) return this.#putObject(key, first, opts);
    const second = await readPart(it, this.#partSize);
    if (second.length === 0) return this.#putObject(key, first, opts);
    return this.#multipart(key, [first, second], it, opts);
  }

  async #putObject(key: string, data: Uint8Array, opts: PutOptions): Promise<{ etag: string; size: number }> {
    const res = await this.#send({ method: "PUT", key, body: data, headers: { ...writeHeaders(opts), "content-md5": base64(md5(data)) }, signal: opts.signal, check: opts.beforeCommit });
    return { etag: unquote(res.headers.get("etag") ?? ""), size: data.length };
  }

  async #multipart(key: string, lead: Uint8Array[], rest: AsyncIterator<Uint8Array>, opts: PutOptions): Promise<{ etag: string; size: number }> {
    const create = await this.#send({ method: "POST", key, query: { uploads: "" }, headers: metaHeaders(opts), signal: opts.signal });
    const uploadId = tag(bodyText(create), "UploadId");
    if (!uploadId) throw new LtxError("STORE_ERROR", `s3 CreateMultipartUpload ${JSON.stringify(key)}: no UploadId in response`);
    const etags: string[] = [];
    let size = 0;
    try {
      const inflight = new Set<Promise<void>>();
      let partNo = 0;
      const next = async () => lead.shift() ?? (await readPart(rest, this.#partSize));
      let part: Uint8Array = await next();
      while (part.length > 0) {
        const n = ++partNo;
        const data: Uint8Array = part;
        size += data.length;
        const p: Promise<void> = this.#send({ method: "PUT", key, query: { partNumber: String(n), uploadId }, body: data, headers: { "content-md5": base64(md5(data)) }, signal: opts.signal })
          .then((r) => void (etags[n - 1] = unquote(r.headers.get("etag") ?? "")))
          .finally(() => inflight.delete(p));
        inflight.add(p);
        if (inflight.size >= this.#partConcurrency) await Promise.race(inflight);
        part = await next();
      }
      await Promise.all(inflight);
      const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>"${xmlEscape(e)}"</ETag></Part>`).join("")}</CompleteMultipartUpload>`;
      const headers: Record<string, string> = {};
      if (opts.ifNoneMatch) headers["if-none-match"] = "*";
      if (opts.ifMatch !== undefined) headers["if-match"] = unquote(opts.ifMatch);
      const done = await this.#send({ method: "POST", key, query: { uploadId }, body: new TextEncoder().encode(xml), headers, signal: opts.signal, check: opts.beforeCommit });
      const text = bodyText(done);
      if (/<Error>/.test(text)) throw this.#error("CompleteMultipartUpload", key, 200, text);
      let etag = unquote(tag(text, "ETag") || done.headers.get("etag") || "");
      // Some servers (Ceph RGW) answer with an empty <ETag/>; ask for it.
      if (!etag) etag = (await this.head(key, opts))?.etag ?? "";
      return { etag, size };
    } catch (e) {
      await this.#send({ method: "DELETE", key, query: { uploadId }, pass: [404] }).catch(() => {});
      throw e;
    }
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<BlobInfo> {
    let token: string | undefined;
    do {
      const query: Record<string, string> = { "list-type": "2", prefix };
      if (token) query["continuation-token"] = token;
      else if (opts.startAfter !== undefined) query["start-after"] = opts.startAfter;
      const res = await this.#send({ method: "GET", query, signal: opts.signal });
      const page = parseListObjectsV2(bodyText(res));
      for (const o of page.objects) yield o;
      token = page.isTruncated ? page.nextContinuationToken : undefined;
      if (page.isTruncated && !token) throw new LtxError("STORE_ERROR", `s3 ListObjectsV2 ${JSON.stringify(prefix)}: truncated listing without a continuation token`);
    } while (token);
  }

  async delete(keys: readonly string[], opts: DeleteOptions = {}): Promise<void> {
    if (opts.ifMatch !== undefined) {
      if (keys.length !== 1) throw new LtxError("INVALID_ARGUMENT", "conditional delete takes exactly one key");
      const key = keys[0]!;
      // Not every S3 server honours If-Match on DELETE; check first so a stale ETag always loses.
      const cur = await this.head(key, opts);
      if (!cur) return;
      if (cur.etag !== unquote(opts.ifMatch)) throw new LtxError("PRECONDITION_FAILED", `s3 DELETE ${JSON.stringify(key)}: precondition failed: etag does not match`);
      await this.#send({ method: "DELETE", key, headers: { "if-match": unquote(opts.ifMatch) }, signal: opts.signal, pass: [404], check: opts.beforeCommit });
      return;
    }
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const xml = `<Delete><Quiet>false</Quiet>${batch.map((k) => `<Object><Key>${xmlEscape(k)}</Key></Object>`).join("")}</Delete>`;
      const body = new TextEncoder().encode(xml);
      const res = await this.#send({ method: "POST", query: { delete: "" }, body, headers: { "content-md5": base64(md5(body)), "content-type": "application/xml" }, signal: opts.signal, check: opts.beforeCommit });
      const errs = blocks(bodyText(res), "Error").filter((b) => tag(b, "Code") !== "NoSuchKey");
      if (errs.length) {
        const b = errs[0]!;
        throw new LtxError("STORE_ERROR", `s3 DeleteObjects: ${errs.length} of ${batch.length} keys failed; first ${JSON.stringify(tag(b, "Key"))}: ${tag(b, "Code")} ${tag(b, "Message") ?? ""}`.trim());
      }
    }
  }

  #url(key?: string, query?: Record<string, string>): string {
    let u = this.#base + "/" + (key ? key.split("/").map(encodeRfc3986).join("/") : "");
    if (query) {
      const q = Object.entries(query)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => (v === "" && (k === "uploads" || k === "delete") ? encodeRfc3986(k) : `${encodeRfc3986(k)}=${encodeRfc3986(v)}`))
        .join("&");
      u += "?" + q;
    }
    return u;
  }

  /** Sends one request with retries; returns the response for 2xx and `pass` statuses. */
  async #send(r: Req): Promise<Response> {
    const what = r.key !== undefined ? `${r.method} ${JSON.stringify(r.key)}` : `${r.method} ${r.query?.["list-type"] ? "ListObjectsV2" : r.query && "delete" in r.query ? "DeleteObjects" : "bucket"}`;
    if (this.#stats) this.#stats[r.method] = (this.#stats[r.method] ?? 0) + 1;
    let lastErr: unknown;
    let retryAfter = 0;
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      if (attempt > 0) await sleep(Math.max(retryAfter, Math.min(5000, 100 * 2 ** (attempt - 1)) * (0.5 + Math.random())), r.signal);
      retryAfter = 0;
      r.check?.();
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(new LtxError("TIMEOUT", "request timed out")), this.#timeoutMs);
      const timeout = ctl.signal;
      const signal = r.signal ? anySignal([r.signal, timeout]) : timeout;
      let res: Response;
      try {
        const init: RequestInit = { method: r.method, headers: r.headers ?? {}, signal };
        if (r.body) init.body = r.body as Uint8Array<ArrayBuffer>;
        const url = this.#url(r.key, r.query);
        res = this.#fetch ? await this.#fetch(await this.#client.sign(url, init)) : await this.#client.fetch(url, init);
        if (r.streaming) clearTimeout(timer);
      } catch (e) {
        clearTimeout(timer);
        if (r.signal?.aborted) throw new LtxError("ABORTED", `s3 ${what}: aborted`, { cause: e });
        lastErr = timeout.aborted
          ? new LtxError("TIMEOUT", `s3 ${what}: no answer within ${this.#timeoutMs} ms`, { cause: e })
          : new LtxError("STORE_ERROR", `s3 ${what}: network error: ${(e as Error).message}`, { cause: e });
        continue;
      }
      if ((res.status >= 200 && res.status < 300) || r.pass?.includes(res.status)) {
        if (!r.streaming) {
          // Whole-body callers read within the same deadline; a failed read is retried.
          let body: Uint8Array;
          try {
            body = new Uint8Array(await res.arrayBuffer());
          } catch (e) {
            clearTimeout(timer);
            if (r.signal?.aborted) throw new LtxError("ABORTED", `s3 ${what}: aborted`, { cause: e });
            lastErr = timeout.aborted
              ? new LtxError("TIMEOUT", `s3 ${what}: body not received within ${this.#timeoutMs} ms`, { cause: e })
              : new LtxError("STORE_ERROR", `s3 ${what}: reading body: ${(e as Error).message}`, { cause: e });
            continue;
          }
          clearTimeout(timer);
          const declared = res.headers.get("content-length");
          if (r.method !== "HEAD" && declared !== null && !res.headers.get("content-encoding") && Number(declared) !== body.length) {
            lastErr = new LtxError("STORE_ERROR", `s3 ${what}: body of ${body.length} bytes, Content-Length ${declared}`);
            continue;
          }
          // The body stays out of the Response (which would copy it); bodyText() and get() take it.
          const buffered = new Response(null, { status: res.status, headers: res.headers });
          bodies.set(buffered, body);
          return buffered;
        }
        return res;
      }
      clearTimeout(timer);
      const text = await res.text().catch(() => "");
      lastErr = this.#error(what, r.key, res.status, text);
      if (!RETRY_STATUS.has(res.status)) throw lastErr;
      retryAfter = Math.min(this.#maxRetryAfterMs, parseRetryAfter(res.headers.get("retry-after"), Date.now()));
    }
    throw lastErr instanceof LtxError ? lastErr.wrap(`after ${this.#retries + 1} attempts`) : lastErr;
  }

  #error(what: string, _key: string | undefined, status: number, body: string): LtxError {
    const { code, message } = parseError(body);
    let c: ErrorCode = "STORE_ERROR";
    if (status === 412 || code === "PreconditionFailed") c = "PRECONDITION_FAILED";
    else if (status === 403 || status === 401 || code === "SignatureDoesNotMatch" || code === "InvalidAccessKeyId") c = "STORE_AUTH";
    else if (status === 404 && code === "NoSuchBucket") c = "NOT_FOUND";
    const detail = [code, message].filter(Boolean).join(": ");
    return new LtxError(c, `s3 ${what}: HTTP ${status}${detail ? ` ${detail}` : ""}`, { details: { status, s3Code: code, bucket: this.bucket } });
  }
}

/** A body #send read, as text. */
function bodyText(res: Response): string {
  return new TextDecoder().decode(bodies.get(res));
}
