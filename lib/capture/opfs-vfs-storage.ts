/**
 * VfsStorage over OPFS sync access handles (browsers, inside a dedicated Worker: the only place
 * `createSyncAccessHandle` exists). Three files in one directory:
 *
 * - `journal-a`, `journal-b`: append-only journals. Each starts with a 32-byte header (`LTXJ`,
 *   version, generation) and a snapshot entry of every live record, followed by one entry per
 *   `apply` (its pages and records), each entry framed with its length and an xxh32 checksum (the
 *   format: opfs-journal.ts).
 * - `pages`: a 32-byte header (`LTXP`, version, page size), then one slot per page number: an 8-byte
 *   slot header (the page number when present, 0 when absent; the length) and the page.
 *
 * `apply` encodes the batch as one entry, appends it to the active journal and flushes the journal:
 * that flush is the commit point. Then it writes the pages into their slots (no flush) and points
 * the record index at the entry. Opening replays the active journal onto the page file (idempotent)
 * and rebuilds the record index from it; an entry whose length or checksum does not hold (a write
 * cut short) ends the journal and is cut off. So after a crash at any point either the whole batch
 * is visible or none of it is.
 *
 * When the journal outgrows twice its live records (and 4 MiB), it is compacted: the page file is
 * flushed, the live records are written as the snapshot of a journal of the next generation in the
 * other file, flushed, and the old file is truncated. Opening picks the newest generation whose
 * header and snapshot are whole, so a compaction cut short leaves the old journal in charge.
 *
 * A page size change (VACUUM after `PRAGMA page_size`) is supported when the batch rewrites every
 * stored page (as VACUUM does): the page file is laid out anew. Handles are exclusive: a second
 * storage on the same directory (another tab or worker) fails to open until `close()` or the
 * worker's end releases them.
 *
 * @module
 */
import { LtxError } from "../errors.ts";
import { encodeEntry, encodeJournalHead, FILE_HEADER, F_LAYOUT, F_SNAPSHOT, NONE, parseEntry, readJournalHead, VERSION, view, type Entry } from "./opfs-journal.ts";
import { SortedKeys, type VfsBatch, type VfsStorage } from "./vfs-storage.ts";

