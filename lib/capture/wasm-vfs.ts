/**
 * The capture VFS: a synchronous JavaScript VFS registered on an injected sqlite-wasm module
 * (@sqlite.org/sqlite-wasm 3.54.1, the object `sqlite3InitModule()` resolves to; never imported
 * here) that keeps one database's pages in a VfsStorage and hands each committed transaction to a
 * CaptureLog.
 *
 * Journal mode and commit detection. The database runs in a rollback-journal mode:
 * `journal_mode=MEMORY` (openCapturedDatabase sets it; DELETE, TRUNCATE and PERSIST work too, their
 * journal lives in memory). The VFS refuses `journal_mode=WAL` and `OFF`, and
 * `locking_mode=EXCLUSIVE` (which counts one change per lock, not one per commit). It never writes
 * the storage while a transaction runs: every xWrite and xTruncate of the main file goes to a
 * per-transaction buffer that xRead consults first.
 *
 * - The buffer becomes a commit at the xSync of the main file that ends SQLite's commit phase one.
 *   The one other xSync of the main file, at the end of a rollback's journal playback, is told
 *   apart exactly and cheaply by the file change counter (page 1, bytes 24-27): every rollback-mode
 *   commit increments it and a playback restores it, so a buffer whose page 1 carries the stored
 *   counter is not a commit.
 * - `SQLITE_FCNTL_COMMIT_PHASETWO`, sent once the commit is done, applies what that sync did not see
 *   (everything when `synchronous=OFF` skips the sync; the truncation VACUUM makes after it).
 * - Whatever is left in the buffer when the write lock drops (ROLLBACK, a failed statement, a
 *   savepoint rolled back with its transaction) is discarded: a rollback leaves the storage
 *   untouched and makes no L0 file.
 * - A commit is applied in one storage batch: the pages whose bytes changed (pages SQLite rewrote
 *   unchanged are neither stored nor shipped) plus its queue record, so a crash loses nothing that
 *   committed. A failed apply fails the sync: SQLite rolls the transaction back and reports an I/O
 *   error.
 *
 * WAL mode was not chosen: sqlite-wasm has no shared memory, so WAL needs exclusive locking, and
 * commit detection would mean parsing commit frames and checkpointing the WAL into the storage;
 * MEMORY mode needs neither, and its journal (the pages' old versions, for rollback) lives in the
 * wasm heap only for the duration of a transaction.
 *
 * Locks are kept per database across the connections of this VFS (SHARED, RESERVED, PENDING,
 * EXCLUSIVE as in SQLite's unix VFS), so several connections of one thread may share it. Other
 * files (temporary databases, statement journals) live in memory and vanish when closed.
 */
import { LtxError } from "../errors.ts";
import { isValidPageSize } from "../ltx/header.ts";
import { CaptureLog, headerPageSize, type CaptureLogOptions } from "./vfs-log.ts";
import type { VfsStorage } from "./vfs-storage.ts";

/**
 * The part of an initialised sqlite-wasm module (`await sqlite3InitModule()` of
 * @sqlite.org/sqlite-wasm 3.54.1) the capture VFS uses. Typed structurally: ltxkit never imports
 * sqlite-wasm.
 */
export interface SqliteWasmModule {
  capi: object;
  wasm: object;
  vfs: object;
  oo1: object;
}

// SQLite's stable ABI values.
const OK = 0;
const ERROR = 1;
const BUSY = 5;
const CANTOPEN = 14;
const NOTFOUND = 12;
const IOERR = 10;
const IOERR_READ = 266;
const IOERR_SHORT_READ = 522;
const IOERR_WRITE = 778;
const IOERR_FSYNC = 1034;
const IOERR_TRUNCATE = 1546;
const IOERR_FSTAT = 1802;
const IOERR_DELETE = 2570;
const IOERR_LOCK = 3850;
const IOERR_UNLOCK = 2058;
const OPEN_MAIN_DB = 0x100;
const OPEN_WAL = 0x80000;
const LOCK_NONE = 0;
const LOCK_SHARED = 1;
const LOCK_RESERVED = 2;
const LOCK_PENDING = 3;
const LOCK_EXCLUSIVE = 4;
const FCNTL_PRAGMA = 14;
const FCNTL_COMMIT_PHASETWO = 22;
const IOCAP_POWERSAFE_OVERWRITE = 0x1000;

