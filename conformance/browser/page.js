// The page side of the browser suites: stores opened by id and called by name from Node (rpcCall),
// and a module Worker for what needs sync access handles (commands prefixed "worker.").
import { b64, unb64, errorResult } from "/t/codec.js";

const stores = new Map();
let worker = null;
let seq = 0;
const pending = new Map();

function startWorker(script) {
  worker = new Worker(script, { type: "module" });
  worker.onmessage = (ev) => {
    const p = pending.get(ev.data.id);
    if (!p) return;
    pending.delete(ev.data.id);
    p(ev.data.result);
  };
  worker.onerror = (ev) => {
    for (const [id, p] of pending) p(errorResult(new Error(`worker error: ${ev.message}`)));
    pending.clear();
  };
}
function workerCall(cmd, args) {
  const id = ++seq;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    worker.postMessage({ id, cmd, args });
  });
}
const info = (b) => b && { ...b, lastModified: b.lastModified.getTime() };
function body(b) {
  if (b.bytes !== undefined) return unb64(b.bytes);
  const chunks = b.chunks.map(unb64);
  return new ReadableStream({ start(c) { for (const ch of chunks) c.enqueue(ch); c.close(); } });
}
function putOpts(o = {}) {
  return o.mtime === undefined ? o : { ...o, mtime: new Date(o.mtime) };
}

let mod;
const rpc = {
  async openOpfs(id, opts = {}) {
    const root = await navigator.storage.getDirectory();
    let dir = root;
    if (opts.dir) dir = await root.getDirectoryHandle(opts.dir, { create: true });
    stores.set(id, await mod.OpfsStore.open({ directory: dir, path: opts.path }));
    return stores.get(id).kind;
  },
  async openS3(id, cfg) {
    const { S3Store } = await import("/dist/s3.js");
    stores.set(id, new S3Store(cfg));
    return "s3";
  },
  async get(id, key, range) {
    const r = await stores.get(id).get(key, range);
    return r === null ? null : b64(r);
  },
  async getStream(id, key, range, opts) {
    const s = await stores.get(id).getStream(key, range, opts);
    if (s === null) return null;
    const out = [];
    for await (const c of s) out.push(b64(c));
    return out;
  },
  async put(id, key, b, opts) {
    return stores.get(id).put(key, body(b), putOpts(opts));
  },
  async list(id, prefix, opts) {
    const out = [];
    for await (const b of stores.get(id).list(prefix, opts)) out.push(info(b));
    return out;
  },
  async delete(id, keys, opts) {
    await stores.get(id).delete(keys, opts);
    return null;
  },
  async head(id, key) {
    return info(await stores.get(id).head(key));
  },
  /** Puts `w<i>` to `key` from each store id at once (in one task, so the puts really overlap). */
  async racePuts(ids, key, opts) {
    const results = await Promise.allSettled(ids.map((id, i) => stores.get(id).put(key, new TextEncoder().encode(`w${i}`), opts)));
    return results.map((r) => (r.status === "fulfilled" ? { ok: true, etag: r.value.etag } : { ok: false, code: r.reason?.code, message: String(r.reason?.message) }));
  },
  async clearOpfs() {
    const root = await navigator.storage.getDirectory();
    for await (const [name] of root.entries()) await root.removeEntry(name, { recursive: true });
    return null;
  },
  /** Writes raw bytes to the file `name` in the OPFS directory `dir` (as no OpfsStore would). */
  async writeOpfsFile(dir, name, bytes) {
    const root = await navigator.storage.getDirectory();
    const d = await root.getDirectoryHandle(dir, { create: true });
    const w = await (await d.getFileHandle(name, { create: true })).createWritable();
    await w.write(unb64(bytes));
    await w.close();
    return null;
  },
  async listOpfs(dir) {
    const root = await navigator.storage.getDirectory();
    const d = dir ? await root.getDirectoryHandle(dir) : root;
    const out = [];
    const walk = async (h, base) => {
      for await (const [name, e] of h.entries()) {
        if (e.kind === "directory") await walk(e, base + name + "/");
        else out.push(base + name);
      }
    };
    await walk(d, "");
    return out.sort();
  },
  async startWorker(script) {
    if (worker) worker.terminate();
    startWorker(script);
    return null;
  },
  async stopWorker() {
    if (worker) worker.terminate();
    worker = null;
    return null;
  },
};

globalThis.rpcCall = async (method, args) => {
  try {
    if (method.startsWith("worker.")) return await workerCall(method.slice(7), args);
    const f = rpc[method];
    if (!f) throw new Error(`no such call: ${method}`);
    return { ok: true, value: await f(...args) };
  } catch (e) {
    return errorResult(e);
  }
};

try {
  mod = await import("/dist/adapters/browser.js");
  globalThis.ltxReady = true;
} catch (e) {
  globalThis.ltxReady = `${e?.name}: ${e?.message}`;
}
