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
}

/**
 * Durable synchronous storage for one database. `apply` is atomic and durable when it returns: after
 * a crash, either the whole batch is visible or none of it is. Readers see the last applied batch.
 * Values must not be mutated by the caller after `apply`, nor by the storage after a read.
 */
export interface VfsStorage {
  /** The stored bytes of page `pgno`, or undefined when the page was never stored or was dropped. */
  getPage(pgno: number): Uint8Array | undefined;
  /** The highest stored page number (0 when empty). */
  maxPage(): number;
  /** The record under `key`, or undefined. */
  getRecord(key: string): Uint8Array | undefined;
  /** The keys of every record starting with `prefix`, ascending by JavaScript string order. */
  listRecords(prefix: string): string[];
  /** Applies every change of the batch atomically and durably. */
  apply(batch: VfsBatch): void;
}

/** VfsStorage in memory: nothing outlives the object. For workers without durable storage, and for tests. */
export class MemoryVfsStorage implements VfsStorage {
  readonly #pages = new Map<number, Uint8Array>();
  readonly #records = new Map<string, Uint8Array>();
  #max = 0;

  /** The stored bytes of page `pgno`, or undefined. */
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
    return [...this.#records.keys()].filter((k) => k.startsWith(prefix)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Applies the batch (trivially atomic: nothing else runs meanwhile). */
  apply(batch: VfsBatch): void {
    let dropped = false;
    for (const [pgno, bytes] of batch.pages ?? []) {
      if (bytes === null) {
        if (this.#pages.delete(pgno)) dropped = true;
      } else {
        this.#pages.set(pgno, bytes);
        if (pgno > this.#max) this.#max = pgno;
      }
    }
    if (dropped) {
      let max = 0;
      for (const pgno of this.#pages.keys()) if (pgno > max) max = pgno;
      this.#max = max;
    }
    for (const [key, bytes] of batch.records ?? []) {
      if (bytes === null) this.#records.delete(key);
      else this.#records.set(key, bytes);
    }
  }
}
