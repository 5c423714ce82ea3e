/**
 * Reading a live WAL as Litestream's write path does (spec: litestream-replica.md §3.2): where the
 * last sync stopped (offset, salts, checksum seed, previous commit size), the page map of the
 * committed frames after it, and whether the next L0 file can continue from there or must be a
 * full snapshot because continuity cannot be proven.
 */
import { LtxError } from "../errors.ts";
import { readFully, type RandomAccessReader } from "./sqlite.ts";
import {
  type Chain,
  decodeWalFrameHeader,
  decodeWalHeader,
  FrameReader,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  type WalChecksum,
  type WalHeader,
} from "./wal.ts";

/** Litestream's max-sync-wal-bytes default: one sync reads at most this much WAL (then stops at a commit). */
export const DEFAULT_MAX_SYNC_WAL_BYTES = 64 * 1024 * 1024;
const CHUNK_BYTES = 1 << 20;
/** Read buffers whose verified pages a pass keeps for the L0 file (at most this many chunks of memory). */
const KEEP_CHUNKS = 4;

/** Where the previous L0 file stopped in the WAL (from its header's WAL fields). */
export interface WalPosition {
  /** Offset of the first frame not yet captured: walOffset + walSize. */
  offset: number;
  salt1: number;
  salt2: number;
  /** Database size in pages at the position. */
  commit: number;
}

/** The committed frames read in one pass. */
export interface WalScan {
  header: WalHeader;
  /** Offset the pass started at. */
  start: number;
  /** End of the last commit frame read (`start` when no commit was found). */
  end: number;
  /** Database size after the last commit read; 0 when no commit was found. */
  commit: number;
  /** pgno → offset of the frame holding its newest committed version (pages ≤ commit only). */
  pages: Map<number, number>;
  /**
   * pgno → the page bytes of that frame as the pass read and verified them, for the pages whose
   * frame lies in the last few chunks read (a view into the read buffer, not a copy): an L0 file
   * takes them from here instead of reading the WAL a second time. Pages not here are read from
   * the WAL at their offset.
   */
  data: Map<number, Uint8Array>;
  /** True when the pass stopped at a commit after `maxBytes` and more frames may follow. */
  limited: boolean;
  /** Checksum chain value at `end` (the seed of the next pass). */
  checksum: WalChecksum;
}

/** How the next L0 file is built. */
export type SyncPlan =
  | { mode: "incremental"; offset: number; seed: WalChecksum; prevCommit: number }
  | { mode: "snapshot"; reason: string };

/** The frame size of a WAL with this page size. */
export function frameSize(pageSize: number): number {
  return WAL_FRAME_HEADER_SIZE + pageSize;
}

/** Reads and validates the WAL header; null when the WAL is shorter than a header. */
export async function readWalHeader(f: RandomAccessReader): Promise<WalHeader | null> {
  const b = await readFully(f, 0, WAL_HEADER_SIZE);
  if (b.length < WAL_HEADER_SIZE) return null;
  return decodeWalHeader(b);
}

/**
 * The checksum seed for reading on from `offset`: the header checksum at the first frame, else the
 * stored checksum of the frame ending at `offset` when it belongs to this WAL generation (null
 * when it does not, or the WAL ends before it).
 */
export async function seedAt(f: RandomAccessReader, h: WalHeader, offset: number): Promise<WalChecksum | null> {
  const fs = frameSize(h.pageSize);
  if (offset < WAL_HEADER_SIZE || (offset - WAL_HEADER_SIZE) % fs !== 0) return null;
  if (offset === WAL_HEADER_SIZE) return h.checksum;
  const b = await readFully(f, offset - fs, WAL_FRAME_HEADER_SIZE);
  if (b.length < WAL_FRAME_HEADER_SIZE) return null;
  const fh = decodeWalFrameHeader(b);
  return fh.salt1 === h.salt1 && fh.salt2 === h.salt2 ? fh.checksum : null;
}

export interface ScanOptions {
  offset: number;
  seed: WalChecksum;
  /** Stop at the first commit at or after this many bytes (default 64 MiB; Infinity reads to the end). */
  maxBytes?: number;
  /** Read no frame at or after this offset (default: to the end of the WAL). */
  endOffset?: number;
}

/**
 * Reads frames from `offset` while their salts match the header and their checksums continue
 * the chain. Only frames of committed transactions enter the page map; the newest version of a
 * page wins; pages above the final commit size are dropped.
 */
