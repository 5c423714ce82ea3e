/**
 * The storage under the capture VFS: where a sqlite-wasm database keeps its pages and its
 * not-yet-shipped L0 files. Synchronous, because SQLite's VFS callbacks are. One instance holds one
 * database. Implementations: memory (this file; workers, tests), a Durable Object's
 * `ctx.storage.sql` (ltxkit/workerd) and OPFS sync access handles (ltxkit/browser).
 */

/** A change set applied by {@link VfsStorage.apply}: `null` deletes, bytes put. */
export interface VfsBatch {
  /** Pages by number (1-based): the bytes to store, or null to drop the page (truncation). */
  pages?: ReadonlyMap<number, Uint8Array | null>;
  /** Small records by key (positions, queued L0 files, settings), or null to delete. */
  records?: ReadonlyMap<string, Uint8Array | null>;
  /**
   * True when the page arrays are handed over: the caller never touches them again, so a storage
   * may keep them instead of copying them (a restore's pages). Default false: `apply` copies.
   */
  transfer?: boolean;
  /**
   * True when the page arrays may be kept instead of copied: a storage that keeps one stores that
   * very array (`getPage` returns it), so the caller tells what was kept by identity and never
   * touches a kept array again. `apply` may return the arrays of the pages it replaced, which are
   * the caller's from then on (the capture VFS reuses them as page buffers). A storage may ignore
   * it and copy. Default false.
   */
  exchange?: boolean;
}

/**
 * Durable synchronous storage for one database. `apply` is atomic and durable when it returns: after
 * a crash, either the whole batch is visible or none of it is. Readers see the last applied batch.
 *
 * Ownership: `apply` copies the page bytes it keeps (the capture VFS reuses its page buffers once
 * `apply` returns); record values are handed over (neither side mutates them afterwards). A page
 * read with `getPage` may be updated in place by the next `apply`: copy it to keep it longer.
 */
export interface VfsStorage {
  /**
   * The stored bytes of page `pgno`, or undefined when the page was never stored or was dropped.
   * Valid until the next `apply` (which may overwrite it in place); not to be mutated.
   */
  getPage(pgno: number): Uint8Array | undefined;
  /** The highest stored page number (0 when empty). */
  maxPage(): number;
  /** The record under `key`, or undefined. */
  getRecord(key: string): Uint8Array | undefined;
  /** The keys of every record starting with `prefix`, ascending by JavaScript string order. */
  listRecords(prefix: string): string[];
  /**
   * Applies every change of the batch atomically and durably; keeps copies of the batch's pages,
   * not the arrays, unless the batch transfers them, or offers an exchange and the storage returns
   * the replaced arrays (see VfsBatch.exchange).
   */
  apply(batch: VfsBatch): Uint8Array[] | void;
}

/**
 * Record keys in ascending order, kept as they change, so a listing by prefix is a binary search and
 * a scan of the keys it returns (not a sort of every key per call). Appends in order (queued
 * transactions, L0 files by TXID) cost O(1); other inserts mark it for one re-sort. A deleted key
 * stays in place until a listing of its range drops it (a key added back before that just stays),
 * so a commit never scans the keys of unrelated prefixes (say, thousands of unshipped L0 files).
 */
export class SortedKeys {
  #keys: string[] = [];
  #sorted = true;
  /** Deleted keys still in #keys. */
  #gone = new Set<string>();
  #has: (key: string) => boolean;

  /** `has` says whether a key is still present (the records map); deletions are filtered lazily with it. */
  constructor(has: (key: string) => boolean) {
    this.#has = has;
  }

