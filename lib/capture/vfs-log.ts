/**
 * The capture log of a sqlite-wasm database kept in a VfsStorage: committed transactions become
 * L0 LTX files shaped as Litestream shapes them (changed pages ascending, commit = database size in
 * pages, NoChecksum, WAL fields 32/0/0, TXID 1 a full snapshot).
 *
 * What the storage holds besides the pages (records):
 * - `pos`: the position, the TXID and page count of the newest L0 file made (and whether the next
 *   one must hold every page, after an adoption);
 * - `q/<seq>`: one record per committed transaction not yet in an L0 file: the page numbers it
 *   wrote, its page count and the smallest size it truncated to. Written in the same batch as the
 *   transaction's pages, so a crash after a commit loses nothing;
 * - `blob/<key>`: the queued L0 files (`ltx/0/<txid>-<txid>.ltx`), until every replica holds them.
 *
 * `sync()` merges every queued transaction into one L0 file (the pages' newest contents are the
 * stored pages, since the storage is at the newest commit) and applies, in one batch, the file, the
 * new position and the removal of the merged records. Its cost is proportional to the pages the
 * merged transactions wrote, never to the database size.
 */
import { LtxError } from "../errors.ts";
import { lockPgno } from "../ltx/checksum.ts";
import { encodeLtxBytes, type Page, type PageEncoding } from "../ltx/encoder.ts";
import { decodeHeader, HEADER_FLAG_NO_CHECKSUM, HEADER_SIZE, newHeader, type Header } from "../ltx/header.ts";
import { formatTXID } from "../ltx/txid.ts";
import { fileLayout } from "../replica/layout.ts";
import type { VfsBatch, VfsStorage } from "./vfs-storage.ts";

/** Record key of the position. */
export const POS_KEY = "pos";
/** Record key prefix of queued transactions. */
export const QUEUE_PREFIX = "q/";
/** Record key prefix of queued L0 files (followed by their replica key). */
export const BLOB_PREFIX = "blob/";

const dec = new TextDecoder();

/** The capture position: the newest L0 file made. */
export interface CapturePosition {
  /** TXID of the newest L0 file (0n before the first). */
  txid: bigint;
  /** Database size in pages at that TXID. */
  commit: number;
  /** True when the next L0 file must hold every page (the local database was not proven equal to the chain). */
  full: boolean;
}

/** One queued transaction (decoded `q/` record). */
interface Delta {
  commit: number;
  /** Smallest page count the transaction truncated to (commit when it did not shrink). */
  low: number;
}

/** Writes `v` big-endian at `o` (no DataView: making one costs more than a small record). */
function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** Big-endian u32 at `o`. */
function get32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * The queue record of a commit: its page count, smallest size, then the numbers of its stored
 * (non-null) pages, which are also appended to `out`.
 */
function encodeCommitRecord(c: CommitInput, out: number[]): Uint8Array {
  // Sized for every entry, then cut to the stored ones (dropped pages are rare): one pass.
  const b = new Uint8Array(8 + 4 * c.pages.size);
  put32(b, 0, c.commit);
  put32(b, 4, c.low);
  let o = 8;
  for (const [p, page] of c.pages) {
    if (page === null) continue;
    put32(b, o, p);
    out.push(p);
    o += 4;
  }
  return o === b.length ? b : b.slice(0, o);
}

/** Decodes a `q/` record, calling `page` for each page number it lists. */
function decodeDelta(key: string, b: Uint8Array, page: (pgno: number) => void): Delta {
  if (b.length < 8 || b.length % 4 !== 0) throw new LtxError("INVALID_STATE", `queued transaction record ${key} is malformed (${b.length} bytes)`);
  for (let o = 8; o < b.length; o += 4) page(get32(b, o));
  return { commit: get32(b, 0), low: get32(b, 4) };
}

/**
 * Encodes a position record: the JSON text `{"txid":"<16 hex>","commit":<n>,"full":<bool>}` (what
 * JSON.stringify writes for it), built as ASCII bytes directly, since every sync writes one.
 */