/** Options of installCaptureVfs. */
export interface CaptureVfsOptions extends CaptureLogOptions {
  /** VFS name to register (default `ltxkit-capture-<n>`). */
  vfsName?: string;
  /** Path of the database as SQLite opens it (default "/main.db"). */
  path?: string;
}

/** What the capture VFS noticed that SQLite only sees as an error code. */
export interface CaptureVfsError {
  /** The VFS method. */
  method: string;
  error: LtxError;
}

/** A registered capture VFS: its name, the database path to open with it, and its capture log. */
export interface CaptureVfs {
  /** The registered VFS name (pass it to `new sqlite3.oo1.DB({ filename: path, vfs: name })`). */
  readonly name: string;
  /** The path SQLite must open through it. */
  readonly path: string;
  readonly storage: VfsStorage;
  /** The capture log: queue, position, L0 files. */
  readonly log: CaptureLog;
  /** The last failure inside a VFS callback (SQLite saw an I/O error), if any. */
  readonly lastError: CaptureVfsError | undefined;
  /** Unregisters the VFS (after every connection is closed). */
  unregister(): void;
}

let counter = 0;

interface FileState {
  /** Connections holding at least SHARED. */
  shared: number;
  reserved: number;
  pending: number;
  exclusive: number;
  /** Pages written by the current write transaction (not yet in the storage), in pooled buffers. */
  buffer: Map<number, Slot>;
  /** File size in bytes during the write transaction, null when unchanged. */
  size: number | null;
  /** Smallest size (bytes) the transaction truncated to. */
  low: number | null;
  pageSize: number;
}

interface MainHandle {
  kind: "main";
  id: number;
  level: number;
}
interface MemHandle {
  kind: "mem";
  data: Uint8Array;
  size: number;
}

/** Big-endian u32 at `o`. */
function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * A page buffer of the write transaction, with a word view made once (a typed array view costs
 * more to make than a page compare). Slots are reused across transactions (a bounded pool), so a
 * page write copies out of the wasm heap without allocating.
 */
interface Slot {
  bytes: Uint8Array;
  /** Made on the first compare that needs it (most changed pages differ in their first bytes). */
  words: Int32Array | null;
}

/** Free slots kept for reuse: enough for the pages of typical transactions, bounded in memory. */
const POOL_PAGES = 256;

/**
 * True when the stored page `old` holds the bytes of `slot`. The first bytes (a b-tree page's
 * header and cell pointers, where inserts and deletes show) are compared bytewise first, so most
 * changed pages are told apart without a word view of the stored page.
 */
