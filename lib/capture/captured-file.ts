/**
 * The database file behind the capture VFS (wasm-vfs.ts holds the sqlite-wasm glue): its locks, the
 * write transaction's page buffer, and the commit of that buffer into the storage and the capture
 * log. It never writes the storage while a transaction runs: every write and truncate of the file
 * goes to a per-transaction buffer that reads consult first.
 *
 * - The buffer becomes a commit at the sync of the file that ends SQLite's commit phase one. The
 *   one other sync of the main file, at the end of a rollback's journal playback, is told apart
 *   exactly and cheaply by the file change counter (page 1, bytes 24-27): every rollback-mode
 *   commit increments it and a playback restores it, so a buffer whose page 1 carries the stored
 *   counter is not a commit.
 * - `SQLITE_FCNTL_COMMIT_PHASETWO`, sent once the commit is done, applies what that sync did not see
 *   (everything when `synchronous=OFF` skips the sync; the truncation VACUUM makes after it).
 * - Whatever is left in the buffer when the write lock drops (ROLLBACK, a failed statement, a
 *   savepoint rolled back with its transaction) is discarded: a rollback leaves the storage
 *   untouched and makes no L0 file.
 * - A commit is applied in one storage batch: the pages whose bytes changed (pages SQLite rewrote
 *   unchanged are neither stored nor shipped) plus its queue record, so a crash loses nothing that
 *   committed. A failed apply throws: the VFS fails the sync, and SQLite rolls the transaction back
 *   and reports an I/O error.
 *
 * Locks are kept per database across the connections of the VFS (SHARED, RESERVED, PENDING,
 * EXCLUSIVE as in SQLite's unix VFS), so several connections of one thread may share it.
 */
import { LtxError } from "../errors.ts";
import { isValidPageSize } from "../ltx/header.ts";
import { headerPageSize, type CaptureLog } from "./vfs-log.ts";
import type { VfsStorage } from "./vfs-storage.ts";

// SQLite's stable ABI values, as the file's methods return them.
export const OK = 0;
export const BUSY = 5;
export const IOERR_SHORT_READ = 522;
export const IOERR_LOCK = 3850;
export const LOCK_NONE = 0;
export const LOCK_SHARED = 1;
const LOCK_RESERVED = 2;
const LOCK_PENDING = 3;
const LOCK_EXCLUSIVE = 4;

/** One connection's hold on the file: its id (never 0) and the lock level it holds. */
export interface LockHolder {
  readonly id: number;
  level: number;
}