export function encodePosition(p: CapturePosition): Uint8Array {
  if (!Number.isSafeInteger(p.commit) || p.commit < 0) throw new LtxError("INVALID_ARGUMENT", `capture position commit ${p.commit} is not a page count`);
  const text = `{"txid":"${formatTXID(p.txid)}","commit":${p.commit},"full":${p.full ? "true" : "false"}}`;
  const b = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) b[i] = text.charCodeAt(i);
  return b;
}

function decodePosition(b: Uint8Array): CapturePosition {
  try {
    const o = JSON.parse(dec.decode(b)) as { txid: string; commit: number; full: boolean };
    if (!/^[0-9a-f]{16}$/.test(o.txid) || !Number.isInteger(o.commit) || o.commit < 0) throw new Error("bad fields");
    return { txid: BigInt("0x" + o.txid), commit: o.commit, full: o.full === true };
  } catch (e) {
    throw new LtxError("INVALID_STATE", `capture position record is malformed: ${(e as Error).message}`, { cause: e });
  }
}

/** SQLite page size from page 1 (bytes 16-17; 1 means 65536), or 0 when not a SQLite header. */
export function headerPageSize(page1: Uint8Array | undefined): number {
  if (!page1 || page1.length < 100) return 0;
  const raw = (page1[16]! << 8) | page1[17]!;
  return raw === 1 ? 65536 : raw;
}

/** Options of a CaptureLog. */
export interface CaptureLogOptions {
  /** Page encoding of the L0 files (default "block", what Litestream v0.5.16 writes). */
  pageEncoding?: PageEncoding;
  /**
   * Compress the pages of L0 files (default false: each page is stored, a literal-only LZ4 block in
   * encoding "block", which every reader decodes). Storing costs a copy per page instead of an LZ4
   * compression, on the commit path's thread; compaction writes levels 1 and up compressed, so only
   * L0 files, short-lived, are larger by what their pages would have compressed.
   */
  compressL0?: boolean;
  /** Clock for L0 timestamps (ms). */
  now?: () => number;
}

/** A commit handed to the log by the VFS: the pages that changed (null: dropped) and the new size. */
export interface CommitInput {
  pages: Map<number, Uint8Array | null>;
  /** Database size in pages after the transaction. */
  commit: number;
  /** Smallest size (pages) the transaction truncated to, or commit. */
  low: number;
}

/** A point-in-time view of the stored pages kept while a snapshot body is read (copy on write). */
interface SnapshotView {
  saved: Map<number, Uint8Array | null>;
}

/** Queued state, for status. */
export interface QueueStatus {
  /** Committed transactions not yet in an L0 file. */
  commits: number;
  /** L0 files kept locally: the unshipped ones, the newest, and shipped ones the next level-1 compaction reads instead of fetching them back. */
  files: number;
  /** Bytes of those L0 files. */
  bytes: number;
}

/** The capture log over one VfsStorage (see the module comment). */
export class CaptureLog {
  readonly storage: VfsStorage;
  #o: CaptureLogOptions;
  #pos: CapturePosition;
  #seq: number;
  /**
   * The queue as the records hold it, kept in memory so a sync reads no record: the keys of the
   * queued transactions, the page numbers they wrote (repeats included), the newest page count
   * and the smallest size since the position.
   */
  #qKeys: string[] = [];
  #qPages: number[] = [];
  #qCommit = 0;
  #qLow = Infinity;
  #views = new Set<SnapshotView>();
  #listeners = new Set<() => void>();