  /** A key that was not present is now. */
  added(key: string): void {
    // A deleted key not yet dropped is still listed here, in its place.
    if (this.#gone.size > 0 && this.#gone.delete(key)) return;
    const n = this.#keys.length;
    if (n > 0 && this.#sorted && !(this.#keys[n - 1]! < key)) this.#sorted = false;
    this.#keys.push(key);
  }

  /** A key that was present is gone. */
  deleted(key: string): void {
    this.#gone.add(key);
    // Mostly deleted keys of prefixes never listed: drop them all at once, amortised.
    if (this.#gone.size > 1024 && this.#gone.size * 2 > this.#keys.length) {
      this.#keys = this.#keys.filter(this.#has);
      this.#gone.clear();
    }
  }

  /** Every key is gone. */
  clear(): void {
    this.#keys = [];
    this.#sorted = true;
    this.#gone.clear();
  }

  /** The keys starting with `prefix`, ascending. */
  list(prefix: string): string[] {
    if (!this.#sorted) {
      if (this.#gone.size > 0) {
        this.#keys = this.#keys.filter(this.#has);
        this.#gone.clear();
      }
      this.#keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      this.#sorted = true;
    }
    const k = this.#keys;
    let lo = 0;
    let hi = k.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (k[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    while (end < k.length && k[end]!.startsWith(prefix)) end++;
    if (this.#gone.size === 0) return k.slice(lo, end);
    const out: string[] = [];
    for (let i = lo; i < end; i++) {
      const key = k[i]!;
      if (this.#gone.delete(key)) continue;
      out.push(key);
    }
    // Drop this range's deleted keys from the array.
    if (out.length !== end - lo) this.#keys = k.slice(0, lo).concat(out, k.slice(end));
    return out;
  }
}

/** VfsStorage in memory: nothing outlives the object. For workers without durable storage, and for tests. */
export class MemoryVfsStorage implements VfsStorage {
  readonly #pages = new Map<number, Uint8Array>();
  readonly #records = new Map<string, Uint8Array>();
  readonly #keys = new SortedKeys((k) => this.#records.has(k));
  #max = 0;

  /** The stored bytes of page `pgno`, or undefined (valid until the next apply, which updates pages in place). */
  getPage(pgno: number): Uint8Array | undefined {
    return this.#pages.get(pgno);
  }

  /** The highest stored page number (0 when empty). */
  maxPage(): number {
    return this.#max;
  }

  /** The record under `key`, or undefined. */
  getRecord(key: string): Uint8Array | undefined {
    return this.#records.get(key);
  }

  /** The keys of every record starting with `prefix`, ascending. */
  listRecords(prefix: string): string[] {
    return this.#keys.list(prefix);
  }

  /**
   * Applies the batch (trivially atomic: nothing else runs meanwhile). A page already stored with
   * the same size is overwritten in place; others are copied into new arrays (or kept, when the
   * batch transfers them). With `exchange`, the batch's arrays are kept and the replaced ones
   * returned: no page is copied.
   */
  apply(batch: VfsBatch): Uint8Array[] | void {
    let dropped = false;
    const released: Uint8Array[] | undefined = batch.exchange ? [] : undefined;
    for (const [pgno, bytes] of batch.pages ?? []) {
      if (bytes === null) {
        if (this.#pages.delete(pgno)) dropped = true;
      } else {
        const cur = this.#pages.get(pgno);
        if (released) {
          this.#pages.set(pgno, bytes);
          if (cur !== undefined) released.push(cur);
        } else if (batch.transfer) this.#pages.set(pgno, bytes);
        else if (cur !== undefined && cur.length === bytes.length) cur.set(bytes);
        else this.#pages.set(pgno, bytes.slice());
        if (pgno > this.#max) this.#max = pgno;
      }
    }
    if (dropped) {
      let max = 0;
      for (const pgno of this.#pages.keys()) if (pgno > max) max = pgno;
      this.#max = max;
    }
    for (const [key, bytes] of batch.records ?? []) {
      if (bytes === null) {
        if (this.#records.delete(key)) this.#keys.deleted(key);
      } else {
        if (!this.#records.has(key)) this.#keys.added(key);
        this.#records.set(key, bytes);
      }
    }
    return released;
  }
}
