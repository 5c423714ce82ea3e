/**
 * A fault-injecting HTTP proxy for S3 conformance runs, listening on 127.0.0.1 only. It sits
 * between an S3 client and a real server (Ceph RGW) and forwards each request unchanged (same
 * method, path, query and headers, the Host header included, so the SigV4 signature the client made
 * for the proxy's address still verifies), or injects one fault, chosen by rate from a seeded PRNG
 * or by schedule (the nth request, of one kind or of any):
 *
 * - `500`: 500 InternalError (S3 XML body), not forwarded.
 * - `503`: 503 SlowDown (S3 XML body), not forwarded.
 * - `429`: 429 TooManyRequests with `Retry-After` (seconds), not forwarded.
 * - `reset-before`: the connection is reset before the request reaches the server.
 * - `reset-after`: the request is forwarded (the write happened), then the connection is reset
 *   instead of answering.
 * - `stall`: no answer for `stallMs` (longer than the client's timeout), then a reset; half the
 *   stalls are forwarded first (the write happened, the answer never came).
 * - `stall-body`: the status, headers and half the body are sent, then nothing for `stallMs`.
 * - `truncate`: the answer's Content-Length is kept but only part of the body is sent, then reset.
 * - `duplicate`: the request is forwarded twice (a retry the client never saw); the second answer
 *   is returned.
 * - `slow`: the body is sent in small pieces over about `slowMs`.
 *
 * Faults that need a body (`truncate`, `stall-body`, `slow`) fall back to a plain forward when the
 * answer has none and are not counted. Counts are kept per fault kind and per request kind; a fault
 * counts as recovered when a later request of the same client, method, path and query is forwarded
 * and answered 2xx (the client's retry got through).
 *
 * A request answered 429 records its Retry-After: a request with the same method, path and query
 * from the same client (the unsigned `x-fault-client` header, see `taggedFetch`) arriving
 * earlier is counted in `retryAfterViolations`.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** The faults the proxy injects. */
export const FAULT_KINDS = ["500", "503", "429", "reset-before", "reset-after", "stall", "stall-body", "truncate", "duplicate", "slow"] as const;
/** One fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** What an S3 request does, from its method and query. */
export type RequestKind = "ListObjectsV2" | "GetObject" | "HeadObject" | "PutObject" | "UploadPart" | "CreateMultipartUpload" | "CompleteMultipartUpload" | "AbortMultipartUpload" | "DeleteObjects" | "DeleteObject" | "other";

/** One scheduled fault: the nth (1-based) request, of `kind` when given, else of any kind. */
export interface ScheduledFault {
  nth: number;
  kind?: RequestKind;
  /** Only requests whose path contains this string count. */
  pathIncludes?: string;
  fault: FaultKind;
}

/** Options of startFaultProxy. */
export interface FaultProxyOptions {
  /** The server to forward to, e.g. `http://127.0.0.1:7480`. */
  target: string;
  /** PRNG seed (printed by the caller); default random. */
  seed?: number;
  /** Probability per request of each fault (their sum at most 1). */
  rates?: Partial<Record<FaultKind, number>>;
  schedule?: ScheduledFault[];
  /** How long a stall lasts before the connection is reset (default 3000 ms). */
  stallMs?: number;
  /** About how long a slow body takes (default 400 ms). */
  slowMs?: number;
  /** Retry-After seconds of a 429 (default: 1 or 2, from the PRNG). */
  retryAfterSeconds?: number;
  /** Bytes a truncated body keeps (default: a random part of it). */
  truncateTo?: number;
  /** Request kinds never faulted by rate (scheduled faults still apply). */
  spare?: RequestKind[];
}

/** Counts of a proxy run. */
export interface FaultCounts {
  requests: number;
  forwarded: number;
  injected: Record<FaultKind, number>;
  recovered: Record<FaultKind, number>;
  byRequest: Partial<Record<RequestKind, { requests: number; faults: Partial<Record<FaultKind, number>> }>>;
  retryAfterViolations: number;
}

/** One arrival, for tests that look at timing (a 429 and the retry after it). */
export interface ProxyLogEntry {
  at: number;
  method: string;
  path: string;
  kind: RequestKind;
  fault: FaultKind | null;
  status?: number;
}

/** A running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: the endpoint to give the S3 client. */
  readonly url: string;
  readonly seed: number;
  readonly counts: FaultCounts;
  readonly log: ProxyLogEntry[];
  /** Replaces the rates (0 everywhere: a clean pass-through). */
  setRates(rates: Partial<Record<FaultKind, number>>): void;
  /** A table of the counts, one line per fault kind and per request kind. */
  report(): string;
  close(): Promise<void>;
}