function samePage(old: Uint8Array, slot: Slot): boolean {
  const b = slot.bytes;
  if (old.length !== b.length) return false;
  const head = Math.min(128, b.length);
  for (let i = 0; i < head; i++) if (old[i] !== b[i]) return false;
  if (old.byteOffset % 4 === 0 && b.byteOffset % 4 === 0 && b.length % 4 === 0) {
    const x = new Int32Array(old.buffer, old.byteOffset, old.length >> 2);
    const y = (slot.words ??= new Int32Array(b.buffer, b.byteOffset, b.length >> 2));
    for (let i = head >> 2; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  for (let i = head; i < b.length; i++) if (old[i] !== b[i]) return false;
  return true;
}

/**
 * Registers a capture VFS over `storage` on the injected sqlite-wasm module. One database per VFS:
 * open `vfs.path` with `vfs.name`, then run `PRAGMA journal_mode=MEMORY` (openCapturedDatabase
 * does both).
 */
export function installCaptureVfs(sqlite3: SqliteWasmModule, storage: VfsStorage, options: CaptureVfsOptions = {}): CaptureVfs {
  // deno-lint-ignore no-explicit-any
  const s = sqlite3 as any;
  const capi = s.capi;
  const wasm = s.wasm;
  if (!capi?.sqlite3_vfs || !capi?.sqlite3_io_methods || typeof s.vfs?.installVfs !== "function") {
    throw new LtxError("INVALID_ARGUMENT", "installCaptureVfs needs an initialised sqlite-wasm module (the object sqlite3InitModule() resolves to)");
  }
  const name = options.vfsName ?? `ltxkit-capture-${++counter}`;
  const path = options.path ?? "/main.db";
  if (capi.sqlite3_vfs_find(name)) throw new LtxError("INVALID_ARGUMENT", `a VFS named ${name} is already registered`);
  const log = new CaptureLog(storage, options);
  const st: FileState = { shared: 0, reserved: 0, pending: 0, exclusive: 0, buffer: new Map(), size: null, low: null, pageSize: log.pageSize };
  const handles = new Map<number, MainHandle | MemHandle>();
  let nextId = 0;
  let lastError: CaptureVfsError | undefined;

  const pool: Slot[] = [];
  /** A page buffer of `ps` bytes: a free slot, or a new one. */
  const take = (ps: number): Slot => {
    const slot = pool.pop();
    if (slot && slot.bytes.length === ps) return slot;
    const bytes = new Uint8Array(ps);
    return { bytes, words: null };
  };
  const give = (slot: Slot): void => {
    if (pool.length < POOL_PAGES && slot.bytes.length === st.pageSize) pool.push(slot);
  };

  const fail = (method: string, e: unknown, rc: number): number => {
    const error = e instanceof LtxError ? e : new LtxError("IO_ERROR", `capture VFS ${method}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    lastError = { method, error };
    return rc;
  };
  const committedSize = (): number => storage.maxPage() * st.pageSize;
  const size = (): number => st.size ?? committedSize();
  const heap = (): Uint8Array => wasm.heap8u();
  const pathBytes = new TextEncoder().encode(path);
  /** True when the C string at `z` is `path`, compared in the heap without decoding it. */
  const isPath = (z: number): boolean => {
    if (!z) return false;
    const h = heap();
    for (let i = 0; i < pathBytes.length; i++) if (h[z + i] !== pathBytes[i]) return false;
    return h[z + pathBytes.length] === 0;
  };

  const readMain = (dst: number, n: number, off: number): number => {
    const h = heap();
    const ps0 = st.pageSize;
    if (n === ps0 && off % ps0 === 0 && off + n <= size()) {
      // The common case: one whole page, copied without a view.
      const pgno = off / ps0 + 1;
      const src = st.buffer.get(pgno)?.bytes ?? storage.getPage(pgno);
      if (src) h.set(src, dst);
      else h.fill(0, dst, dst + n);
      return OK;
    }
    const end = Math.min(off + n, size());
    let at = off;
    const ps = st.pageSize;
    while (at < end) {
      const pgno = Math.floor(at / ps) + 1;
      const pageOff = at % ps;
      const k = Math.min(ps - pageOff, end - at);
      const src = st.buffer.get(pgno)?.bytes ?? storage.getPage(pgno);
      if (src) h.set(src.subarray(pageOff, pageOff + k), dst + (at - off));
      else h.fill(0, dst + (at - off), dst + (at - off) + k);
      at += k;
    }
    if (at < off + n) {
      h.fill(0, dst + Math.max(0, at - off), dst + n);
      return IOERR_SHORT_READ;
    }
    return OK;
  };

  const writeMain = (src: number, n: number, off: number): number => {
    if (st.pageSize === 0) {
      if (off !== 0 || !isValidPageSize(n)) throw new LtxError("INVALID_STATE", `first write to an empty database must be page 1 (offset ${off}, ${n} bytes)`);
      st.pageSize = n;
    }
    const ps = st.pageSize;
    if (n !== ps || off % ps !== 0) throw new LtxError("INVALID_STATE", `write of ${n} bytes at ${off} is not one ${ps}-byte page (the page size cannot change under capture)`);
    const h = heap();
    const pgno = off / ps + 1;
    if (pgno === 1) {
      const raw = (h[src + 16]! << 8) | h[src + 17]!;
      const declared = raw === 1 ? 65536 : raw;
      if (declared !== ps) throw new LtxError("INVALID_STATE", `page 1 declares page size ${declared}, not ${ps} (the page size cannot change under capture)`);
    }
    let slot = st.buffer.get(pgno);
    if (!slot) {
      slot = take(ps);
      st.buffer.set(pgno, slot);
    }
    slot.bytes.set(h.subarray(src, src + n));
    const end = off + n;
    if (end > size()) st.size = end;
    return OK;
  };

  const truncateMain = (bytes: number): void => {
    const ps = st.pageSize;
    if (ps === 0) {
      if (bytes === 0) return;
      throw new LtxError("INVALID_STATE", `truncate of an empty database to ${bytes} bytes`);
    }
    if (bytes % ps !== 0) throw new LtxError("INVALID_STATE", `truncate to ${bytes} bytes is not a whole number of ${ps}-byte pages`);
    if (bytes >= size()) return;
    const keep = bytes / ps;
    for (const [p, slot] of st.buffer) {
      if (p <= keep) continue;
      st.buffer.delete(p);
      give(slot);
    }
    st.size = bytes;
    if (st.low === null || bytes < st.low) st.low = bytes;
  };

  /** Empties the transaction buffer, its slots back to the pool. */
  const clearBuffer = (): void => {
    for (const slot of st.buffer.values()) give(slot);
    st.buffer.clear();
  };

  const discard = (): void => {
    clearBuffer();
    st.size = null;
    st.low = null;
    if (storage.maxPage() === 0) st.pageSize = headerPageSize(storage.getPage(1));
  };

  /** True when the buffer holds a commit (not a rollback's playback): page 1's change counter moved. */
  const isCommit = (): boolean => {
    const p1 = st.buffer.get(1)?.bytes;
    if (!p1) return false;
    const old = storage.getPage(1);
    return !old || u32(p1, 24) !== u32(old, 24);
  };

  const applyCommit = (): void => {
    const ps = st.pageSize;
    const before = storage.maxPage();
    const commit = size() / ps;
    const pages = new Map<number, Uint8Array | null>();
    for (const [p, slot] of st.buffer) {
      if (p > commit) continue;
      // Page 1 of a commit always changed (its change counter moved); others are compared with the
      // stored page, which exists only below the old size.
      const old = p > 1 && p <= before ? storage.getPage(p) : undefined;
      if (!old || !samePage(old, slot)) pages.set(p, slot.bytes);
    }
    for (let p = commit + 1; p <= before; p++) pages.set(p, null);
    const low = Math.min(commit, before, st.low === null ? commit : st.low / ps);
    // Offered in exchange (VfsBatch.exchange): a slot whose array the storage kept (its stored page
    // is that very array, whatever apply returned) is the storage's now; the others are free again.
    // The arrays the storage hands back (the pages it replaced) become slots.
    const released = log.commit({ pages, commit, low }, true);
    for (const [p, slot] of st.buffer) if (storage.getPage(p) !== slot.bytes) give(slot);
    st.buffer.clear();
    if (released) for (const b of released) if (b.length === ps && b.byteOffset % 4 === 0 && pool.length < POOL_PAGES) pool.push({ bytes: b, words: null });
    st.size = null;
    st.low = null;
  };

  const main = (p: number): MainHandle | undefined => {
    const h = handles.get(p);
    return h?.kind === "main" ? h : undefined;
  };
  const mem = (p: number): MemHandle => handles.get(p) as MemHandle;

  const releaseLock = (h: MainHandle, level: number): void => {
    if (h.level >= LOCK_RESERVED && level <= LOCK_SHARED) {
      if (st.reserved === h.id) st.reserved = 0;
      if (st.pending === h.id) st.pending = 0;
      if (st.exclusive === h.id) st.exclusive = 0;
      // The write lock drops: what was not committed is a rollback's (or nothing).
      discard();
    }
    if (h.level >= LOCK_SHARED && level === LOCK_NONE) st.shared--;
    if (level < h.level) h.level = level;
  };

  const io = new capi.sqlite3_io_methods();
  io.$iVersion = 1;
  const ioMethods = {
    xClose(p: number): number {
      const h = handles.get(p);
      if (h?.kind === "main") releaseLock(h, LOCK_NONE);
      handles.delete(p);
      return OK;
    },
    xRead(p: number, dst: number, n: number, off: number | bigint): number {
      try {
        const o = Number(off);
        if (main(p)) return readMain(Number(dst), n, o);
        const f = mem(p);
        const h = heap();
        const d = Number(dst);
        const k = Math.max(0, Math.min(n, f.size - o));
        if (k > 0) h.set(f.data.subarray(o, o + k), d);
        if (k < n) {
          h.fill(0, d + k, d + n);
          return IOERR_SHORT_READ;
        }
        return OK;
      } catch (e) {
        return fail("xRead", e, IOERR_READ);
      }
    },
    xWrite(p: number, src: number, n: number, off: number | bigint): number {
      try {
        const o = Number(off);
        if (main(p)) return writeMain(Number(src), n, o);
        const f = mem(p);
        if (o + n > f.data.length) {
          const d = new Uint8Array(Math.max(o + n, f.data.length * 2));
          d.set(f.data.subarray(0, f.size));
          f.data = d;
        }
        f.data.set(heap().subarray(Number(src), Number(src) + n), o);
        if (o + n > f.size) f.size = o + n;
        return OK;
      } catch (e) {
        return fail("xWrite", e, IOERR_WRITE);
      }
    },
    xTruncate(p: number, sz: number | bigint): number {
      try {
        if (main(p)) truncateMain(Number(sz));
        else {
          const f = mem(p);
          f.size = Math.min(f.size, Number(sz));
        }
        return OK;
      } catch (e) {
        return fail("xTruncate", e, IOERR_TRUNCATE);
      }
    },
    xSync(p: number): number {
      try {
        if (main(p) && isCommit()) applyCommit();
        return OK;
      } catch (e) {
        return fail("xSync", e, IOERR_FSYNC);
      }
    },
    xFileSize(p: number, out: number): number {
      try {
        wasm.poke64(out, BigInt(main(p) ? size() : mem(p).size));
        return OK;
      } catch (e) {
        return fail("xFileSize", e, IOERR_FSTAT);
      }
    },
    xLock(p: number, level: number): number {
      try {
        const h = main(p);
        if (!h || level <= h.level) return OK;
        if (level === LOCK_SHARED) {
          if ((st.pending && st.pending !== h.id) || (st.exclusive && st.exclusive !== h.id)) return BUSY;
          st.shared++;
          h.level = LOCK_SHARED;
          return OK;
        }
        if (level === LOCK_RESERVED) {
          if (h.level < LOCK_SHARED) return IOERR_LOCK;
          if (st.reserved && st.reserved !== h.id) return BUSY;
          if ((st.pending && st.pending !== h.id) || (st.exclusive && st.exclusive !== h.id)) return BUSY;
          st.reserved = h.id;
          h.level = LOCK_RESERVED;
          return OK;
        }
        // EXCLUSIVE (via PENDING): every other SHARED lock must be gone.
        if (st.reserved && st.reserved !== h.id) return BUSY;
        st.pending = h.id;
        if (h.level < LOCK_PENDING) h.level = LOCK_PENDING;
        if (st.shared > 1) return BUSY;
        st.exclusive = h.id;
        h.level = LOCK_EXCLUSIVE;
        return OK;
      } catch (e) {
        return fail("xLock", e, IOERR_LOCK);
      }
    },
    xUnlock(p: number, level: number): number {
      try {
        const h = main(p);
        if (h && level < h.level) releaseLock(h, level);
        return OK;
      } catch (e) {
        return fail("xUnlock", e, IOERR_UNLOCK);
      }
    },
    xCheckReservedLock(p: number, out: number): number {
      const h = main(p);
      const held = !!h && ((st.reserved !== 0 && st.reserved !== h.id) || (st.pending !== 0 && st.pending !== h.id) || (st.exclusive !== 0 && st.exclusive !== h.id));
      wasm.poke32(out, held ? 1 : 0);
      return OK;
    },
    xFileControl(p: number, op: number, arg: number): number {
      try {
        if (!main(p)) return NOTFOUND;
        if (op === FCNTL_COMMIT_PHASETWO) {
          // The commit is done: apply what phase one's sync did not see (synchronous=OFF skips the
          // sync; VACUUM truncates the file after it).
          if (st.buffer.size > 0 || st.size !== null) applyCommit();
          return NOTFOUND;
        }
        if (op === FCNTL_PRAGMA) {
          const ps = wasm.ptr?.size ?? 4;
          const nameP = wasm.peekPtr(arg + ps);
          const valP = wasm.peekPtr(arg + 2 * ps);
          // Only journal_mode and locking_mode matter: skip decoding the others.
          const c0 = heap()[nameP]! | 0x20;
          if (c0 !== 0x6a && c0 !== 0x6c) return NOTFOUND;
          const pragma = String(wasm.cstrToJs(nameP)).toLowerCase();
          const value = valP ? String(wasm.cstrToJs(valP)).toLowerCase().trim() : null;
          let refuse: string | null = null;
          if (pragma === "journal_mode" && (value === "wal" || value === "off")) refuse = `the capture VFS needs a rollback journal (MEMORY, DELETE, TRUNCATE, PERSIST): refused journal_mode=${value}`;
          if (pragma === "locking_mode" && value !== null && value !== "normal") refuse = `the capture VFS needs locking_mode=NORMAL (refused locking_mode=${value})`;
          if (refuse) {
            wasm.pokePtr(arg, wasm.allocCString(refuse));
            return ERROR;
          }
        }
        return NOTFOUND;
      } catch (e) {
        return fail("xFileControl", e, IOERR);
      }
    },
    xSectorSize(): number {
      return 4096;
    },
    xDeviceCharacteristics(): number {
      return IOCAP_POWERSAFE_OVERWRITE;
    },
  };
  s.vfs.installVfs({ io: { struct: io, methods: ioMethods } });

  const vfs = new capi.sqlite3_vfs();
  const dflt = new capi.sqlite3_vfs(capi.sqlite3_vfs_find(null));
  vfs.$iVersion = 2;
  vfs.$szOsFile = capi.sqlite3_file.structInfo.sizeof;
  vfs.$mxPathname = 1024;
  vfs.$xRandomness = dflt.$xRandomness;
  vfs.$xSleep = dflt.$xSleep;
  vfs.$xCurrentTime = dflt.$xCurrentTime;
  vfs.$xCurrentTimeInt64 = dflt.$xCurrentTimeInt64;
  dflt.dispose();
  const vfsMethods = {
    xOpen(_pVfs: number, zName: number, pFile: number, flags: number, pOutFlags: number): number {
      try {
        const fname = zName && wasm.peek8(zName) ? String(wasm.cstrToJs(zName)) : null;
        if (flags & OPEN_MAIN_DB) {
          if (fname !== path) return fail("xOpen", new LtxError("INVALID_ARGUMENT", `capture VFS ${name} holds ${path}, not ${fname}`), CANTOPEN);
          handles.set(pFile, { kind: "main", id: ++nextId, level: LOCK_NONE });
        } else if (flags & OPEN_WAL) {
          return fail("xOpen", new LtxError("UNSUPPORTED", `capture VFS ${name} does not run WAL mode (${fname})`), CANTOPEN);
        } else {
          // Temporary files and rollback journals: memory only. A journal is never "hot" (xAccess
          // says it does not exist): the storage is never left half-written, so nothing needs it
          // after a crash.
          handles.set(pFile, { kind: "mem", data: new Uint8Array(0), size: 0 });
        }
        const f = new capi.sqlite3_file(pFile);
        f.$pMethods = io.pointer;
        f.dispose();
        if (pOutFlags) wasm.poke32(pOutFlags, flags);
        return OK;
      } catch (e) {
        return fail("xOpen", e, CANTOPEN);
      }
    },
    xDelete(_pVfs: number, zName: number): number {
      const fname = String(wasm.cstrToJs(zName));
      if (fname === path) return fail("xDelete", new LtxError("UNSUPPORTED", `the capture VFS does not delete its database ${path}`), IOERR_DELETE);
      return OK;
    },
    xAccess(_pVfs: number, zName: number, _flags: number, pOut: number): number {
      // Called at every read transaction's start (is there a hot journal?): compared in the heap.
      wasm.poke32(pOut, isPath(zName) && storage.maxPage() > 0 ? 1 : 0);
      return OK;
    },
    xFullPathname(_pVfs: number, zName: number, n: number, pOut: number): number {
      return wasm.cstrncpy(pOut, zName, n) < n ? OK : CANTOPEN;
    },
  };
  s.vfs.installVfs({ vfs: { struct: vfs, name, methods: vfsMethods } });

  return {
    name,
    path,
    storage,
    log,
    get lastError() {
      return lastError;
    },
    unregister() {
      if (handles.size > 0) throw new LtxError("INVALID_STATE", `capture VFS ${name} still has ${handles.size} open files`);
      capi.sqlite3_vfs_unregister(vfs.pointer);
      vfs.dispose();
      io.dispose();
    },
  };
}