/** The part of a `FileSystemSyncAccessHandle` the storage uses. */
export interface OpfsSyncAccessHandle {
  read(buffer: Uint8Array, options?: { at?: number }): number;
  write(buffer: Uint8Array, options?: { at?: number }): number;
  truncate(newSize: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

/** The part of a `FileSystemFileHandle` the storage uses (in a Worker). */
export interface OpfsSyncFileHandle {
  createSyncAccessHandle(): Promise<OpfsSyncAccessHandle>;
}

/** The part of a `FileSystemDirectoryHandle` the storage uses. */
export interface OpfsSyncDirectoryHandle {
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<OpfsSyncDirectoryHandle>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<OpfsSyncFileHandle>;
}

/** Options of OpfsVfsStorage.open. */
export interface OpfsVfsStorageOptions {
  /** Directory holding the three files. Default: the OPFS root. */
  directory?: OpfsSyncDirectoryHandle;
  /** Sub-directory of `directory` (created when missing), `/`-separated, e.g. `"db/main"`. */
  path?: string;
  /** Journal size (bytes) above which compaction is considered (default 4 MiB). */
  compactBytes?: number;
}

const P_MAGIC = 0x5058544c; // "LTXP"
const SLOT_HEADER = 8;
const MAX_PAGE = 65536;

interface RecordLoc {
  file: 0 | 1;
  at: number;
  len: number;
}

/** Durable VfsStorage in the Origin Private File System, over sync access handles (Worker only). */
export class OpfsVfsStorage implements VfsStorage {
  readonly #journals: [OpfsSyncAccessHandle, OpfsSyncAccessHandle];
  readonly #pagesFile: OpfsSyncAccessHandle;
  readonly #compactBytes: number;
  #active: 0 | 1 = 0;
  #gen = 0n;
  #end = 0;
  #pageSize = 0;
  #present = new Uint8Array(0);
  #max = 0;
  #records = new Map<string, RecordLoc>();
  #keys = new SortedKeys((k) => this.#records.has(k));
  #liveBytes = 0;
  #closed = false;

  private constructor(a: OpfsSyncAccessHandle, b: OpfsSyncAccessHandle, pages: OpfsSyncAccessHandle, compactBytes: number) {
    this.#journals = [a, b];
    this.#pagesFile = pages;
    this.#compactBytes = compactBytes;
  }

  /**
   * Opens (or creates) the storage in `opts.directory`/`opts.path`, replaying its journal. Only in a
   * dedicated Worker; fails with IO_ERROR when another storage holds the files.
   */
  static async open(opts: OpfsVfsStorageOptions = {}): Promise<OpfsVfsStorage> {
    let dir = opts.directory;
    if (!dir) {
      const nav = (globalThis as { navigator?: { storage?: { getDirectory?: () => Promise<unknown> } } }).navigator;
      if (typeof nav?.storage?.getDirectory !== "function") throw new LtxError("UNSUPPORTED", "OpfsVfsStorage needs the Origin Private File System (navigator.storage.getDirectory)");
      dir = (await nav.storage.getDirectory()) as OpfsSyncDirectoryHandle;
    }
    const handles: OpfsSyncAccessHandle[] = [];
    try {
      for (const seg of (opts.path ?? "").split("/").filter(Boolean)) dir = await dir.getDirectoryHandle(seg, { create: true });
      for (const name of ["journal-a", "journal-b", "pages"]) {
        const fh = await dir.getFileHandle(name, { create: true });
        if (typeof fh.createSyncAccessHandle !== "function") throw new LtxError("UNSUPPORTED", "OpfsVfsStorage needs createSyncAccessHandle (a dedicated Worker)");
        handles.push(await fh.createSyncAccessHandle());
      }
    } catch (e) {
      for (const h of handles) h.close();
      if (e instanceof LtxError) throw e;
      throw ioError(`open OPFS storage ${JSON.stringify(opts.path ?? "")}`, e);
    }
    const s = new OpfsVfsStorage(handles[0]!, handles[1]!, handles[2]!, opts.compactBytes ?? 4 << 20);
    try {
      s.#load();
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  }

  /** The stored bytes of page `pgno`, or undefined. */
  getPage(pgno: number): Uint8Array | undefined {
    this.#check();
    if (!Number.isSafeInteger(pgno) || pgno < 1 || pgno > this.#max || !this.#present[pgno]) return undefined;
    const out = new Uint8Array(this.#pageSize);
    const at = this.#slot(pgno) + SLOT_HEADER;
    if (this.#pagesFile.read(out, { at }) !== out.length) throw new LtxError("IO_ERROR", `OPFS storage: page ${pgno} is cut short`);
    return out;
  }

  /** The highest stored page number (0 when empty). */
  maxPage(): number {
    this.#check();
    return this.#max;
  }

  /** The record under `key`, or undefined. */
  getRecord(key: string): Uint8Array | undefined {
    this.#check();
    const loc = this.#records.get(key);
    if (!loc) return undefined;
    const out = new Uint8Array(loc.len);
    if (loc.len && this.#journals[loc.file].read(out, { at: loc.at }) !== loc.len) throw new LtxError("IO_ERROR", `OPFS storage: record ${JSON.stringify(key)} is cut short`);
    return out;
  }

  /** The keys of every record starting with `prefix`, ascending. */
  listRecords(prefix: string): string[] {
    this.#check();
    return this.#keys.list(prefix);
  }

  /** Appends the batch to the journal and flushes it (the commit point), then applies it. */
  apply(batch: VfsBatch): void {
    this.#check();
    let size = 0;
    for (const [pgno, bytes] of batch.pages ?? []) {
      if (!Number.isSafeInteger(pgno) || pgno < 1 || pgno > 0x7fffffff) throw new LtxError("INVALID_ARGUMENT", `OPFS storage: invalid page number ${pgno}`);
      if (bytes === null) continue;
      if (!size) size = bytes.length;
      if (bytes.length !== size || size < 512 || size > MAX_PAGE || (size & (size - 1)) !== 0) throw new LtxError("INVALID_ARGUMENT", `OPFS storage: a batch's pages must share one power-of-two size (got ${bytes.length} and ${size})`);
    }
    let layout = false;
    if (size && size !== this.#pageSize) {
      // A new layout: allowed when the page file is empty or the batch replaces every stored page.
      for (let p = 1; p <= this.#max; p++) {
        if (this.#present[p] && !batch.pages!.has(p)) throw new LtxError("UNSUPPORTED", `OPFS storage: page size ${this.#pageSize} → ${size} without rewriting page ${p}`);
      }
      layout = true;
    }
    const enc = encodeEntry(batch, (layout ? F_LAYOUT : 0), size || this.#pageSize);
    const journal = this.#journals[this.#active];
    writeAll(journal, enc, this.#end);
    journal.flush();
    const entry = parseEntry(enc, 0, enc.length)!;
    this.#applyEntry(entry, this.#end, enc, 0);
    this.#end += enc.length;
    if (this.#end > this.#compactBytes && this.#end > 2 * (this.#liveBytes + FILE_HEADER)) this.#compact();
  }

  /** Flushes and releases the file handles (they are exclusive). Further calls throw. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const h of [...this.#journals, this.#pagesFile]) {
      try {
        h.flush();
      } catch {
        // closing anyway
      }
      h.close();
    }
  }

  #check(): void {
    if (this.#closed) throw new LtxError("INVALID_STATE", "OPFS storage is closed");
  }

  #slot(pgno: number): number {
    return FILE_HEADER + (pgno - 1) * (this.#pageSize + SLOT_HEADER);
  }

  #load(): void {
    // Choose the journal: the newest generation whose header and snapshot entry are whole.
    const heads = this.#journals.map((h) => readJournalHead(h));
    const order = [0, 1].filter((i) => heads[i]).sort((x, y) => (heads[y]!.gen > heads[x]!.gen ? 1 : -1)) as (0 | 1)[];
    const chosen = order[0];
    // The page file's layout.
    const pf = this.#pagesFile;
    const psize = pf.getSize();
    if (psize >= FILE_HEADER) {
      const h = new Uint8Array(FILE_HEADER);
      pf.read(h, { at: 0 });
      const dv = view(h);
      if (dv.getUint32(0, true) === P_MAGIC && dv.getUint32(4, true) === VERSION) this.#pageSize = dv.getUint32(8, true);
    }
    if (chosen === undefined) {
      if (psize > 0 && this.#pageSize === 0) throw new LtxError("IO_ERROR", "OPFS storage: page file without a journal");
      this.#pageSize = 0;
      pf.truncate(0);
      this.#startJournal(0, 1n, []);
      this.#journals[1].truncate(0);
      this.#journals[1].flush();
      return;
    }
    this.#active = chosen;
    this.#gen = heads[chosen]!.gen;
    const j = this.#journals[chosen];
    const bytes = new Uint8Array(j.getSize());
    j.read(bytes, { at: 0 });
    const entries: [Entry, number][] = [];
    let at = FILE_HEADER;
    for (;;) {
      const e = parseEntry(bytes, at, bytes.length);
      if (!e) break;
      entries.push([e, at]);
      at += e.size;
    }
    if (at < bytes.length) {
      j.truncate(at); // a write cut short: never committed
      j.flush();
    }
    this.#end = at;
    // Pages: from the page file as it is, then every entry again (from the last layout on).
    let lastLayout = -1;
    entries.forEach(([e], i) => {
      if (e.flags & F_LAYOUT) lastLayout = i;
    });
    if (lastLayout < 0 && psize > 0 && this.#pageSize === 0) throw new LtxError("IO_ERROR", "OPFS storage: page file header is damaged");
    if (lastLayout < 0) this.#scanPages();
    entries.forEach(([e, off], i) => this.#applyEntry(e, off, bytes, off, i < lastLayout));
    // The other journal is stale (an older generation or a compaction cut short).
    const other = this.#journals[chosen ^ 1];
    if (other.getSize() > 0) {
      other.truncate(0);
      other.flush();
    }
  }

  #scanPages(): void {
    const pf = this.#pagesFile;
    if (!this.#pageSize) return;
    const slot = this.#pageSize + SLOT_HEADER;
    const n = Math.floor(Math.max(0, pf.getSize() - FILE_HEADER) / slot);
    this.#present = new Uint8Array(n + 1);
    this.#max = 0;
    const h = new Uint8Array(SLOT_HEADER);
    for (let p = 1; p <= n; p++) {
      pf.read(h, { at: this.#slot(p) });
      if (view(h).getUint32(0, true) === p) {
        this.#present[p] = 1;
        this.#max = p;
      }
    }
  }

  /** Applies one entry found at `off` of the active journal (`src` holds its bytes from `base`). */
  #applyEntry(e: Entry, off: number, src: Uint8Array, base: number, recordsOnly = false): void {
    const pf = this.#pagesFile;
    if (!recordsOnly) {
      if (e.flags & F_LAYOUT) {
        pf.truncate(0);
        const h = new Uint8Array(FILE_HEADER);
        const dv = view(h);
        dv.setUint32(0, P_MAGIC, true);
        dv.setUint32(4, VERSION, true);
        dv.setUint32(8, e.pageSize, true);
        writeAll(pf, h, 0);
        this.#pageSize = e.pageSize;
        this.#present = new Uint8Array(0);
        this.#max = 0;
      }
      let dropped = false;
      const sh = new Uint8Array(SLOT_HEADER);
      for (const [pgno, at, len] of e.pages) {
        if (at === NONE) {
          if (pgno <= this.#max && this.#present[pgno]) {
            this.#present[pgno] = 0;
            writeAll(pf, new Uint8Array(SLOT_HEADER), this.#slot(pgno));
            dropped = true;
          }
          continue;
        }
        view(sh).setUint32(0, pgno, true);
        view(sh).setUint32(4, len, true);
        writeAll(pf, sh, this.#slot(pgno));
        writeAll(pf, src.subarray(base + at, base + at + len), this.#slot(pgno) + SLOT_HEADER);
        if (pgno >= this.#present.length) {
          const grown = new Uint8Array(Math.max(pgno + 1, this.#present.length * 2));
          grown.set(this.#present);
          this.#present = grown;
        }
        this.#present[pgno] = 1;
        if (pgno > this.#max) this.#max = pgno;
      }
      if (dropped) {
        while (this.#max > 0 && !this.#present[this.#max]) this.#max--;
        pf.truncate(this.#max ? this.#slot(this.#max + 1) : FILE_HEADER);
      }
    }
    for (const [key, at, len] of e.records) {
      const old = this.#records.get(key);
      if (old) this.#liveBytes -= old.len + key.length;
      if (at === NONE) {
        if (this.#records.delete(key)) this.#keys.deleted(key);
      } else {
        if (!old) this.#keys.added(key);
        this.#records.set(key, { file: this.#active, at: off + at, len });
        this.#liveBytes += len + key.length;
      }
    }
  }

  #compact(): void {
    this.#pagesFile.flush();
    const next = (this.#active ^ 1) as 0 | 1;
    const live: [string, Uint8Array][] = [];
    for (const key of [...this.#records.keys()].sort()) live.push([key, this.getRecord(key)!]);
    this.#startJournal(next, this.#gen + 1n, live);
    const old = this.#journals[next ^ 1];
    old.truncate(0);
    old.flush();
  }

  /** Writes a journal of generation `gen` into file `i`: header and snapshot, flushed; makes it active. */
  #startJournal(i: 0 | 1, gen: bigint, live: [string, Uint8Array][]): void {
    const j = this.#journals[i];
    j.truncate(0);
    const snap = encodeEntry({ records: new Map(live) }, F_SNAPSHOT, 0);
    writeAll(j, encodeJournalHead(gen), 0);
    writeAll(j, snap, FILE_HEADER);
    j.flush();
    this.#active = i;
    this.#gen = gen;
    this.#records.clear();
    this.#keys.clear();
    this.#liveBytes = 0;
    this.#applyEntry(parseEntry(snap, 0, snap.length)!, FILE_HEADER, snap, 0, true);
    this.#end = FILE_HEADER + snap.length;
  }
}

function writeAll(h: OpfsSyncAccessHandle, data: Uint8Array, at: number): void {
  let done = 0;
  while (done < data.length) {
    const n = h.write(data.subarray(done), { at: at + done });
    if (!(n > 0)) throw new LtxError("IO_ERROR", `OPFS storage: write of ${data.length} bytes at ${at} stopped after ${done}`);
    done += n;
  }
}

function ioError(what: string, e: unknown): LtxError {
  const name = typeof e === "object" && e !== null && "name" in e ? String((e as { name: unknown }).name) : "error";
  const why = name === "NoModificationAllowedError" ? " (another tab or worker holds this storage)" : "";
  return new LtxError("IO_ERROR", `${what}: ${name}: ${e instanceof Error ? e.message : String(e)}${why}`, { cause: e });
}
