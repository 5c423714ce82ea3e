/**
 * The L0 source of a captured sqlite-wasm database, for the Replicator: its `local` replica is a
 * BlobStore over the queued L0 records of the VfsStorage (so a durable storage keeps them across a
 * restart until every replica holds them), `sync()` merges the queued transactions into the next
 * L0 file, `snapshot()` streams a full snapshot at the position, `adoptRemote()` takes a replica's
 * position.
 */
import { LtxError } from "../errors.ts";
import { encodeLtx } from "../ltx/encoder.ts";
import type { PageEncoding } from "../ltx/encoder.ts";
import type { L0Source } from "../replica/replicator-types.ts";
import { memoryReplica, type Replica } from "../replica/replica.ts";
import type { BlobInfo, BlobStore, ByteRange, DeleteOptions, GetOptions, ListOptions, PutBody, PutOptions } from "../store/blob-store.ts";
import { chunkSizeOf, collectBody, sliceRange } from "../store/body.ts";
import { BLOB_PREFIX, type CaptureLog } from "./vfs-log.ts";
import type { VfsStorage } from "./vfs-storage.ts";

/** The largest L0 file accepted into the record store. */
const MAX_RECORD_BYTES = 1 << 30;

function etagOf(b: Uint8Array): string {
  // The LTX file checksum (the last 8 bytes) identifies the content; shorter values get a hash.
  let h = 0x811c9dc5;
  const from = Math.max(0, b.length - 16);
  for (let i = from; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0;
  return `v${b.length.toString(16)}-${h.toString(16).padStart(8, "0")}`;
}

function timestampOf(b: Uint8Array): Date {
  if (b.length < 40) return new Date(0);
  const ms = new DataView(b.buffer, b.byteOffset, b.byteLength).getBigInt64(32);
  const n = Number(ms);
  return new Date(Number.isSafeInteger(n) ? n : 0);
}

/**
 * A BlobStore over the records of a VfsStorage whose keys start with `prefix`: what the local
 * replica of a captured database lives on. Writes and deletes are one storage batch each.
 */
export class VfsRecordStore implements BlobStore {
  readonly kind = "vfs";
  /** Records are read synchronously from the VFS storage: a whole get is one copy, no stream. */
  readonly inMemory = true;
  readonly #s: VfsStorage;
  readonly #prefix: string;

  constructor(storage: VfsStorage, prefix = BLOB_PREFIX) {
    this.#s = storage;
    this.#prefix = prefix;
  }

  async get(key: string, range?: ByteRange, _opts?: GetOptions): Promise<Uint8Array | null> {
    const b = this.#s.getRecord(this.#prefix + key);
    return b ? sliceRange(b, range).slice() : null;
  }

  /** The record of `key` without a copy (records are immutable once applied). */
  getShared(key: string): Uint8Array | null {
    return this.#s.getRecord(this.#prefix + key) ?? null;
  }

  async getStream(key: string, range?: ByteRange, opts?: GetOptions): Promise<ReadableStream<Uint8Array> | null> {
    const b = this.#s.getRecord(this.#prefix + key);
    if (!b) return null;
    const src = sliceRange(b, range);
    const chunk = chunkSizeOf(opts);
    let pos = 0;
    return new ReadableStream<Uint8Array>(
      {
        pull(c) {
          if (pos >= src.length) return c.close();
          c.enqueue(src.slice(pos, pos + chunk));
          pos += chunk;
        },
      },
      { highWaterMark: 0 },
    );
  }

  async put(key: string, body: PutBody, opts: PutOptions = {}): Promise<{ etag: string; size: number }> {
    const data = await collectBody(body, MAX_RECORD_BYTES);
    const cur = this.#s.getRecord(this.#prefix + key);
    if (opts.ifNoneMatch === "*" && cur) throw new LtxError("PRECONDITION_FAILED", `put ${key}: object exists`);
    if (opts.ifMatch !== undefined && (!cur || etagOf(cur) !== opts.ifMatch.replace(/^"|"$/g, ""))) throw new LtxError("PRECONDITION_FAILED", `put ${key}: etag does not match`);
    opts.beforeCommit?.();
    this.#s.apply({ records: new Map([[this.#prefix + key, data]]) });
    return { etag: etagOf(data), size: data.length };
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<BlobInfo> {
    for (const k of this.#s.listRecords(this.#prefix + prefix)) {
      const key = k.slice(this.#prefix.length);
      if (opts.startAfter !== undefined && !(key > opts.startAfter)) continue;
      const b = this.#s.getRecord(k);
      if (b) yield { key, size: b.length, etag: etagOf(b), lastModified: timestampOf(b) };
    }
  }

  async delete(keys: readonly string[], opts: DeleteOptions = {}): Promise<void> {
    if (opts.ifMatch !== undefined) {
      if (keys.length !== 1) throw new LtxError("INVALID_ARGUMENT", "a conditional delete takes exactly one key");
      const cur = this.#s.getRecord(this.#prefix + keys[0]!);
      if (!cur || etagOf(cur) !== opts.ifMatch.replace(/^"|"$/g, "")) throw new LtxError("PRECONDITION_FAILED", `delete ${keys[0]}: etag does not match`);
    }
    const records = new Map<string, null>();
    for (const k of keys) if (this.#s.getRecord(this.#prefix + k) !== undefined) records.set(this.#prefix + k, null);
    opts.beforeCommit?.();
    if (records.size) this.#s.apply({ records });
  }

  async head(key: string, _opts?: GetOptions): Promise<BlobInfo | null> {
    const b = this.#s.getRecord(this.#prefix + key);
    return b ? { key, size: b.length, etag: etagOf(b), lastModified: timestampOf(b) } : null;
  }
}

/** Options of a VfsSource. */
export interface VfsSourceOptions {
  /** Page encoding of snapshots (default "block"). L0 files take the log's. */
  pageEncoding?: PageEncoding;
}

/** An L0Source over a CaptureLog: what a Replicator ships a captured sqlite-wasm database from. */
export class VfsSource implements L0Source {
  readonly local: Replica;
  readonly log: CaptureLog;
  #o: VfsSourceOptions;
  #closed = false;

  constructor(log: CaptureLog, o: VfsSourceOptions = {}) {
    this.log = log;
    this.#o = o;
    this.local = { ...memoryReplica(new VfsRecordStore(log.storage)), url: "vfs://local" };
  }

  #check(): void {
    if (this.#closed) throw new LtxError("INVALID_STATE", "capture source is closed");
  }

  /** Merges the queued transactions into the next L0 file; returns the newest local TXID. */
  async sync(): Promise<bigint> {
    this.#check();
    return this.log.sync();
  }

  /** A full snapshot at the position (after merging the queue), read lazily with copy on write. */
  async snapshot(): Promise<{ txid: bigint; timestamp: number; body: ReadableStream<Uint8Array> }> {
    this.#check();
    const snap = this.log.snapshot();
    const reader = encodeLtx(snap.header, snap.pages(), { pageEncoding: this.#o.pageEncoding ?? "block" }).getReader();
    let released = false;
    const release = () => {
      if (!released) snap.release();
      released = true;
    };
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        try {
          const r = await reader.read();
          if (r.done) {
            release();
            c.close();
          } else c.enqueue(r.value);
        } catch (e) {
          release();
          c.error(e);
        }
      },
      async cancel(reason) {
        await reader.cancel(reason).catch(() => {});
        release();
      },
    });
    return { txid: snap.header.maxTXID, timestamp: snap.header.timestamp, body };
  }

  /** Adopts a replica's newest L0 file as the position. */
  async adoptRemote(txid: bigint, file: Uint8Array): Promise<void> {
    this.#check();
    this.log.adopt(txid, file);
  }

  /** Calls `onCommit` after each committed transaction; returns a stop function. */
  watch(onCommit: () => void): () => void {
    return this.log.onCommit(onCommit);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