/**
 * A fetch for S3Store's `fetch` option that tags each request with `x-fault-client: <id>` (a header
 * outside the signature), so the proxy tells clients apart.
 */
export function taggedFetch(id: string, inner: (r: Request) => Promise<Response> = (r) => fetch(r)): (r: Request) => Promise<Response> {
  return async (req) => {
    const headers = new Headers(req.headers);
    headers.set("x-fault-client", id);
    const init: RequestInit = { method: req.method, headers, signal: req.signal };
    if (req.body) init.body = await req.arrayBuffer();
    return inner(new Request(req.url, init));
  };
}

/** mulberry32: a small seeded PRNG. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The S3 operation of a request. */
export function requestKind(method: string, url: string): RequestKind {
  const u = new URL(url, "http://x");
  const q = u.searchParams;
  const objectPath = u.pathname.split("/").filter(Boolean).length > 1;
  switch (method) {
    case "GET":
      return q.has("list-type") || !objectPath ? "ListObjectsV2" : "GetObject";
    case "HEAD":
      return "HeadObject";
    case "PUT":
      return q.has("partNumber") ? "UploadPart" : "PutObject";
    case "POST":
      if (q.has("delete")) return "DeleteObjects";
      if (q.has("uploads")) return "CreateMultipartUpload";
      if (q.has("uploadId")) return "CompleteMultipartUpload";
      return "other";
    case "DELETE":
      return q.has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
    default:
      return "other";
  }
}

