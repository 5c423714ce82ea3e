// Module Worker of the OPFS VfsStorage suite: opens OpfsVfsStorage on sync access handles, applies
// batches sent from Node, dumps the whole state, and runs the crash matrix (a write cut short at
// every point of a batch sequence, then a reopen) against MemoryVfsStorage as the reference.
import { OpfsVfsStorage } from "/dist/adapters/browser.js";
import { MemoryVfsStorage } from "/dist/capture/vfs-storage.js";
import { b64, unb64, errorResult } from "/t/codec.js";

let storage = null;

async function dirOf(path) {
  let d = await navigator.storage.getDirectory();
  for (const seg of path.split("/").filter(Boolean)) d = await d.getDirectoryHandle(seg, { create: true });
  return d;
}

function toBatch(w) {
  return {
    pages: new Map((w.pages ?? []).map(([p, v]) => [p, v === null ? null : unb64(v)])),
    records: new Map((w.records ?? []).map(([k, v]) => [k, v === null ? null : unb64(v)])),
  };
}

/** The whole visible state as comparable text: max page, every page, every record. */
function dump(s) {
  const max = s.maxPage();
  const pages = [];
  for (let p = 1; p <= max; p++) {
    const b = s.getPage(p);
    pages.push(b === undefined ? null : b64(b));
  }
  const records = s.listRecords("").map((k) => [k, b64(s.getRecord(k))]);
  return { max, pages, records };
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// ---- Fault injection at the OPFS boundary: after `limit` writes, the next write stores only a
// prefix of its bytes and every later call fails, as if the worker died there.
function faulty(dir, state) {
  const wrapHandle = (h) => ({
    read: (b, o) => h.read(b, o),
    getSize: () => h.getSize(),
    write(b, o) {
      if (state.dead) throw new Error("dead");
      if (state.writes++ === state.limit) {
        state.dead = true;
        const keep = Math.floor(b.length * state.fraction);
        if (keep > 0) h.write(b.subarray(0, keep), o);
        throw new Error("injected crash");
      }
      return h.write(b, o);
    },
    truncate(n) {
      if (state.dead) throw new Error("dead");
      if (state.writes++ === state.limit) { state.dead = true; throw new Error("injected crash"); }
      h.truncate(n);
    },
    flush() { if (state.dead) throw new Error("dead"); h.flush(); },
    close() { h.close(); },
  });
  return {
    getDirectoryHandle: (n, o) => dir.getDirectoryHandle(n, o),
    async getFileHandle(n, o) {
      const fh = await dir.getFileHandle(n, o);
      return { async createSyncAccessHandle() { const h = await fh.createSyncAccessHandle(); state.handles.push(h); return wrapHandle(h); } };
    },
  };
}

function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 2 ** 32);
}

/** A batch sequence: growth, overwrites, records (one of 300 KB), deletes, tail drops, a page size change. */
function sequence(seed) {
  const r = rng(seed);
  const page = (size, tag) => new Uint8Array(size).map((_, i) => (tag * 31 + i * 7 + ((r() * 256) | 0)) & 0xff);
  const out = [];
  out.push({ pages: new Map([[1, page(1024, 1)], [2, page(1024, 2)], [3, page(1024, 3)]]), records: new Map([["pos", new Uint8Array([1])]]) });
  out.push({ pages: new Map([[2, page(1024, 4)], [5, page(1024, 5)]]), records: new Map([["q/0001", page(300_000, 9)], ["pos", new Uint8Array([2])]]) });
  out.push({ pages: new Map([[5, null], [4, page(1024, 6)]]), records: new Map([["q/0002", page(5000, 7)]]) });
  out.push({ pages: new Map([[4, null], [3, page(1024, 8)]]), records: new Map([["q/0001", null], ["pos", new Uint8Array([4])]]) });
  out.push({ pages: new Map([[1, page(2048, 10)], [2, page(2048, 11)], [3, null]]), records: new Map([["pos", new Uint8Array([5])]]) });
  out.push({ pages: new Map([[3, page(2048, 12)]]), records: new Map([["q/0002", null], ["q/0003", page(40_000, 13)]]) });
  return out;
}

const commands = {
  async open(path, opts = {}) {
    storage?.close();
    storage = null;
    storage = await OpfsVfsStorage.open({ directory: await dirOf(path), compactBytes: opts.compactBytes });
    return null;
  },
  async openAnother(path) {
    const s = await OpfsVfsStorage.open({ directory: await dirOf(path) });
    s.close();
    return null;
  },
  async apply(w) { storage.apply(toBatch(w)); return null; },
  async dump() { return dump(storage); },
  async close() { storage?.close(); storage = null; return null; },
  async applyBad(w) { storage.apply(toBatch(w)); return null; },

  /**
   * For every write index of the sequence (and three cut fractions), runs the sequence on a fresh
   * directory with a crash at that write, reopens, and says which reference state it found.
   */
  async crashMatrix(seed, compactBytes) {
    const batches = sequence(seed);
    const refs = [];
    const m = new MemoryVfsStorage();
    refs.push(dump(m));
    for (const b of batches) { m.apply(b); refs.push(dump(m)); }
    // How many writes a whole run takes.
    const probe = { writes: 0, limit: -1, fraction: 0, dead: false, handles: [] };
    const root = await navigator.storage.getDirectory();
    const fresh = async (name) => { await root.removeEntry(name, { recursive: true }).catch(() => {}); return root.getDirectoryHandle(name, { create: true }); };
    let s = await OpfsVfsStorage.open({ directory: faulty(await fresh("crash"), probe), compactBytes });
    for (const b of batches) s.apply(b);
    const whole = same(dump(s), refs[batches.length]);
    s.close();
    const total = probe.writes;
    const results = [];
    for (let limit = 0; limit < total; limit++) {
      for (const fraction of [0, 0.5, 0.99]) {
        const st = { writes: 0, limit, fraction, dead: false, handles: [] };
        let acked = 0;
        try {
          const s2 = await OpfsVfsStorage.open({ directory: faulty(await fresh("crash"), st), compactBytes });
          for (const b of batches) { s2.apply(b); acked++; }
        } catch { /* the crash */ }
        for (const h of st.handles) h.close();
        const s3 = await OpfsVfsStorage.open({ directory: await root.getDirectoryHandle("crash"), compactBytes });
        const got = dump(s3);
        s3.close();
        const found = refs.findIndex((r) => same(r, got));
        results.push({ limit, fraction, acked, found });
      }
    }
    return { whole, total, results };
  },
};

self.onmessage = async (ev) => {
  const { id, cmd, args } = ev.data;
  let result;
  try {
    result = { ok: true, value: await commands[cmd](...args) };
  } catch (e) {
    result = errorResult(e);
  }
  self.postMessage({ id, result });
};
