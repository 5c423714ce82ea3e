// A counting HTTP proxy between a replicator and the S3 endpoint: every request is forwarded as it
// came (Host header included, so SigV4 signatures still verify) and recorded with its time and kind.
// Kinds: PUT (PutObject, UploadPart), GET (GetObject), LIST (GET on the bucket: ListObjects[V2]),
// HEAD, DELETE (DeleteObject, and each POST ?delete batch), POST (multipart create/complete).
import http from "node:http";

/** Classifies one S3 request by method and URL. */
export function kindOf(method, url) {
  const [path, query = ""] = url.split("?");
  if (method === "POST") return /(^|&)delete(=|&|$)/.test(query) ? "DELETE" : "POST";
  if (method === "GET") {
    const parts = path.split("/").filter(Boolean); // path style: /bucket/key…
    return parts.length <= 1 || /(^|&)list-type=/.test(query) ? "LIST" : "GET";
  }
  return method;
}

/** Starts a proxy to `target` (http://host:port) on a free loopback port. */
export async function startProxy(target) {
  const t = new URL(target);
  const log = []; // { t: ms epoch, kind }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  let open = 0; // requests forwarded and not yet answered in full
  const server = http.createServer((req, res) => {
    const entry = { t: Date.now(), kind: kindOf(req.method, req.url), what: `${req.method} ${req.url.slice(0, 160)}` };
    log.push(entry);
    open++;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      open--;
    };
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
      res.writeHead(r.statusCode, r.rawHeaders);
      r.pipe(res);
      r.on("error", () => res.destroy());
    });
    up.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(e));
    });
    // A client that gives up (a request timeout) must not leave the upstream socket open with an
    // unread response: it would never return to the agent's pool, and once the pool is full every
    // later request would wait for a socket forever.
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
      end();
    });
    req.on("error", () => up.destroy());
    req.pipe(up);
  });
  server.keepAliveTimeout = 60_000;
  server.requestTimeout = 0; // long uploads are the client's to time out, not the proxy's
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    /** Requests in flight, and sockets the agent holds: in use, idle, and requests waiting for one. */
    stats: () => ({ open, sockets: Object.values(agent.sockets).reduce((n, a) => n + a.length, 0), free: Object.values(agent.freeSockets).reduce((n, a) => n + a.length, 0), waiting: Object.values(agent.requests).reduce((n, a) => n + a.length, 0) }),
    /** Requests by kind with from ≤ t < to. */
    count(from, to) {
      const c = { PUT: 0, GET: 0, LIST: 0, DELETE: 0, HEAD: 0, POST: 0 };
      for (const x of log) if (x.t >= from && x.t < to) c[x.kind] = (c[x.kind] ?? 0) + 1;
      return c;
    },
    reset() {
      log.length = 0;
    },
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); agent.destroy(); }),
  };
}