interface Upstream {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

const xmlError = (code: string, message: string, resource: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Resource>${resource.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</Resource><RequestId>fault-proxy</RequestId></Error>`;

const zero = (): Record<FaultKind, number> => Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;

/** Starts a proxy on 127.0.0.1 (a free port) in front of `target`. */
export async function startFaultProxy(o: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(o.target);
  const seed = (o.seed ?? Math.floor(Math.random() * 2 ** 31)) >>> 0;
  const rand = mulberry32(seed);
  let rates = { ...(o.rates ?? {}) };
  const stallMs = o.stallMs ?? 3000;
  const slowMs = o.slowMs ?? 400;
  const spare = new Set(o.spare ?? []);
  const counts: FaultCounts = { requests: 0, forwarded: 0, injected: zero(), recovered: zero(), byRequest: {}, retryAfterViolations: 0 };
  const log: ProxyLogEntry[] = [];
  const seen = new Map<string, number>(); // per schedule entry: matching requests so far
  const pending = new Map<string, FaultKind[]>(); // method+path -> faults not yet followed by a 2xx
  const retryAfter = new Map<string, number>(); // method+path -> earliest allowed time
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const wait = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(() => {
        timers.delete(t);
        r();
      }, ms);
      timers.add(t);
    });

  const choose = (kind: RequestKind, path: string): FaultKind | null => {
    for (const [i, s] of (o.schedule ?? []).entries()) {
      if (s.kind && s.kind !== kind) continue;
      if (s.pathIncludes && !path.includes(s.pathIncludes)) continue;
      const n = (seen.get(String(i)) ?? 0) + 1;
      seen.set(String(i), n);
      if (n === s.nth) return s.fault;
    }
    const r = rand();
    if (spare.has(kind)) return null;
    let acc = 0;
    for (const k of FAULT_KINDS) {
      acc += rates[k] ?? 0;
      if (r < acc) return k;
    }
    return null;
  };

  const forward = (req: IncomingMessage, body: Buffer): Promise<Upstream> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = v;
      const up = http.request({ host: target.hostname, port: target.port || 80, method: req.method, path: req.url, headers, agent }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => {
          const h: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = v;
          resolve({ status: res.statusCode ?? 502, headers: h, body: Buffer.concat(parts) });
        });
        res.on("error", reject);
      });
      up.on("error", reject);
      up.end(body);
    });

  const reset = (res: ServerResponse) => {
    const s = res.socket as (Socket & { resetAndDestroy?: () => void }) | null;
    if (!s) return;
    if (s.resetAndDestroy) s.resetAndDestroy();
    else s.destroy();
  };

  const count = (kind: RequestKind, fault: FaultKind, key: string) => {
    counts.injected[fault]++;
    const b = (counts.byRequest[kind] ??= { requests: 0, faults: {} });
    b.faults[fault] = (b.faults[fault] ?? 0) + 1;
    const p = pending.get(key) ?? [];
    p.push(fault);
    pending.set(key, p);
  };

  const succeeded = (key: string, status: number) => {
    if (status < 200 || status >= 300) return;
    const p = pending.get(key);
    if (!p) return;
    for (const f of p) counts.recovered[f]++;
    pending.delete(key);
  };

  const send = (res: ServerResponse, up: Upstream, head: boolean) => {
    res.writeHead(up.status, up.headers);
    res.end(head ? undefined : up.body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const body = Buffer.concat(parts);
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const u = new URL(url, "http://x");
    const path = u.pathname;
    const kind = requestKind(method, url);
    // one logical request: its client (the x-fault-client header, unsigned), method, path and query
    const client = String(req.headers["x-fault-client"] ?? "");
    const key = `${client} ${method} ${url}`;
    const head = method === "HEAD";
    counts.requests++;
    const b = (counts.byRequest[kind] ??= { requests: 0, faults: {} });
    b.requests++;
    const now = Date.now();
    const earliest = retryAfter.get(key);
    if (earliest !== undefined) {
      if (now < earliest) counts.retryAfterViolations++;
      retryAfter.delete(key);
    }
    let fault = choose(kind, path);
    const entry: ProxyLogEntry = { at: now, method, path, kind, fault };
    log.push(entry);
    const resource = path;
    switch (fault) {
      case "500":
      case "503":
      case "429": {
        count(kind, fault, key);
        const status = Number(fault);
        const headers: Record<string, string> = { "content-type": "application/xml", "x-amz-request-id": "fault-proxy" };
        let xml: string;
        if (fault === "429") {
          const ra = o.retryAfterSeconds ?? 1 + Math.floor(rand() * 2);
          headers["retry-after"] = String(ra);
          retryAfter.set(key, Date.now() + ra * 1000);
          xml = xmlError("TooManyRequests", "Please retry after the time given in Retry-After.", resource);
        } else if (fault === "503") xml = xmlError("SlowDown", "Please reduce your request rate.", resource);
        else xml = xmlError("InternalError", "We encountered an internal error. Please try again.", resource);
        entry.status = status;
        res.writeHead(status, headers);
        res.end(head ? undefined : xml);
        return;
      }
      case "reset-before":
        count(kind, fault, key);
        reset(res);
        return;
      case "stall": {
        count(kind, fault, key);
        if (rand() < 0.5) await forward(req, body).then(() => void counts.forwarded++, () => {});
        await wait(stallMs);
        reset(res);
        return;
      }
      default:
        break;
    }
    let up: Upstream;
    try {
      up = await forward(req, body);
      counts.forwarded++;
      if (fault === "duplicate") {
        up = await forward(req, body);
        counts.forwarded++;
        count(kind, fault, key);
      }
    } catch {
      reset(res);
      return;
    }
    entry.status = up.status;
    if (fault === "reset-after") {
      count(kind, fault, key);
      reset(res);
      return;
    }
    if ((fault === "truncate" || fault === "stall-body" || fault === "slow") && (head || up.body.length < 2)) fault = entry.fault = null;
    if (fault === "truncate") {
      count(kind, fault, key);
      res.writeHead(up.status, up.headers);
      res.write(up.body.subarray(0, Math.min(up.body.length - 1, o.truncateTo ?? Math.floor(rand() * up.body.length))));
      await wait(20);
      reset(res);
      return;
    }
    if (fault === "stall-body") {
      count(kind, fault, key);
      res.writeHead(up.status, up.headers);
      res.write(up.body.subarray(0, Math.floor(up.body.length / 2)));
      await wait(stallMs);
      reset(res);
      return;
    }
    if (fault === "slow") {
      count(kind, fault, key);
      res.writeHead(up.status, up.headers);
      const pieces = 16;
      const step = Math.ceil(up.body.length / pieces);
      for (let off = 0; off < up.body.length; off += step) {
        if (res.destroyed) return;
        res.write(up.body.subarray(off, off + step));
        await wait(slowMs / pieces);
      }
      res.end();
      if (fault === "slow") succeeded(key, up.status);
      return;
    }
    send(res, up, head);
    succeeded(key, up.status);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => reset(res));
  });
  server.keepAliveTimeout = 30_000;
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    seed,
    counts,
    log,
    setRates(r) {
      rates = { ...r };
    },
    report() {
      const lines = [`fault proxy (seed ${seed}): ${counts.requests} requests, ${counts.forwarded} forwarded, ${counts.retryAfterViolations} Retry-After violations`];
      lines.push("  fault          injected  recovered (a later 2xx of the same request)");
      for (const k of FAULT_KINDS) lines.push(`  ${k.padEnd(14)} ${String(counts.injected[k]).padStart(8)}  ${String(counts.recovered[k]).padStart(9)}`);
      lines.push("  request kind             requests  faults");
      for (const [k, v] of Object.entries(counts.byRequest)) {
        const f = Object.entries(v!.faults)
          .map(([a, n]) => `${a}=${n}`)
          .join(" ");
        lines.push(`  ${k.padEnd(24)} ${String(v!.requests).padStart(8)}  ${f}`);
      }
      return lines.join("\n");
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
