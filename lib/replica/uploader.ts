/**
 * One replica's side of the Replicator: its position (listed once, then kept), the continuation
 * check against the local chain, in-order uploads of L0 files, its level cache and ladder, and the
 * failure state the Replicator backs off on.
 */
import { LtxError } from "../errors.ts";
import { decodeHeader, HEADER_FLAG_NO_CHECKSUM, HEADER_SIZE, TRAILER_SIZE } from "../ltx/header.ts";
import { formatTXID } from "../ltx/txid.ts";
import type { CompactionConfig } from "./schedule.ts";
import type { FileInfo } from "./file-info.ts";
import { Ladder, LevelCache } from "./ladder.ts";
import { listLevel, writeLtxFile } from "./list.ts";
import type { LeaseKeeper } from "./lease-keeper.ts";
import type { Replica } from "./replica.ts";

/** The state and operations of one replica. */
export class Uploader {
  readonly replica: Replica;
  readonly cache = new LevelCache();
  readonly ladder: Ladder;
  /** The newest TXID the replica holds; undefined until level 0 was listed. */
  pos: bigint | undefined;
  failures = 0;
  retryAt = 0;
  lastError?: LtxError;
  lastUploadAt?: number;
  /** Set when the replica is stopped for good (REPLICA_MISMATCH, LEASE_LOST). */
  fatal?: LtxError;
  /** Upload passes and ladder steps, each serialized. */
  lane: Promise<void> = Promise.resolve();
  ladderLane: Promise<void> = Promise.resolve();
  ladderFailures = 0;
  ladderRetryAt = 0;
  /** The lease on this replica, when the replicator runs with one (the replica's store is fenced by it). */
  keeper?: LeaseKeeper;

  constructor(replica: Replica, config: CompactionConfig) {
    this.replica = replica;
    this.ladder = new Ladder(replica, this.cache, config);
  }

  /** Lists level 0 once and checks that the replica continues the local chain, whose position is `local`. */
  async init(localReplica: Replica, local: bigint, atStartup: boolean, signal: AbortSignal): Promise<void> {
    const l0 = await listLevel(this.replica, 0, { signal });
    const remote = l0.reduce((m, f) => (f.maxTXID > m ? f.maxTXID : m), 0n);
    const t = remote < local ? remote : local;
    let same: boolean | undefined;
    if (t > 0n) same = await this.#sameFile(localReplica, l0, t, signal);
    if (same === false) throw this.#mismatch(`its TXID ${formatTXID(t)} differs from the local one (a replica of another database?)`);
    if (remote > local) {
      if (!atStartup) throw this.#mismatch(`it is ahead of the local position (${formatTXID(remote)} > ${formatTXID(local)}): another writer?`);
      if (local > 0n && same === undefined) throw this.#mismatch(`it is ahead of the local position and no longer holds L0 TXID ${formatTXID(local)} to prove it continues the local chain`);
    }
    this.cache.set(0, l0);
    this.pos = remote;
  }

  /** Compares the trailers (post-apply and file checksums) of the local and remote L0 file `t`; undefined when either is missing. */
  async #sameFile(localReplica: Replica, l0: FileInfo[], t: bigint, signal: AbortSignal): Promise<boolean | undefined> {
    const r = l0.find((f) => f.minTXID === t && f.maxTXID === t);
    const lkey = localReplica.layout.key(0, t, t);
    const lh = await localReplica.store.head(lkey, { signal });
    if (!r || !lh || r.size < HEADER_SIZE + TRAILER_SIZE || lh.size < HEADER_SIZE + TRAILER_SIZE) return undefined;
    const [a, b] = await Promise.all([
      this.replica.store.get(r.key, { offset: r.size - TRAILER_SIZE, length: TRAILER_SIZE }, { signal }),
      localReplica.store.get(lkey, { offset: lh.size - TRAILER_SIZE, length: TRAILER_SIZE }, { signal }),
    ]);
    if (!a || !b) return undefined;
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }

  /** Uploads local L0 file `t` (or, when the local copy is gone after an adoption, another replica's copy). */
  async upload(localReplica: Replica, t: bigint, others: readonly Uploader[], signal: AbortSignal): Promise<FileInfo> {
    let from: Replica = localReplica;
    let key = from.layout.key(0, t, t);
    // A local store that keeps its files in memory (a captured sqlite-wasm database's records, a
    // memory store) hands over the whole file in one read: no header read, no stream; shared (no
    // copy) where it can, and then passed on as immutable, so a memory replica keeps that array.
    const shared = from.store.getShared?.(key) ?? null;
    const whole = shared ?? (from.store.inMemory === true ? await from.store.get(key, undefined, { signal }) : null);
    let head = whole ? whole.subarray(0, HEADER_SIZE) : await from.store.get(key, { offset: 0, length: HEADER_SIZE }, { signal });
    if (!head || head.length === 0) {
      for (const o of others) {
        const f = o !== this && !o.fatal ? o.cache.levels[0]!.find((g) => g.minTXID === t && g.maxTXID === t) : undefined;
        if (!f) continue;
        head = await o.replica.store.get(f.key, { offset: 0, length: HEADER_SIZE }, { signal });
        if (head && head.length) {
          from = o.replica;
          key = f.key;
          break;
        }
      }
    }
    if (!head || head.length === 0) throw new LtxError("NOT_FOUND", `local L0 file of TXID ${formatTXID(t)} is missing (${key})`);
    const h = decodeHeader(head);
    if (h.minTXID !== t || h.maxTXID !== t) throw new LtxError("INVALID_HEADER", `L0 file ${key} holds TXIDs ${formatTXID(h.minTXID)}-${formatTXID(h.maxTXID)}, expected ${formatTXID(t)}`);
    if ((h.flags & HEADER_FLAG_NO_CHECKSUM) === 0) throw new LtxError("INVALID_HEADER", `L0 file ${key} is not NoChecksum (Go Litestream could not restore it)`);
    if (whole && from === localReplica) return writeLtxFile(this.replica, 0, t, t, whole, h.timestamp, signal, true);
    const body = await from.store.getStream(key, undefined, { signal });
    if (!body) throw new LtxError("NOT_FOUND", `L0 file ${key} disappeared`);
    try {
      return await writeLtxFile(this.replica, 0, t, t, body, h.timestamp, signal);
    } catch (e) {
      await body.cancel().catch(() => {}); // a store that failed before reading it leaves the file open
      throw e;
    }
  }

  #mismatch(why: string): LtxError {
    return new LtxError("REPLICA_MISMATCH", `replica ${this.replica.url} is not a continuation of the local database: ${why}; nothing was written to it`);
  }
}
