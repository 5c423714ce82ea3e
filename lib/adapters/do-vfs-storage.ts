/**
 * A VfsStorage inside a Durable Object: the pages of one database and its records (queued L0 files,
 * positions) live in the object's own SQLite storage (`ctx.storage.sql`), which is synchronous, so
 * the capture VFS writes them from its synchronous callbacks. `apply` runs in
 * `ctx.storage.transactionSync`, so a batch is applied whole or not at all. Durability is the
 * Durable Object's: writes are confirmed before the object's next output (response, fetch) leaves
 * it, so a commit acknowledged to a client survives the object's restart.
 *
 * DO SQL values are limited to 2 MB: records are stored in chunks of at most 1 MiB (an L0 file of a
 * large transaction is larger). Pages are at most 64 KiB and stored whole.
 */
import { LtxError } from "../errors.ts";
import type { VfsBatch, VfsStorage } from "../capture/vfs-storage.ts";

/** The part of a Durable Object SQL cursor (SqlStorageCursor) used. */
export interface SqlCursorLike {
  toArray(): Record<string, unknown>[];
}

/** The part of `ctx.storage` (DurableObjectStorage) used: its SQL interface and synchronous transactions. */
export interface DurableObjectStorageLike {
  sql: { exec(query: string, ...bindings: unknown[]): SqlCursorLike };
  transactionSync<T>(fn: () => T): T;
}

/** Options of {@link DurableObjectVfsStorage}. */
export interface DurableObjectVfsStorageOptions {
  /** Name of this database inside the object (several may share one object); letters, digits, `_`. Default "main". */
  name?: string;
  /** Largest stored value of a record chunk (default and maximum 1 MiB). */
  chunkBytes?: number;
}

const MAX_CHUNK = 1 << 20;
const MAX_PAGE = 65536;

/** VfsStorage over a Durable Object's SQLite storage (`ctx.storage`). */
export class DurableObjectVfsStorage implements VfsStorage {
  readonly #storage: DurableObjectStorageLike;
  readonly #pages: string;
  readonly #records: string;
  readonly #chunk: number;
  #max: number;

  constructor(storage: DurableObjectStorageLike, opts: DurableObjectVfsStorageOptions = {}) {
    if (!storage?.sql || typeof storage.transactionSync !== "function") throw new LtxError("INVALID_ARGUMENT", "DurableObjectVfsStorage: ctx.storage of a SQLite-backed Durable Object is required");
    const name = opts.name ?? "main";
    if (!/^[A-Za-z0-9_]{1,64}$/.test(name)) throw new LtxError("INVALID_ARGUMENT", `DurableObjectVfsStorage: invalid name ${JSON.stringify(name)} (letters, digits, _)`);
    const chunk = opts.chunkBytes ?? MAX_CHUNK;
    if (!Number.isSafeInteger(chunk) || chunk < 1 || chunk > MAX_CHUNK) throw new LtxError("INVALID_ARGUMENT", `DurableObjectVfsStorage: chunkBytes must be 1..${MAX_CHUNK}`);
    this.#storage = storage;
    this.#chunk = chunk;
    this.#pages = `ltxkit_${name}_pages`;
    this.#records = `ltxkit_${name}_records`;
    this.#exec(`CREATE TABLE IF NOT EXISTS ${this.#pages} (pgno INTEGER PRIMARY KEY, data BLOB NOT NULL)`);
    this.#exec(`CREATE TABLE IF NOT EXISTS ${this.#records} (key TEXT NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (key, part)) WITHOUT ROWID`);
    this.#max = this.#queryMax();
  }

  /** The stored bytes of page `pgno`, or undefined. */
  getPage(pgno: number): Uint8Array | undefined {
    const rows = this.#exec(`SELECT data FROM ${this.#pages} WHERE pgno = ?`, pgno);
    return rows.length ? toBytes(rows[0]!.data) : undefined;
  }

  /** The highest stored page number (0 when empty). */
  maxPage(): number {
    return this.#max;
  }