/** True when lock owner `owner` (0: none) is a connection other than `id`. */
function other(owner: number, id: number): boolean {
  return owner !== 0 && owner !== id;
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

/** The captured database file: locks, the transaction buffer and its commit (see the module doc). */
export class CapturedFile {
  readonly #storage: VfsStorage;
  readonly #log: CaptureLog;
  /** Connections holding at least SHARED. */
  #shared = 0;
  #reserved = 0;
  #pending = 0;
  #exclusive = 0;
  /** Pages written by the current write transaction (not yet in the storage), in pooled buffers. */
  readonly #buffer = new Map<number, Slot>();
  /** File size in bytes during the write transaction, null when unchanged. */
  #size: number | null = null;
  /** Smallest size (bytes) the transaction truncated to. */
  #low: number | null = null;
  #pageSize: number;
  readonly #pool: Slot[] = [];

  constructor(storage: VfsStorage, log: CaptureLog) {
    this.#storage = storage;
    this.#log = log;
    this.#pageSize = log.pageSize;
  }

  /** The file's size in bytes as the current transaction sees it. */
  size(): number {
    return this.#size ?? this.#storage.maxPage() * this.#pageSize;
  }

  /** Reads n bytes at off into h[dst...]; past the end reads zeros and returns IOERR_SHORT_READ. */
  read(h: Uint8Array, dst: number, n: number, off: number): number {
    const ps = this.#pageSize;
    const size = this.size();
    if (n === ps && off % ps === 0 && off + n <= size) {
      // The common case: one whole page, copied without a view.
      const src = this.#page(off / ps + 1);
      if (src) h.set(src, dst);
      else h.fill(0, dst, dst + n);
      return OK;
    }
    const end = Math.min(off + n, size);
    let at = off;
    while (at < end) {
      const pageOff = at % ps;
      const k = Math.min(ps - pageOff, end - at);
      const src = this.#page(Math.floor(at / ps) + 1);
      if (src) h.set(src.subarray(pageOff, pageOff + k), dst + (at - off));
      else h.fill(0, dst + (at - off), dst + (at - off) + k);
      at += k;
    }
    if (at < off + n) {
      h.fill(0, dst + Math.max(0, at - off), dst + n);
      return IOERR_SHORT_READ;
    }
    return OK;
  }

  /** Page `pgno` as the transaction sees it: its buffered write, else the stored page. */
  #page(pgno: number): Uint8Array | undefined {
    return this.#buffer.get(pgno)?.bytes ?? this.#storage.getPage(pgno);
  }

  /** Buffers a write of h[src, src+n) at off: exactly one page (the page size cannot change). */
  write(h: Uint8Array, src: number, n: number, off: number): void {
    if (this.#pageSize === 0) {
      if (off !== 0 || !isValidPageSize(n)) throw new LtxError("INVALID_STATE", `first write to an empty database must be page 1 (offset ${off}, ${n} bytes)`);
      this.#pageSize = n;
    }
    const ps = this.#pageSize;
    if (n !== ps || off % ps !== 0) throw new LtxError("INVALID_STATE", `write of ${n} bytes at ${off} is not one ${ps}-byte page (the page size cannot change under capture)`);
    const pgno = off / ps + 1;
    if (pgno === 1) {
      const raw = (h[src + 16]! << 8) | h[src + 17]!;
      const declared = raw === 1 ? 65536 : raw;
      if (declared !== ps) throw new LtxError("INVALID_STATE", `page 1 declares page size ${declared}, not ${ps} (the page size cannot change under capture)`);
    }
    let slot = this.#buffer.get(pgno);
    if (!slot) {
      slot = this.#take(ps);
      this.#buffer.set(pgno, slot);
    }
    slot.bytes.set(h.subarray(src, src + n));
    const end = off + n;
    if (end > this.size()) this.#size = end;
  }

  /** Buffers a truncation to `bytes` (a whole number of pages). */
  truncate(bytes: number): void {
    const ps = this.#pageSize;
    if (ps === 0) {
      if (bytes === 0) return;
      throw new LtxError("INVALID_STATE", `truncate of an empty database to ${bytes} bytes`);
    }
    if (bytes % ps !== 0) throw new LtxError("INVALID_STATE", `truncate to ${bytes} bytes is not a whole number of ${ps}-byte pages`);
    if (bytes >= this.size()) return;
    const keep = bytes / ps;
    for (const [p, slot] of this.#buffer) {
      if (p <= keep) continue;
      this.#buffer.delete(p);
      this.#give(slot);
    }
    this.#size = bytes;
    if (this.#low === null || bytes < this.#low) this.#low = bytes;
  }

  /** The file's sync: commits the buffer when it holds a commit (not a rollback's playback). */
  sync(): void {
    if (this.#isCommit()) this.#commit();
  }

  /** SQLITE_FCNTL_COMMIT_PHASETWO: commits what phase one's sync did not see. */
  commitPhaseTwo(): void {
    if (this.#buffer.size > 0 || this.#size !== null) this.#commit();
  }

  /** Raises h's lock to `level`; BUSY when another connection's lock is in the way. */
  lock(h: LockHolder, level: number): number {
    if (level <= h.level) return OK;
    const id = h.id;
    if (level === LOCK_SHARED) {
      if (other(this.#pending, id) || other(this.#exclusive, id)) return BUSY;
      this.#shared++;
      h.level = LOCK_SHARED;
      return OK;
    }
    if (level === LOCK_RESERVED) {
      if (h.level < LOCK_SHARED) return IOERR_LOCK;
      if (other(this.#reserved, id) || other(this.#pending, id) || other(this.#exclusive, id)) return BUSY;
      this.#reserved = h.id;
      h.level = LOCK_RESERVED;
      return OK;
    }
    // EXCLUSIVE (via PENDING): every other SHARED lock must be gone.
    if (other(this.#reserved, id)) return BUSY;
    this.#pending = h.id;
    if (h.level < LOCK_PENDING) h.level = LOCK_PENDING;
    if (this.#shared > 1) return BUSY;
    this.#exclusive = h.id;
    h.level = LOCK_EXCLUSIVE;
    return OK;
  }

  /** Lowers h's lock to `level`; dropping the write lock discards what was not committed. */
  unlock(h: LockHolder, level: number): void {
    if (level >= h.level) return;
    if (h.level >= LOCK_RESERVED && level <= LOCK_SHARED) {
      if (this.#reserved === h.id) this.#reserved = 0;
      if (this.#pending === h.id) this.#pending = 0;
      if (this.#exclusive === h.id) this.#exclusive = 0;
      // The write lock drops: what was not committed is a rollback's (or nothing).
      this.#discard();
    }
    if (h.level >= LOCK_SHARED && level === LOCK_NONE) this.#shared--;
    h.level = level;
  }

  /** True when a connection other than h holds RESERVED or above. */
  reservedByOther(h: LockHolder): boolean {
    return other(this.#reserved, h.id) || other(this.#pending, h.id) || other(this.#exclusive, h.id);
  }

  /** A page buffer of `ps` bytes: a free slot, or a new one. */
  #take(ps: number): Slot {
    const slot = this.#pool.pop();
    if (slot && slot.bytes.length === ps) return slot;
    return { bytes: new Uint8Array(ps), words: null };
  }

  #give(slot: Slot): void {
    if (this.#pool.length < POOL_PAGES && slot.bytes.length === this.#pageSize) this.#pool.push(slot);
  }

  /** Drops the buffer (slots back to the pool) and the transaction's size. */
  #discard(): void {
    for (const slot of this.#buffer.values()) this.#give(slot);
    this.#buffer.clear();
    this.#size = null;
    this.#low = null;
    if (this.#storage.maxPage() === 0) this.#pageSize = headerPageSize(this.#storage.getPage(1));
  }

  /** True when the buffer holds a commit: page 1's change counter moved. */
  #isCommit(): boolean {
    const p1 = this.#buffer.get(1)?.bytes;
    if (!p1) return false;
    const old = this.#storage.getPage(1);
    return !old || u32(p1, 24) !== u32(old, 24);
  }

  #commit(): void {
    const storage = this.#storage;
    const ps = this.#pageSize;
    const before = storage.maxPage();
    const commit = this.size() / ps;
    const pages = new Map<number, Uint8Array | null>();
    for (const [p, slot] of this.#buffer) {
      if (p > commit) continue;
      // Page 1 of a commit always changed (its change counter moved); others are compared with the
      // stored page, which exists only below the old size.
      const old = p > 1 && p <= before ? storage.getPage(p) : undefined;
      if (!old || !samePage(old, slot)) pages.set(p, slot.bytes);
    }
    for (let p = commit + 1; p <= before; p++) pages.set(p, null);
    const low = Math.min(commit, before, this.#low === null ? commit : this.#low / ps);
    // Offered in exchange (VfsBatch.exchange): a slot whose array the storage kept (its stored page
    // is that very array, whatever apply returned) is the storage's now; the others are free again.
    // The arrays the storage hands back (the pages it replaced) become slots.
    const released = this.#log.commit({ pages, commit, low }, true);
    for (const [p, slot] of this.#buffer) if (storage.getPage(p) !== slot.bytes) this.#give(slot);
    this.#buffer.clear();
    const pool = this.#pool;
    if (released) for (const b of released) if (b.length === ps && b.byteOffset % 4 === 0 && pool.length < POOL_PAGES) pool.push({ bytes: b, words: null });
    this.#size = null;
    this.#low = null;
  }
}