  constructor(storage: VfsStorage, o: CaptureLogOptions = {}) {
    this.storage = storage;
    this.#o = o;
    const p = storage.getRecord(POS_KEY);
    this.#pos = p ? decodePosition(p) : { txid: 0n, commit: 0, full: false };
    const q = storage.listRecords(QUEUE_PREFIX);
    const add = (p: number) => void this.#qPages.push(p);
    for (const k of q) {
      const d = decodeDelta(k, storage.getRecord(k) ?? new Uint8Array(0), add);
      this.#qCommit = d.commit;
      if (d.low < this.#qLow) this.#qLow = d.low;
    }
    this.#qKeys = q;
    this.#seq = q.length ? parseInt(q[q.length - 1]!.slice(QUEUE_PREFIX.length), 16) + 1 : 0;
  }

  /** The position (newest L0 file). */
  get position(): CapturePosition {
    return { ...this.#pos };
  }

  /** Page size of the stored database (0 while it is empty). */
  get pageSize(): number {
    return headerPageSize(this.storage.getPage(1));
  }

  /** Calls `fn` after each commit; returns a function that stops it. */
  onCommit(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => void this.#listeners.delete(fn);
  }

  /**
   * Applies one committed transaction: its pages and its queue record, in one batch. With
   * `exchange`, the storage may keep the page arrays: it then returns the arrays it replaced (the
   * caller's from then on) and the caller must not touch the ones it handed over (VfsBatch.exchange);
   * undefined means they were copied.
   */
  commit(c: CommitInput, exchange = false): Uint8Array[] | undefined {
    const key = QUEUE_PREFIX + this.#seq.toString(16).padStart(16, "0");
    const records = new Map<string, Uint8Array | null>();
    const n = this.#qPages.length;
    records.set(key, encodeCommitRecord(c, this.#qPages));
    const batch: VfsBatch = { pages: c.pages, records };
    if (exchange) batch.exchange = true;
    let released: Uint8Array[] | undefined;
    try {
      this.#preserve(c.pages);
      released = this.storage.apply(batch) ?? undefined;
    } catch (e) {
      this.#qPages.length = n; // not committed: not queued
      throw e;
    }
    this.#seq++;
    this.#qKeys.push(key);
    this.#qCommit = c.commit;
    if (c.low < this.#qLow) this.#qLow = c.low;
    for (const fn of this.#listeners) {
      try {
        fn();
      } catch {
        // a listener's failure is not the commit's
      }
    }
    return released;
  }

  /**
   * Copy on write for open snapshot views: keeps a copy of the old version of each page about to
   * change (a copy: the storage may update the page in place).
   */
  #preserve(pages: Iterable<number> | Map<number, unknown>): void {
    if (this.#views.size === 0) return;
    const keys = pages instanceof Map ? pages.keys() : pages;
    for (const p of keys) {
      let old: Uint8Array | null | undefined;
      for (const v of this.#views) {
        if (v.saved.has(p)) continue;
        if (old === undefined) old = this.storage.getPage(p)?.slice() ?? null;
        v.saved.set(p, old);
      }
    }
  }

  /** Queue counts and bytes. */
  queueStatus(): QueueStatus {
    const keys = this.storage.listRecords(BLOB_PREFIX);
    let bytes = 0;
    for (const k of keys) bytes += this.storage.getRecord(k)?.length ?? 0;
    return { commits: this.#qKeys.length, files: keys.length, bytes };
  }

  #page(p: number, ps: number): Uint8Array {
    const b = this.storage.getPage(p);
    if (!b) return new Uint8Array(ps);
    if (b.length !== ps) throw new LtxError("INVALID_STATE", `stored page ${p} is ${b.length} bytes, not the page size ${ps}`);
    return b;
  }

  /**
   * Merges every queued transaction into one L0 file at the next TXID (a full snapshot for TXID 1
   * or after an adoption); returns the position's TXID. Synchronous, so no commit interleaves.
   */
  sync(): bigint {
    const keys = this.#qKeys;
    const pos = this.#pos;
    if (keys.length === 0 && !(pos.full && this.storage.maxPage() > 0)) return pos.txid;
    const ps = this.pageSize;
    const commit = keys.length ? this.#qCommit : this.storage.maxPage();
    const low = this.#qLow < pos.commit ? this.#qLow : pos.commit;
    const records = new Map<string, Uint8Array | null>();
    for (const k of keys) records.set(k, null);
    if (commit === 0 || ps === 0) {
      // Nothing stored (a database never written): drop the records, keep the position.
      this.storage.apply({ records });
      this.#clearQueue();
      return pos.txid;
    }
    const txid = pos.txid + 1n;
    const full = txid === 1n || pos.full;
    const lock = lockPgno(ps);
    let pgnos: number[];
    if (full) {
      pgnos = [];
      for (let p = 1; p <= commit; p++) if (p !== lock) pgnos.push(p);
    } else {
      // Pages written, plus every page above the smallest size since the position (growth, and
      // pages dropped then re-grown), all within the new size: sorted as numbers, repeats dropped.
      const written = this.#qPages;
      const all = new Uint32Array(written.length + Math.max(0, commit - low));
      let n = 0;
      for (let i = 0; i < written.length; i++) all[n++] = written[i]!;
      for (let p = low + 1; p <= commit; p++) all[n++] = p;
      all.sort();
      pgnos = [];
      let prev = 0;
      for (let i = 0; i < n; i++) {
        const p = all[i]!;
        if (p === prev) continue;
        prev = p;
        if (p > commit) break;
        if (p !== lock) pgnos.push(p);
      }
      if (pgnos.length === 0) pgnos.push(1); // a shrink that changed no page still needs a frame
    }
    const timestamp = this.#now();
    const header: Header = newHeader({ flags: HEADER_FLAG_NO_CHECKSUM, pageSize: ps, commit, minTXID: txid, maxTXID: txid, timestamp, walOffset: 32 });
    const pages: Page[] = pgnos.map((p) => ({ pgno: p, data: this.#page(p, ps) }));
    const file = encodeLtxBytes(header, pages, { pageEncoding: this.#o.pageEncoding ?? "block", compress: this.#o.compressL0 ?? false });
    const next: CapturePosition = { txid, commit, full: false };
    records.set(BLOB_PREFIX + fileLayout.key(0, txid, txid), file);
    records.set(POS_KEY, encodePosition(next));
    this.storage.apply({ records });
    this.#pos = next;
    this.#clearQueue();
    return txid;
  }

  #clearQueue(): void {
    this.#qKeys = [];
    this.#qPages = [];
    this.#qCommit = 0;
    this.#qLow = Infinity;
  }

  /**
   * A full snapshot at the position (after merging the queue): MinTXID 1, MaxTXID = the position,
   * pages 1..commit. Pages are read lazily; commits meanwhile keep the old versions for the reader
   * (copy on write), until `release()`.
   */
  snapshot(): { header: Header; pages: () => Generator<Page>; release: () => void } {
    this.sync();
    const pos = this.#pos;
    if (pos.txid === 0n) throw new LtxError("INVALID_STATE", "nothing captured yet: no snapshot to take");
    const ps = this.pageSize;
    const view: SnapshotView = { saved: new Map() };
    this.#views.add(view);
    const header = newHeader({ flags: HEADER_FLAG_NO_CHECKSUM, pageSize: ps, commit: pos.commit, minTXID: 1n, maxTXID: pos.txid, timestamp: this.#now(), walOffset: 32 });
    const lock = lockPgno(ps);
    const self = this;
    return {
      header,
      *pages() {
        for (let p = 1; p <= pos.commit; p++) {
          if (p === lock) continue;
          const saved = view.saved.get(p);
          // A stored page is copied: the reader may hold it while a commit updates it in place.
          const data = saved === undefined ? self.#page(p, ps).slice() : (saved ?? new Uint8Array(ps));
          yield { pgno: p, data };
        }
      },
      release: () => void this.#views.delete(view),
    };
  }

  /**
   * Adopts a remote L0 file as the position (a replica ahead of the local one). At the same TXID
   * (a database restored from that replica) only the file is kept; ahead of it, the next L0 file
   * holds every page, since the local pages are not proven equal to the chain.
   */
  adopt(txid: bigint, file: Uint8Array): void {
    if (file.length < HEADER_SIZE) throw new LtxError("INVALID_LTX_FILE", `adopted file is ${file.length} bytes`);
    const h = decodeHeader(file);
    if (h.maxTXID !== txid) throw new LtxError("INVALID_ARGUMENT", `adopted file ends at txid ${h.maxTXID}, not ${txid}`);
    const records = new Map<string, Uint8Array | null>();
    for (const k of this.storage.listRecords(BLOB_PREFIX)) records.set(k, null);
    records.set(BLOB_PREFIX + fileLayout.key(0, h.minTXID, h.maxTXID), file);
    const same = txid === this.#pos.txid;
    const next: CapturePosition = { txid, commit: same ? this.#pos.commit : h.commit, full: same ? this.#pos.full : true };
    records.set(POS_KEY, encodePosition(next));
    this.storage.apply({ records });
    this.#pos = next;
  }

  #now(): number {
    return this.#o.now ? this.#o.now() : Date.now();
  }
}
