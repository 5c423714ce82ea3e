/**
 * The capture VFS: a synchronous JavaScript VFS registered on an injected sqlite-wasm module
 * (@sqlite.org/sqlite-wasm 3.54.1, the object `sqlite3InitModule()` resolves to; never imported
 * here) that keeps one database's pages in a VfsStorage and hands each committed transaction to a
 * CaptureLog.
 *
 * Journal mode and commit detection. The database runs in a rollback-journal mode:
 * `journal_mode=MEMORY` (openCapturedDatabase sets it; DELETE, TRUNCATE and PERSIST work too, their
 * journal lives in memory). The VFS refuses `journal_mode=WAL` and `OFF`, and
 * `locking_mode=EXCLUSIVE` (which counts one change per lock, not one per commit). The main file's
 * reads, writes, syncs and locks go to a CapturedFile (captured-file.ts: the transaction buffer,
 * commit detection by the file change counter, the commit into the storage and the log).
 *
 * WAL mode was not chosen: sqlite-wasm has no shared memory, so WAL needs exclusive locking, and
 * commit detection would mean parsing commit frames and checkpointing the WAL into the storage;
 * MEMORY mode needs neither, and its journal (the pages' old versions, for rollback) lives in the
 * wasm heap only for the duration of a transaction.
 *
 * Locks are kept per database across the connections of this VFS, so several connections of one
 * thread may share it. Other files (temporary databases, statement journals) live in memory and
 * vanish when closed.
 */
import { LtxError } from "../errors.ts";
import { BUSY, CapturedFile, IOERR_LOCK, IOERR_SHORT_READ, LOCK_NONE, OK, type LockHolder } from "./captured-file.ts";
import { CaptureLog, type CaptureLogOptions } from "./vfs-log.ts";
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
const ERROR = 1;
const CANTOPEN = 14;
const NOTFOUND = 12;
const IOERR = 10;
const IOERR_READ = 266;
const IOERR_WRITE = 778;
const IOERR_FSYNC = 1034;
const IOERR_TRUNCATE = 1546;
const IOERR_FSTAT = 1802;
const IOERR_DELETE = 2570;
const IOERR_UNLOCK = 2058;
const OPEN_MAIN_DB = 0x100;
const OPEN_WAL = 0x80000;
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

interface MainHandle extends LockHolder {
  kind: "main";
}
interface MemHandle {
  kind: "mem";
  data: Uint8Array;
  size: number;
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
  const file = new CapturedFile(storage, log);
  const handles = new Map<number, MainHandle | MemHandle>();
  let nextId = 0;
  let lastError: CaptureVfsError | undefined;

  const fail = (method: string, e: unknown, rc: number): number => {
    const error = e instanceof LtxError ? e : new LtxError("IO_ERROR", `capture VFS ${method}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    lastError = { method, error };
    return rc;
  };
  const heap = (): Uint8Array => wasm.heap8u();
  const pathBytes = new TextEncoder().encode(path);
  /** True when the C string at `z` is `path`, compared in the heap without decoding it. */
  const isPath = (z: number): boolean => {
    if (!z) return false;
    const h = heap();
    for (let i = 0; i < pathBytes.length; i++) if (h[z + i] !== pathBytes[i]) return false;
    return h[z + pathBytes.length] === 0;
  };

  const main = (p: number): MainHandle | undefined => {
    const h = handles.get(p);
    return h?.kind === "main" ? h : undefined;
  };
  const mem = (p: number): MemHandle => handles.get(p) as MemHandle;

  const io = new capi.sqlite3_io_methods();
  io.$iVersion = 1;
  const ioMethods = {
    xClose(p: number): number {
      const h = handles.get(p);
      if (h?.kind === "main") file.unlock(h, LOCK_NONE);
      handles.delete(p);
      return OK;
    },
    xRead(p: number, dst: number, n: number, off: number | bigint): number {
      try {
        const o = Number(off);
        if (main(p)) return file.read(heap(), Number(dst), n, o);
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
        if (main(p)) {
          file.write(heap(), Number(src), n, o);
          return OK;
        }
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
        if (main(p)) file.truncate(Number(sz));
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
        if (main(p)) file.sync();
        return OK;
      } catch (e) {
        return fail("xSync", e, IOERR_FSYNC);
      }
    },
    xFileSize(p: number, out: number): number {
      try {
        wasm.poke64(out, BigInt(main(p) ? file.size() : mem(p).size));
        return OK;
      } catch (e) {
        return fail("xFileSize", e, IOERR_FSTAT);
      }
    },
    xLock(p: number, level: number): number {
      try {
        const h = main(p);
        return h ? file.lock(h, level) : OK;
      } catch (e) {
        return fail("xLock", e, IOERR_LOCK);
      }
    },
    xUnlock(p: number, level: number): number {
      try {
        const h = main(p);
        if (h) file.unlock(h, level);
        return OK;
      } catch (e) {
        return fail("xUnlock", e, IOERR_UNLOCK);
      }
    },
    xCheckReservedLock(p: number, out: number): number {
      const h = main(p);
      const held = !!h && file.reservedByOther(h);
      wasm.poke32(out, held ? 1 : 0);
      return OK;
    },
    xFileControl(p: number, op: number, arg: number): number {
      try {
        if (!main(p)) return NOTFOUND;
        if (op === FCNTL_COMMIT_PHASETWO) {
          // The commit is done: apply what phase one's sync did not see (synchronous=OFF skips the
          // sync; VACUUM truncates the file after it).
          file.commitPhaseTwo();
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
