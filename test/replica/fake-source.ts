/**
 * Test doubles for the replicator: an L0Source over a page model (real L0 LTX files from the
 * encoder, the expected database image of every TXID known).
 */
import { encodeLtx, encodeLtxBytes, type Page } from "../../lib/ltx/encoder.ts";
import { decodeLtx } from "../../lib/ltx/decoder.ts";
import { LtxError } from "../../lib/errors.ts";
import type { Clock } from "../../lib/replica/clock.ts";
import type { L0Source } from "../../lib/replica/replicator.ts";
import { writeLtxFile } from "../../lib/replica/list.ts";
import type { Replica } from "../../lib/replica/replica.ts";
import { mixedPage, prng } from "../ltx/helpers.ts";

export const PS = 1024;

function header(txid: bigint, commit: number, timestamp: number, min = txid) {
  return { flags: 2, pageSize: PS, commit, minTXID: min, maxTXID: txid, timestamp, preApplyChecksum: 0n, walOffset: 32, walSize: 0, walSalt1: 0, walSalt2: 0, nodeID: 0n };
}

/**
 * A database of PS-byte pages. `commit()` changes some pages (a transaction); `sync()` turns every
 * transaction since the last sync into one L0 file (TXID 1 holds every page), as the WAL capture does.
 */
export class FakeSource implements L0Source {
  readonly local: Replica;
  readonly clock: Clock;
  /** Expected image after each TXID. */
  readonly images = new Map<bigint, Uint8Array>();
  pos = 0n;
  db: Uint8Array;
  syncCalls = 0;
  snapshots = 0;
  adopted: { txid: bigint; file: Uint8Array }[] = [];
  closed = false;
  failSync: (() => Error | null) | null = null;
  /** Clock time (ms) each sync() takes before it captures anything. */
  syncTime = 0;
  #dirty = new Set<number>();
  #rand: () => number;
  #seq = 0;
  #watchers = new Set<() => void>();

  constructor(local: Replica, clock: Clock, opts: { seed?: number; pages?: number; db?: Uint8Array; pos?: bigint } = {}) {
    this.local = local;
    this.clock = clock;
    this.#rand = prng(opts.seed ?? 7);
    this.db = opts.db ? opts.db.slice() : new Uint8Array(0);
    if (opts.pos !== undefined) this.pos = opts.pos;
    if (!opts.db) this.commit(opts.pages ?? 6);
  }

  /** One transaction: grows by `grow` pages, rewrites a few random pages, now and then shrinks. */
  commit(grow = 0): void {
    this.#seq++;
    const pages = this.db.length / PS;
    let commit = Math.max(1, pages + grow);
    if (grow === 0 && this.#seq % 9 === 0 && pages > 3) commit = pages - 1;
    const next = new Uint8Array(commit * PS);
    next.set(this.db.subarray(0, Math.min(this.db.length, next.length)));
    for (let p = pages + 1; p <= commit; p++) this.#write(next, p);
    const n = 1 + (this.#rand() % 3);
    for (let i = 0; i < n; i++) this.#write(next, 1 + (this.#rand() % commit));
    for (const p of [...this.#dirty]) if (p > commit) this.#dirty.delete(p);
    this.db = next;
    for (const w of this.#watchers) w();
  }

  #write(db: Uint8Array, pgno: number): void {
    db.set(mixedPage(PS, this.#seq * 7919 + pgno), (pgno - 1) * PS);
    this.#dirty.add(pgno);
  }

  async sync(): Promise<bigint> {
    this.syncCalls++;
    const f = this.failSync?.();
    if (f) throw f;
    if (this.syncTime > 0) await this.clock.sleep(this.syncTime);
    if (this.#dirty.size === 0 && this.pos > 0n) return this.pos;
    const txid = this.pos + 1n;
    const commit = this.db.length / PS;
    const pgnos = this.pos === 0n ? Array.from({ length: commit }, (_, i) => i + 1) : [...this.#dirty].sort((a, b) => a - b);
    const pages: Page[] = pgnos.map((p) => ({ pgno: p, data: this.db.slice((p - 1) * PS, p * PS) }));
    const ts = this.clock.now();
    const bytes = encodeLtxBytes(header(txid, commit, ts), pages);
    await writeLtxFile(this.local, 0, txid, txid, bytes, ts);
    this.#dirty.clear();
    this.pos = txid;
    this.images.set(txid, this.db.slice());
    return txid;
  }

  async snapshot(): Promise<{ txid: bigint; timestamp: number; body: ReadableStream<Uint8Array> }> {
    this.snapshots++;
    const db = this.images.get(this.pos)!;
    const commit = db.length / PS;
    const pages = Array.from({ length: commit }, (_, i) => ({ pgno: i + 1, data: db.slice(i * PS, (i + 1) * PS) }));
    const ts = this.clock.now();
    return { txid: this.pos, timestamp: ts, body: encodeLtx(header(this.pos, commit, ts, 1n), pages) };
  }

  async adoptRemote(txid: bigint, file: Uint8Array): Promise<void> {
    const d = await decodeLtx(file);
    if (d.header.maxTXID !== txid) throw new LtxError("INVALID_ARGUMENT", "adopted file does not end at txid");
    this.adopted.push({ txid, file });
    await writeLtxFile(this.local, 0, txid, txid, file, d.header.timestamp);
    this.pos = txid;
    this.images.set(txid, this.db.slice());
  }

  /** Watches registered now. */
  get watching(): number {
    return this.#watchers.size;
  }

  watch(onCommit: () => void): () => void {
    this.#watchers.add(onCommit);
    return () => this.#watchers.delete(onCommit);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export { CountingStore, http503, netError, type Fault } from "./instrumented.ts";