  /** The record under `key` (its chunks joined), or undefined. */
  getRecord(key: string): Uint8Array | undefined {
    const rows = this.#exec(`SELECT data FROM ${this.#records} WHERE key = ? ORDER BY part`, key);
    if (!rows.length) return undefined;
    if (rows.length === 1) return toBytes(rows[0]!.data);
    const parts = rows.map((r) => toBytes(r.data));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** The keys of every record starting with `prefix`, ascending by JavaScript string order. */
  listRecords(prefix: string): string[] {
    // Every key with the prefix sorts at or after it in SQLite's binary order too. When the prefix
    // ends in an ASCII character, every such key also sorts before the prefix with that character
    // incremented, so the index range stops there instead of running to the end of the table.
    const last = prefix.charCodeAt(prefix.length - 1);
    const rows =
      last < 0x7f
        ? this.#exec(`SELECT DISTINCT key FROM ${this.#records} WHERE key >= ? AND key < ? ORDER BY key`, prefix, prefix.slice(0, -1) + String.fromCharCode(last + 1))
        : this.#exec(`SELECT DISTINCT key FROM ${this.#records} WHERE key >= ? ORDER BY key`, prefix);
    // SQLite orders by UTF-8 bytes, JavaScript by UTF-16 units: they differ only past U+FFFF, so the sort stays.
    return rows.map((r) => String(r.key)).filter((k) => k.startsWith(prefix)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Applies the batch in one `transactionSync`: all of it or (on any error) none of it. */
  apply(batch: VfsBatch): void {
    let dropped = false;
    let grown = this.#max;
    this.#storage.transactionSync(() => {
      for (const [pgno, bytes] of batch.pages ?? []) {
        if (!Number.isSafeInteger(pgno) || pgno < 1) throw new LtxError("INVALID_ARGUMENT", `DurableObjectVfsStorage: invalid page number ${pgno}`);
        if (bytes === null) {
          this.#exec(`DELETE FROM ${this.#pages} WHERE pgno = ?`, pgno);
          dropped = true;
        } else {
          if (!(bytes instanceof Uint8Array) || bytes.length > MAX_PAGE) throw new LtxError("INVALID_ARGUMENT", `DurableObjectVfsStorage: page ${pgno} must be a Uint8Array of at most ${MAX_PAGE} bytes`);
          this.#exec(`INSERT OR REPLACE INTO ${this.#pages} (pgno, data) VALUES (?, ?)`, pgno, toBuffer(bytes));
          if (pgno > grown) grown = pgno;
        }
      }
      for (const [key, bytes] of batch.records ?? []) {
        if (typeof key !== "string" || key === "") throw new LtxError("INVALID_ARGUMENT", `DurableObjectVfsStorage: invalid record key ${JSON.stringify(key)}`);
        this.#exec(`DELETE FROM ${this.#records} WHERE key = ?`, key);
        if (bytes === null) continue;
        if (!(bytes instanceof Uint8Array)) throw new LtxError("INVALID_ARGUMENT", `DurableObjectVfsStorage: record ${JSON.stringify(key)} must be a Uint8Array`);
        // An empty record is one empty chunk, so it still exists.
        let part = 0;
        for (let o = 0; o === 0 || o < bytes.length; o += this.#chunk) {
          this.#exec(`INSERT INTO ${this.#records} (key, part, data) VALUES (?, ?, ?)`, key, part++, toBuffer(bytes.subarray(o, o + this.#chunk)));
        }
      }
    });
    this.#max = dropped ? this.#queryMax() : grown;
  }

  #queryMax(): number {
    const rows = this.#exec(`SELECT max(pgno) AS m FROM ${this.#pages}`);
    return Number(rows[0]?.m ?? 0);
  }

  #exec(query: string, ...bindings: unknown[]): Record<string, unknown>[] {
    try {
      return this.#storage.sql.exec(query, ...bindings).toArray();
    } catch (e) {
      throw new LtxError("IO_ERROR", `Durable Object storage: ${query.split(" (")[0]} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
}

function toBytes(v: unknown): Uint8Array {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  throw new LtxError("IO_ERROR", `Durable Object storage returned a ${typeof v} where a blob was stored`);
}

/** An ArrayBuffer holding exactly these bytes (DO SQL binds ArrayBuffers as blobs). */
function toBuffer(b: Uint8Array): ArrayBuffer {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer ? b.buffer : (b.slice().buffer as ArrayBuffer);
}
