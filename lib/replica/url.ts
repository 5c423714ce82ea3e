/**
 * Replica URLs as Litestream takes them: a plain path or `file:///…`, and
 * `s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=…`. Credentials come from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or LITESTREAM_ACCESS_KEY_ID / LITESTREAM_SECRET_ACCESS_KEY);
 * LITESTREAM_S3_ENDPOINT supplies a default endpoint. Stores are injected: the file store by a runtime
 * adapter, the S3 store by `ltxkit/s3`, so opening a replica pulls in neither by itself.
 */
import { LtxError } from "../errors.ts";
import type { BlobStore } from "../store/blob-store.ts";
import { MemoryStore } from "../store/memory.ts";
import type { S3StoreOptions } from "../store/s3.ts";
import { fileLayout, s3Layout } from "./layout.ts";
import type { Replica } from "./replica.ts";

/** A replica URL taken apart: a directory, an S3 bucket and prefix, or memory. */
export type ParsedReplicaURL =
  | { kind: "file"; path: string }
  | { kind: "s3"; bucket: string; prefix: string; endpoint?: string; region?: string; forcePathStyle?: boolean }
  | { kind: "memory" };

/** Go's path.Clean for slash paths. */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const abs = p.startsWith("/");
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length && out[out.length - 1] !== "..") out.pop();
      else if (!abs) out.push("..");
    } else out.push(seg);
  }
  const s = (abs ? "/" : "") + out.join("/");
  return s || (abs ? "/" : ".");
}

/** Parses a replica URL as Litestream does (INVALID_URL or UNSUPPORTED when it cannot). */
export function parseReplicaURL(url: string): ParsedReplicaURL {
  if (url === "memory:" || url.startsWith("memory://")) return { kind: "memory" };
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url);
  if (!m) {
    if (!url) throw new LtxError("INVALID_URL", "replica URL required");
    return { kind: "file", path: url };
  }
  const scheme = m[1]!.toLowerCase();
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LtxError("INVALID_URL", `invalid replica URL: ${redact(url)}`);
  }
  if (scheme === "file") {
    if (u.host && u.host !== "localhost") throw new LtxError("INVALID_URL", `file URL with a host is not supported: ${redact(url)}`);
    return { kind: "file", path: unescapeURL(u.pathname, url) };
  }
  if (scheme === "s3") {
    if (!u.hostname) throw new LtxError("INVALID_URL", `s3 URL needs a bucket: ${redact(url)}`);
    const prefix = cleanPath(unescapeURL(u.pathname, url)).replace(/^\/+/, "");
    const q = u.searchParams;
    const out: ParsedReplicaURL = { kind: "s3", bucket: unescapeURL(u.hostname, url), prefix: prefix === "" ? "." : prefix };
    const endpoint = q.get("endpoint");
    if (endpoint) out.endpoint = /^https?:\/\//.test(endpoint) ? endpoint : `https://${endpoint}`;
    const region = q.get("region");
    if (region) out.region = region;
    const fps = q.get("forcePathStyle") ?? q.get("force-path-style");
    if (fps !== null) out.forcePathStyle = fps === "true" || fps === "1";
    return out;
  }
  throw new LtxError("UNSUPPORTED", `unsupported replica URL scheme: ${scheme}:// (ltxkit reads file:// and s3://)`);
}

/** Percent-decodes a URL part; a malformed escape (`%zz`, a broken UTF-8 sequence) is INVALID_URL. */
function unescapeURL(part: string, url: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new LtxError("INVALID_URL", `invalid percent-encoding in replica URL: ${redact(url)}`);
  }
}

/** Where openReplica takes credentials and stores from. */
export interface OpenReplicaOptions {
  env?: Record<string, string | undefined>;
  /** Builds a file store for a directory (runtime adapters supply it). */
  fileStore?: (dir: string) => BlobStore;
  /** Builds an S3 store (`(o) => new S3Store(o)` with S3Store from `ltxkit/s3`; adapters supply it). */
  s3Store?: (o: S3StoreOptions) => BlobStore;
  /** Extra S3 options (part size, retries, stats). */
  s3?: Partial<S3StoreOptions>;
}

/** Opens a replica URL as a store plus its key layout. */
export function openReplica(url: string, opts: OpenReplicaOptions = {}): Replica {
  const p = parseReplicaURL(url);
  const env = opts.env ?? {};
  if (p.kind === "memory") return { url, kind: "memory", store: new MemoryStore(), layout: fileLayout, timestampFromMetadata: false };
  if (p.kind === "file") {
    if (!opts.fileStore) throw new LtxError("UNSUPPORTED", "file replicas need a runtime adapter (ltxkit/node, ltxkit/deno, ltxkit/bun)");
    return { url, kind: "file", store: opts.fileStore(p.path), layout: fileLayout, timestampFromMetadata: false };
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID ?? env.LITESTREAM_ACCESS_KEY_ID ?? "";
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY ?? env.LITESTREAM_SECRET_ACCESS_KEY ?? "";
  if (!accessKeyId || !secretAccessKey) throw new LtxError("INVALID_ARGUMENT", "s3 replica: credentials missing (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
  if (!opts.s3Store) throw new LtxError("UNSUPPORTED", "s3 replicas need an S3 store: pass s3Store: (o) => new S3Store(o) with S3Store from ltxkit/s3, or use openReplicaFromEnv of a runtime adapter");
  const endpoint = p.endpoint ?? env.LITESTREAM_S3_ENDPOINT;
  const o: S3StoreOptions = { bucket: p.bucket, accessKeyId, secretAccessKey, region: p.region ?? env.AWS_REGION ?? "us-east-1", ...opts.s3 };
  if (endpoint) o.endpoint = endpoint;
  if (env.AWS_SESSION_TOKEN) o.sessionToken = env.AWS_SESSION_TOKEN;
  if (p.forcePathStyle !== undefined) o.forcePathStyle = p.forcePathStyle;
  return { url, kind: "s3", store: opts.s3Store(o), layout: s3Layout(p.prefix), timestampFromMetadata: true };
}

/** Strips userinfo from a URL for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/[^/@]*@/, "//");
}
