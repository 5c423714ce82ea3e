/**
 * `fetch` over node:http and node:https, for the S3 store in the Node CLI. Node's built-in fetch
 * (undici) compiles its WebAssembly HTTP parser on first use, about 30 MiB of peak RSS before the
 * first byte; node:http parses natively. Requests and responses are the Web types, so the S3 store
 * is unchanged; bodies stream both ways and `signal` aborts the request.
 */
import http from "node:http";
import type https from "node:https";
import { Readable } from "node:stream";

const httpAgent = new http.Agent({ keepAlive: true });
// node:https (and with it TLS) is loaded on the first https request only.
let tls: { mod: typeof https; agent: https.Agent } | undefined;
async function httpsModule(): Promise<{ mod: typeof https; agent: https.Agent }> {
  if (!tls) {
    const mod = (await import("node:https")).default;
    tls = { mod, agent: new mod.Agent({ keepAlive: true }) };
  }
  return tls;
}

/** A fetch for a signed Request: one HTTP exchange, no redirects followed. */
export async function httpFetch(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const secure = url.protocol === "https:";
  if (!secure && url.protocol !== "http:") throw new TypeError(`fetch: unsupported protocol ${url.protocol}`);
  const headers: Record<string, string> = {};
  req.headers.forEach((v, k) => (headers[k] = v));
  const body = req.body ? new Uint8Array(await req.arrayBuffer()) : null;
  if (body) headers["content-length"] = String(body.length);
  const signal = req.signal;
  if (signal.aborted) throw signal.reason;
  const { mod, agent } = secure ? await httpsModule() : { mod: http, agent: httpAgent };
  return new Promise<Response>((resolve, reject) => {
    const r = mod.request(url, { method: req.method, headers, agent }, (res) => {
      const h = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (v === undefined) continue;
        for (const x of Array.isArray(v) ? v : [v]) h.append(k, x);
      }
      const status = res.statusCode ?? 0;
      const empty = req.method === "HEAD" || status === 204 || status === 304;
      if (empty) res.resume();
      const stream = empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
      resolve(new Response(stream, { status, statusText: res.statusMessage ?? "", headers: h }));
    });
    const onAbort = () => r.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    r.on("close", () => signal.removeEventListener("abort", onAbort));
    r.on("error", (e) => reject(new TypeError(`fetch failed: ${e.message}`, { cause: e })));
    r.end(body ?? undefined);
  });
}
