// What bench/capture runs in Node (run.mjs) and in workerd (worker.ts): the initial database, the
// workload, and the uncaptured baseline of the capture VFS, a plain in-memory VFS
// in JavaScript on sqlite-wasm, the same VFS machinery as the capture VFS without the capture.
// Per transaction it does what SQLite asks and nothing more: xWrite copies the page into the page
// already stored (in place; a new page is copied once), xSync does nothing (memory: no durability
// to reach, as with the capture VFS over MemoryVfsStorage), locks are always granted (one
// connection), journals and temporary files live in memory.

/**
 * A plain in-memory VFS in JavaScript, the uncaptured counterpart of the capture VFS: the same
 * sqlite-wasm VFS machinery (a JS callback per xRead/xWrite/xLock/...), pages in a Map written in
 * place, one connection (locks always granted), xSync a no-op, other files in memory.
 */
export function installPlainVfs(sqlite3, image, name, path = "/plain.db") {
  const { capi, wasm } = sqlite3;
  const ps = 4096;
  const pages = new Map();
  for (let i = 0; i < image.length / ps; i++) pages.set(i + 1, image.slice(i * ps, (i + 1) * ps));
  let size = image.length;
  const files = new Map();
  const io = new capi.sqlite3_io_methods();
  io.$iVersion = 1;
  sqlite3.vfs.installVfs({
    io: {
      struct: io,
      methods: {
        xClose: (p) => (files.delete(p), 0),
        xRead(p, dst, n, off) {
          const f = files.get(p);
          const o = Number(off);
          const h = wasm.heap8u();
          if (f.main) {
            if (n === ps && o % ps === 0) {
              const pg = pages.get(o / ps + 1);
              if (!pg) return (h.fill(0, dst, dst + n), 522);
              h.set(pg, dst);
              return 0;
            }
            const pg = pages.get(Math.floor(o / ps) + 1);
            if (!pg || o + n > size) return (h.fill(0, dst, dst + n), 522);
            h.set(pg.subarray(o % ps, (o % ps) + n), dst);
            return 0;
          }
          const k = Math.max(0, Math.min(n, f.size - o));
          if (k > 0) h.set(f.data.subarray(o, o + k), dst);
          if (k < n) return (h.fill(0, dst + k, dst + n), 522);
          return 0;
        },
        xWrite(p, src, n, off) {
          const f = files.get(p);
          const o = Number(off);
          const h = wasm.heap8u();
          if (f.main) {
            const pgno = o / ps + 1;
            const pg = pages.get(pgno);
            if (pg) pg.set(h.subarray(src, src + n));
            else pages.set(pgno, h.slice(src, src + n));
            if (o + n > size) size = o + n;
            return 0;
          }
          if (o + n > f.data.length) {
            const d = new Uint8Array(Math.max(o + n, f.data.length * 2));
            d.set(f.data.subarray(0, f.size));
            f.data = d;
          }
          f.data.set(h.subarray(src, src + n), o);
          if (o + n > f.size) f.size = o + n;
          return 0;
        },
        xTruncate(p, sz) {
          const f = files.get(p);
          const n = Number(sz);
          if (f.main) {
            for (const k of pages.keys()) if (k > n / ps) pages.delete(k);
            size = Math.min(size, n);
          } else f.size = Math.min(f.size, n);
          return 0;
        },
        xSync: () => 0,
        xFileSize(p, out) {
          const f = files.get(p);
          wasm.poke64(out, BigInt(f.main ? size : f.size));
          return 0;
        },
        xLock: () => 0,
        xUnlock: () => 0,
        xCheckReservedLock: (p, out) => (wasm.poke32(out, 0), 0),
        xFileControl: () => 12,
        xSectorSize: () => 4096,
        xDeviceCharacteristics: () => 0x1000,
      },
    },
  });
  const vfs = new capi.sqlite3_vfs();
  const dflt = new capi.sqlite3_vfs(capi.sqlite3_vfs_find(null));
  vfs.$iVersion = 2;
  vfs.$szOsFile = capi.sqlite3_file.structInfo.sizeof;
  vfs.$mxPathname = 1024;
  vfs.$xRandomness = dflt.$xRandomness;
  vfs.$xSleep = dflt.$xSleep;
  vfs.$xCurrentTime = dflt.$xCurrentTime;
  vfs.$xCurrentTimeInt64 = dflt.$xCurrentTimeInt64;
  sqlite3.vfs.installVfs({
    vfs: {
      struct: vfs,
      name,
      methods: {
        xOpen(_v, zName, pFile, flags, pOut) {
          files.set(pFile, flags & 0x100 ? { main: true } : { main: false, data: new Uint8Array(0), size: 0 });
          const f = new capi.sqlite3_file(pFile);
          f.$pMethods = io.pointer;
          f.dispose();
          if (pOut) wasm.poke32(pOut, flags);
          return 0;
        },
        xDelete: () => 0,
        xAccess(_v, zName, _f, pOut) {
          wasm.poke32(pOut, wasm.cstrToJs(zName) === path ? 1 : 0);
          return 0;
        },
        xFullPathname: (_v, zName, n, pOut) => (wasm.cstrncpy(pOut, zName, n) < n ? 0 : 14),
      },
    },
  });
  /** Unregisters the VFS (its connections closed) and lets its pages go. */
  return () => {
    capi.sqlite3_vfs_unregister(vfs.pointer);
    pages.clear();
  };
}


const ROW = 1000; // bytes per row of the initial database

/** Builds the initial database in memory and returns its image. */
export function buildImage(sqlite3, mib) {
  const db = new sqlite3.oo1.DB(":memory:", "c");
  db.exec("PRAGMA page_size=4096; PRAGMA journal_mode=MEMORY; CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER, b BLOB)");
  const rows = Math.ceil((mib << 20) / (ROW + 40));
  db.exec(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${rows}) INSERT INTO t(n, b) SELECT 0, randomblob(${ROW}) FROM c`);
  const image = sqlite3.capi.sqlite3_js_db_export(db.pointer);
  db.close();
  return { image, rows };
}

/** One small transaction: an update of a random row and an insert of a 100-byte row. */
export function workload(db, rows, seed) {
  let x = seed >>> 0;
  const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x);
  const upd = db.prepare("UPDATE t SET n = n + 1 WHERE id = ?");
  const ins = db.prepare("INSERT INTO t(n, b) VALUES (?, randomblob(100))");
  return {
    tx() {
      db.exec("BEGIN");
      upd.bind(1, (next() % rows) + 1).stepReset();
      ins.bind(1, next()).stepReset();
      db.exec("COMMIT");
    },
    finalize() {
      upd.finalize();
      ins.finalize();
    },
  };
}