export async function scanWal(f: RandomAccessReader, h: WalHeader, o: ScanOptions): Promise<WalScan> {
  const fs = frameSize(h.pageSize);
  if (o.offset < WAL_HEADER_SIZE || (o.offset - WAL_HEADER_SIZE) % fs !== 0) throw new LtxError("INVALID_ARGUMENT", `wal offset ${o.offset} is not on a frame boundary`);
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_SYNC_WAL_BYTES;
  const endOffset = o.endOffset ?? Infinity;
  const per = Math.max(1, Math.floor(CHUNK_BYTES / fs));
  const scan: WalScan = { header: h, start: o.offset, end: o.offset, commit: 0, pages: new Map(), data: new Map(), limited: false, checksum: o.seed };
  // The frames of the transaction read so far (not yet committed), in WAL order: page number,
  // offset, the chunk read they are in and their offset in it. A page written twice is there twice;
  // at the commit the later entry wins.
  const pendingPgno: number[] = [];
  const pendingOff: number[] = [];
  const pendingChunk: number[] = [];
  const pendingAt: number[] = [];
  // The chunk each `data` entry views; pages of chunks before `first` are let go (read from the WAL).
  const dataChunk = new Map<number, number>();
  const kept: number[][] = [];
  const bufs: Uint8Array[] = [];
  let chunk = -1;
  const chain: Chain = { s1: o.seed[0], s2: o.seed[1] };
  let off = o.offset;
  outer: for (;;) {
    // Read no more than the WAL holds up to endOffset: most syncs find a few new frames, and a
    // full chunk allocated for each would keep the garbage collector busy.
    const want = Math.min(per, Math.floor((endOffset - off) / fs));
    if (want <= 0) break;
    const buf = await readFully(f, off, want * fs);
    if (buf.length < fs) break;
    chunk++;
    kept.push([]);
    bufs.push(buf);
    if (kept.length > KEEP_CHUNKS) {
      const gone = chunk - kept.length + 1;
      for (const p of kept.shift()!) {
        if (dataChunk.get(p) === gone) {
          scan.data.delete(p);
          dataChunk.delete(p);
        }
      }
      bufs.shift();
    }
    const first = chunk - kept.length + 1;
    const n = Math.floor(buf.length / fs);
    const frames = new FrameReader(buf, h);
    for (let i = 0; i < n; i++, off += fs) {
      if (off + fs > endOffset) break outer;
      const at = i * fs;
      const commit = frames.verify(at, chain);
      if (commit < 0) break outer;
      pendingPgno.push(frames.pgno(at));
      pendingOff.push(off);
      pendingChunk.push(chunk);
      pendingAt.push(at);
      if (commit === 0) continue;
      for (let k = 0; k < pendingPgno.length; k++) {
        const p = pendingPgno[k]!;
        scan.pages.set(p, pendingOff[k]!);
        const c = pendingChunk[k]!;
        if (c >= first) {
          const a = pendingAt[k]! + WAL_FRAME_HEADER_SIZE;
          scan.data.set(p, bufs[c - first]!.subarray(a, a + h.pageSize));
          dataChunk.set(p, c);
          kept[c - first]!.push(p);
        } else {
          // A transaction longer than the kept chunks: this page is read from the WAL.
          scan.data.delete(p);
          dataChunk.delete(p);
        }
      }
      pendingPgno.length = pendingOff.length = pendingChunk.length = pendingAt.length = 0;
      scan.commit = commit;
      scan.end = off + fs;
      scan.checksum = [chain.s1, chain.s2];
      if (scan.end - scan.start >= maxBytes) {
        scan.limited = true;
        break outer;
      }
    }
    if (n < want || want < per) break;
  }
  for (const p of [...scan.pages.keys()]) {
    if (p > scan.commit) {
      scan.pages.delete(p);
      scan.data.delete(p);
    }
  }
  return scan;
}

/**
 * Reads the page of the frame at `offset`, checking that the frame still holds `pgno` of this
 * WAL generation (it may have been overwritten by a WAL restart since the scan).
 */
export async function readFramePage(f: RandomAccessReader, h: WalHeader, offset: number, pgno: number): Promise<Uint8Array> {
  const b = await readFully(f, offset, frameSize(h.pageSize));
  if (b.length < frameSize(h.pageSize)) throw new LtxError("INVALID_STATE", `wal frame at offset ${offset} disappeared (the WAL was truncated during the sync)`);
  const fh = decodeWalFrameHeader(b);
  if (fh.pgno !== pgno || fh.salt1 !== h.salt1 || fh.salt2 !== h.salt2) throw new LtxError("INVALID_STATE", `wal frame at offset ${offset} was overwritten during the sync (the WAL restarted)`);
  return b.subarray(WAL_FRAME_HEADER_SIZE);
}

export interface PlanInput {
  /** The previous L0 file's position; null when nothing was captured yet. */
  pos: WalPosition | null;
  header: WalHeader;
  walSize: number;
  /** Page size of the database (PRAGMA page_size). */
  pageSize: number;
  /**
   * Salts of a WAL generation this process sealed itself: every frame of it was captured under a
   * write barrier before its own checkpoint, so the one restart that may follow (salt1 + 1) loses
   * nothing. Null when no such proof exists.
   */
  sealed: { salt1: number; salt2: number } | null;
}

/**
 * Decides between continuing from the position and a full snapshot. A snapshot is taken whenever
 * continuity cannot be proven: no position; another page size; the WAL shrank below the position;
 * the frame before the position is no longer of this generation; or the salts changed and the
 * restart was not the single one that follows a generation this process sealed (a checkpoint by
 * another process can have copied unseen commits into the database and restarted the WAL).
 */
export async function planSync(f: RandomAccessReader, i: PlanInput): Promise<SyncPlan> {
  const { pos, header: h } = i;
  if (!pos) return { mode: "snapshot", reason: "no position yet" };
  if (h.pageSize !== i.pageSize) return { mode: "snapshot", reason: `wal page size ${h.pageSize} differs from the database page size ${i.pageSize}` };
  if (h.salt1 === pos.salt1 && h.salt2 === pos.salt2) {
    if (i.walSize < pos.offset) return { mode: "snapshot", reason: "wal shrank below the position (truncated by another process)" };
    const seed = await seedAt(f, h, pos.offset);
    if (!seed) return { mode: "snapshot", reason: "the frame before the position is not of this wal generation (overwritten)" };
    return { mode: "incremental", offset: pos.offset, seed, prevCommit: pos.commit };
  }
  const s = i.sealed;
  if (s && s.salt1 === pos.salt1 && s.salt2 === pos.salt2 && h.salt1 === ((s.salt1 + 1) >>> 0)) {
    return { mode: "incremental", offset: WAL_HEADER_SIZE, seed: h.checksum, prevCommit: pos.commit };
  }
  return { mode: "snapshot", reason: "wal restarted by a checkpoint this process did not seal (salts changed)" };
}
