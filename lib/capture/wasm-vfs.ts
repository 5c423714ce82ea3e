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
import { CapturedFile, IOERR_LOCK, IOERR_SHORT_READ, LOCK_NONE, OK, type LockHolder } from "./captured-file.ts";
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

  const heap = (): Uint8Array => wasm.heap8u();
  const pathBytes = new TextEncoder().encode(path);
  const g: Glue = {
    capi,
    wasm,
    name,
    path,
    storage,
    file,
    handles,
    heap,
    nextId: () => ++nextId,
    fail(method: string, e: unknown, rc: number): number {
      const error = e instanceof LtxError ? e : new LtxError("IO_ERROR", `capture VFS ${method}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      lastError = { method, error };
      return rc;
    },
    isPath(z: number): boolean {
      if (!z) return false;
      const h = heap();
      for (let i = 0; i < pathBytes.length; i++) if (h[z + i] !== pathBytes[i]) return false;
      return h[z + pathBytes.length] === 0;
    },
    main(p: number): MainHandle | undefined {
      const h = handles.get(p);
      return h?.kind === "main" ? h : undefined;
    },
    mem: (p: number): MemHandle => handles.get(p) as MemHandle,
  };

  const io = new capi.sqlite3_io_methods();
  io.$iVersion = 1;
  const ioMethods = ioMethodsOf(g);
  s.vfs.installVfs({ io: { struct: io, methods: ioMethods } });

  const vfs = new capi.sqlite3_vfs();
  const dflt = new capi.sqlite3_vfs(capi.sqlite3_vfs_find(null));
  vfs.$iVersion = 2;
  vfs.$szOsFile = capi.sqlite3_file.structInfo.sizeof;
  vfs.$mxPathname = 1024;
  // Randomness, sleep and time are the default VFS's.
  for (const k of ["$xRandomness", "$xSleep", "$xCurrentTime", "$xCurrentTimeInt64"]) vfs[k] = dflt[k];
  dflt.dispose();
  const vfsMethods = vfsMethodsOf(g, io.pointer);
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

/** What the VFS's method tables share: the module, the database file and the open handles. */
interface Glue {
  // deno-lint-ignore no-explicit-any
  readonly capi: any;
  // deno-lint-ignore no-explicit-any
  readonly wasm: any;
  readonly name: string;
  readonly path: string;
  readonly storage: VfsStorage;
  readonly file: CapturedFile;
  readonly handles: Map<number, MainHandle | MemHandle>;
  /** The wasm heap (a new view after the heap grows). */
  heap(): Uint8Array;
  /** The next connection id (never 0). */
  nextId(): number;
  /** Records the failure of a VFS method (SQLite sees only `rc`) and returns `rc`. */
  fail(method: string, e: unknown, rc: number): number;
  /** True when the C string at `z` is the database path, compared in the heap without decoding it. */
  isPath(z: number): boolean;
  /** The handle of the main database file at `p`, if that is what `p` is. */
  main(p: number): MainHandle | undefined;
  /** The in-memory file at `p` (any handle that is not the main database). */
  mem(p: number): MemHandle;
}

/** The io_methods of every file the VFS opens: the main database goes to the CapturedFile, the rest lives in memory. */
function ioMethodsOf(g: Glue) {
  return {
    xClose(p: number): number {
      const h = g.handles.get(p);
      if (h?.kind === "main") g.file.unlock(h, LOCK_NONE);
      g.handles.delete(p);
      return OK;
    },
    xRead(p: number, dst: number, n: number, off: number | bigint): number {
      try {
        const o = Number(off);
        if (g.main(p)) return g.file.read(g.heap(), Number(dst), n, o);
        const f = g.mem(p);
        const h = g.heap();
        const d = Number(dst);
        const k = Math.max(0, Math.min(n, f.size - o));
        if (k > 0) h.set(f.data.subarray(o, o + k), d);
        if (k < n) {
          h.fill(0, d + k, d + n);
          return IOERR_SHORT_READ;
        }
        return OK;
      } catch (e) {
        return g.fail("xRead", e, IOERR_READ);
      }
    },
    xWrite(p: number, src: number, n: number, off: number | bigint): number {
      try {
        const o = Number(off);
        if (g.main(p)) {
          g.file.write(g.heap(), Number(src), n, o);
          return OK;
        }
        const f = g.mem(p);
        if (o + n > f.data.length) {
          const d = new Uint8Array(Math.max(o + n, f.data.length * 2));
          d.set(f.data.subarray(0, f.size));
          f.data = d;
        }
        f.data.set(g.heap().subarray(Number(src), Number(src) + n), o);
        if (o + n > f.size) f.size = o + n;
        return OK;
      } catch (e) {
        return g.fail("xWrite", e, IOERR_WRITE);
      }
    },
    xTruncate(p: number, sz: number | bigint): number {
      try {
        if (g.main(p)) g.file.truncate(Number(sz));
        else {
          const f = g.mem(p);
          f.size = Math.min(f.size, Number(sz));
        }
        return OK;
      } catch (e) {
        return g.fail("xTruncate", e, IOERR_TRUNCATE);
      }
    },
    xSync(p: number): number {
      try {
        if (g.main(p)) g.file.sync();
        return OK;
      } catch (e) {
        return g.fail("xSync", e, IOERR_FSYNC);
      }
    },
    xFileSize(p: number, out: number): number {
      try {
        g.wasm.poke64(out, BigInt(g.main(p) ? g.file.size() : g.mem(p).size));
        return OK;
      } catch (e) {
        return g.fail("xFileSize", e, IOERR_FSTAT);
      }
    },
    xLock(p: number, level: number): number {
      try {
        const h = g.main(p);
        return h ? g.file.lock(h, level) : OK;
      } catch (e) {
        return g.fail("xLock", e, IOERR_LOCK);
      }
    },
    xUnlock(p: number, level: number): number {
      try {
        const h = g.main(p);
        if (h) g.file.unlock(h, level);
        return OK;
      } catch (e) {
        return g.fail("xUnlock", e, IOERR_UNLOCK);
      }
    },
    xCheckReservedLock(p: number, out: number): number {
      const h = g.main(p);
      const held = !!h && g.file.reservedByOther(h);
      g.wasm.poke32(out, held ? 1 : 0);
      return OK;
    },
    xFileControl(p: number, op: number, arg: number): number {
      try {
        if (!g.main(p)) return NOTFOUND;
        if (op === FCNTL_COMMIT_PHASETWO) {
          // The commit is done: apply what phase one's sync did not see (synchronous=OFF skips the
          // sync; VACUUM truncates the file after it).
          g.file.commitPhaseTwo();
          return NOTFOUND;
        }
        return op === FCNTL_PRAGMA ? pragmaControl(g, arg) : NOTFOUND;
      } catch (e) {
        return g.fail("xFileControl", e, IOERR);
      }
    },
    xSectorSize(): number {
      return 4096;
    },
    xDeviceCharacteristics(): number {
      return IOCAP_POWERSAFE_OVERWRITE;
    },
  };
}

/** The VFS methods: opening the database (and memory-only temporary files and journals), access, paths. */
function vfsMethodsOf(g: Glue, ioPointer: number) {
  return {
    xOpen(_pVfs: number, zName: number, pFile: number, flags: number, pOutFlags: number): number {
      try {
        const fname = zName && g.wasm.peek8(zName) ? String(g.wasm.cstrToJs(zName)) : null;
        if (flags & OPEN_MAIN_DB) {
          if (fname !== g.path) return g.fail("xOpen", new LtxError("INVALID_ARGUMENT", `capture VFS ${g.name} holds ${g.path}, not ${fname}`), CANTOPEN);
          g.handles.set(pFile, { kind: "main", id: g.nextId(), level: LOCK_NONE });
        } else if (flags & OPEN_WAL) {
          return g.fail("xOpen", new LtxError("UNSUPPORTED", `capture VFS ${g.name} does not run WAL mode (${fname})`), CANTOPEN);
        } else {
          // Temporary files and rollback journals: memory only. A journal is never "hot" (xAccess
          // says it does not exist): the storage is never left half-written, so nothing needs it
          // after a crash.
          g.handles.set(pFile, { kind: "mem", data: new Uint8Array(0), size: 0 });
        }
        const f = new g.capi.sqlite3_file(pFile);
        f.$pMethods = ioPointer;
        f.dispose();
        if (pOutFlags) g.wasm.poke32(pOutFlags, flags);
        return OK;
      } catch (e) {
        return g.fail("xOpen", e, CANTOPEN);
      }
    },
    xDelete(_pVfs: number, zName: number): number {
      const fname = String(g.wasm.cstrToJs(zName));
      if (fname === g.path) return g.fail("xDelete", new LtxError("UNSUPPORTED", `the capture VFS does not delete its database ${g.path}`), IOERR_DELETE);
      return OK;
    },
    xAccess(_pVfs: number, zName: number, _flags: number, pOut: number): number {
      // Called at every read transaction's start (is there a hot journal?): compared in the heap.
      g.wasm.poke32(pOut, g.isPath(zName) && g.storage.maxPage() > 0 ? 1 : 0);
      return OK;
    },
    xFullPathname(_pVfs: number, zName: number, n: number, pOut: number): number {
      return g.wasm.cstrncpy(pOut, zName, n) < n ? OK : CANTOPEN;
    },
  };
}

/**
 * SQLITE_FCNTL_PRAGMA: refuses the journal and locking modes the capture cannot run under (the
 * message goes to SQLite as the pragma's error); NOTFOUND lets SQLite handle every other pragma.
 */
function pragmaControl(g: Glue, arg: number): number {
  const ps = g.wasm.ptr?.size ?? 4;
  const nameP = g.wasm.peekPtr(arg + ps);
  const valP = g.wasm.peekPtr(arg + 2 * ps);
  // Only journal_mode and locking_mode matter: skip decoding the others.
  const c0 = g.heap()[nameP]! | 0x20;
  if (c0 !== 0x6a && c0 !== 0x6c) return NOTFOUND;
  const pragma = String(g.wasm.cstrToJs(nameP)).toLowerCase();
  const value = valP ? String(g.wasm.cstrToJs(valP)).toLowerCase().trim() : null;
  let refuse: string | null = null;
  if (pragma === "journal_mode" && (value === "wal" || value === "off")) refuse = `the capture VFS needs a rollback journal (MEMORY, DELETE, TRUNCATE, PERSIST): refused journal_mode=${value}`;
  if (pragma === "locking_mode" && value !== null && value !== "normal") refuse = `the capture VFS needs locking_mode=NORMAL (refused locking_mode=${value})`;
  if (!refuse) return NOTFOUND;
  g.wasm.pokePtr(arg, g.wasm.allocCString(refuse));
  return ERROR;
}
