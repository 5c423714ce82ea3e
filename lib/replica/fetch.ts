/**
 * Streamed ranged reads for restores: every planned file is read as a few large ranged GETs
 * (parts), and each part's body is handed to the file's decoder chunk by chunk as it arrives, so
 * memory per file is a few chunks, whatever the part size.
 *
 * - The part a consumer reads is always open: its request never waits for a permit, so a file the
 *   compactor waits on can always proceed, even while other files hold permits with bodies nobody
 *   reads yet (no deadlock).
 * - Parts after it (`ahead`) are opened early when a permit is free (their response headers arrive
 *   while the current part streams), and their bodies are read ahead only within a memory budget
 *   shared by all files; the rest stays unread in the connection (backpressure).
 * - A failed or truncated body resumes at the byte where it stopped (a ranged GET of the rest),
 *   with bounded attempts and backoff. Cancelling the stream closes every open body.
 *
 * Memory: budget + files × (ahead + 1) × (one chunk in flight + what the store's stream queues),
 * plus one chunk per read-ahead part past the budget (a chunk is charged once it arrived).
 */
import { LtxError, isLtxError } from "../errors.ts";
import type { BlobStore, GetOptions } from "../store/blob-store.ts";
import { sleep } from "../util/sleep.ts";
import { Budget, PermitCounter } from "./permits.ts";

/** How a restore reads its files: parallel ranged GETs, part size, read-ahead budget, retries. */
export interface FetchOptions {
  /**
   * Requests open at once across all files (default 8). Each file's current part is always open
   * (it never waits), so a plan of more files than this has one request per file; parts opened
   * ahead take the permits left.
   */
  parallelism?: number;
  /** Bytes per ranged GET (default 16 MiB; at least 64 KiB). Memory does not grow with it. */
  partSize?: number;
  /** Preferred size of the chunks a body is read in (default 64 KiB); stores may deliver other sizes. */
  chunkSize?: number;
  /** Parts opened ahead of the current one per file (default 1). */
  ahead?: number;
  /**
   * Bytes of bodies read ahead of the consumers across all files (default 0: parts opened ahead
   * have their headers, their bodies wait). Worth raising where one stream is slower than decoding;
   * reading ahead only a little gains little, since each part boundary gains at most the budget.
   */
  memoryBudget?: number;
  /** Attempts per failure point, reset when a chunk arrives (default 4). */
  attempts?: number;
  signal?: AbortSignal;
  /** Called with the size of each chunk as it is handed to the consumer. */
  onBytes?: (n: number) => void;
}

/** The smallest part fetchFile reads (smaller partSize options are raised to it). */
export const MIN_PART_SIZE = 64 * 1024;
/** Default bytes per ranged GET. */
export const DEFAULT_PART_SIZE = 16 << 20;
/** Default read-ahead budget: one stream per file outruns the decoder on the stores measured. */
export const DEFAULT_MEMORY_BUDGET = 0;
/** Default chunk size asked of the store's streams. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;

const RETRYABLE = new Set(["STORE_ERROR", "TIMEOUT", "IO_ERROR", "UNEXPECTED_EOF"]);

/** One ranged GET of a file: [offset, offset + length), of which `got` bytes have arrived. */
interface Part {
  offset: number;
  length: number;
  got: number;
  reader: ReadableStreamDefaultReader<Uint8Array> | null;
  ended: boolean;
  /** Whether this part holds a permit (released when its body ends or is closed). */
  permit: boolean;
  /** Chunks read ahead, charged to the budget. */
  queue: Uint8Array[];
  pump: Promise<void> | null;
  error: unknown;
  /** The consumer reads this part now (the pump stops). */
  head: boolean;
  closed: boolean;
  wake: () => void;
  woken: Promise<void>;
}

interface Ctx {
  store: BlobStore;
  key: string;
  limit: PermitCounter;
  budget: Budget;
  o: FetchOptions;
}

/**
 * One stored file as an in-order stream of chunks, read by ranged GETs of `partSize` under the
 * shared request limit and memory budget. Chunks are never reused: a yielded chunk stays valid for
 * as long as the consumer holds it.
 */
export async function* fetchFile(
  store: BlobStore,
  key: string,
  size: number,
  limit: PermitCounter,
  o: FetchOptions = {},
  budget: Budget = new Budget(o.memoryBudget ?? DEFAULT_MEMORY_BUDGET),
): AsyncGenerator<Uint8Array> {
  const partSize = Math.max(MIN_PART_SIZE, o.partSize ?? DEFAULT_PART_SIZE);
  const ahead = Math.max(0, o.ahead ?? 1);
  const count = Math.ceil(size / partSize);
  const ctx: Ctx = { store, key, limit, budget, o };
  const open: Part[] = []; // the current part first, then the parts opened ahead
  let made = 0;
  const make = (): Part => {
    const offset = made++ * partSize;
    let wake!: () => void;
    const woken = new Promise<void>((r) => (wake = r));
    return { offset, length: Math.min(partSize, size - offset), got: 0, reader: null, ended: false, permit: false, queue: [], pump: null, error: undefined, head: false, closed: false, wake, woken };
  };
  const prefetch = () => {
    while (open.length <= ahead && made < count && limit.tryTake()) {
      const p = make();
      p.permit = true;
      p.pump = pump(ctx, p);
      open.push(p);
    }
  };
  try {
    while (made < count || open.length > 0) {
      if (open.length === 0) {
        const p = make();
        limit.take(); // the current part never waits for a permit
        p.permit = true;
        open.push(p);
      }
      const part = open[0]!;
      part.head = true;
      part.wake();
      if (part.pump) await part.pump;
      prefetch();
      while (part.queue.length > 0) {
        const c = part.queue.shift()!;
        budget.give(c.length);
        o.onBytes?.(c.length);
        yield c;
      }
      if (part.error !== undefined) throw part.error;
      for (;;) {
        const c = await readChunk(ctx, part);
        if (!c) break;
        o.onBytes?.(c.length);
        yield c;
        prefetch();
      }
      open.shift();
    }
  } finally {
    for (const p of open) await closePart(ctx, p);
  }
}

/** Reads a part ahead of its consumer while the budget lasts; stops when the consumer takes over. */
async function pump(ctx: Ctx, p: Part): Promise<void> {
  try {
    await ensureOpen(ctx, p);
    while (!p.head && !p.closed) {
      if (ctx.budget.left <= 0) {
        await Promise.race([ctx.budget.wait(), p.woken]);
        continue;
      }
      const c = await readChunk(ctx, p);
      if (!c) return;
      if (p.closed) return;
      ctx.budget.take(c.length);
      p.queue.push(c);
    }
  } catch (e) {
    p.error = e;
  }
}

/** Opens (or reopens after a failure) the part's body at the first byte not yet received. */
async function ensureOpen(ctx: Ctx, p: Part): Promise<void> {
  await retrying(ctx, p, () => openBody(ctx, p));
}

async function openBody(ctx: Ctx, p: Part): Promise<void> {
  if (p.reader || p.ended || p.closed) return;
  const go: GetOptions = { chunkSize: ctx.o.chunkSize ?? DEFAULT_CHUNK_SIZE };
  if (ctx.o.signal) go.signal = ctx.o.signal;
  const s = await ctx.store.getStream(ctx.key, { offset: p.offset + p.got, length: p.length - p.got }, go);
  if (!s) throw new LtxError("NOT_FOUND", `${ctx.store.kind} ${JSON.stringify(ctx.key)}: file disappeared during restore`);
  if (p.closed) {
    await s.cancel().catch(() => {});
    return;
  }
  p.reader = s.getReader();
}

/** The part's next chunk, or null at its end; a failed or short body resumes where it stopped. */
async function readChunk(ctx: Ctx, p: Part): Promise<Uint8Array | null> {
  let chunk: Uint8Array | null = null;
  await retrying(ctx, p, async () => {
    for (;;) {
      if (p.ended || p.closed) return;
      if (ctx.o.signal?.aborted) throw new LtxError("ABORTED", `${ctx.store.kind} ${JSON.stringify(ctx.key)}: aborted`);
      if (!p.reader) await openBody(ctx, p);
      if (!p.reader) return;
      const at = p.offset + p.got;
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await p.reader.read();
      } catch (e) {
        if (isLtxError(e)) throw e;
        throw new LtxError("STORE_ERROR", `${ctx.store.kind} ${JSON.stringify(ctx.key)}: reading at byte ${at}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      }
      if (p.closed) return;
      if (r.done) {
        if (p.got < p.length) throw new LtxError("UNEXPECTED_EOF", `${ctx.store.kind} ${JSON.stringify(ctx.key)}: body ended at byte ${at}, expected ${p.offset + p.length}`);
        finish(ctx, p);
        return;
      }
      if (r.value.length === 0) continue;
      if (p.got + r.value.length > p.length) throw new LtxError("STORE_ERROR", `${ctx.store.kind} ${JSON.stringify(ctx.key)}: body runs past the requested range at byte ${at}`);
      p.got += r.value.length;
      chunk = r.value;
      return;
    }
  });
  return chunk;
}

/** Runs fn, retrying retryable failures with backoff; the body is dropped before each retry. */
async function retrying(ctx: Ctx, p: Part, fn: () => Promise<void>): Promise<void> {
  const attempts = ctx.o.attempts ?? 4;
  for (let a = 1; ; a++) {
    try {
      return await fn();
    } catch (e) {
      const r = p.reader;
      p.reader = null;
      r?.cancel().catch(() => {});
      if (ctx.o.signal?.aborted) throw new LtxError("ABORTED", `${ctx.store.kind} ${JSON.stringify(ctx.key)}: aborted`, { cause: e });
      if (a >= attempts || !isLtxError(e) || !RETRYABLE.has(e.code) || p.closed) throw e;
      await sleep(50 * 2 ** a * (0.5 + Math.random()), ctx.o.signal);
    }
  }
}

/** The body ended: release its reader and permit. */
function finish(ctx: Ctx, p: Part): void {
  p.ended = true;
  const r = p.reader;
  p.reader = null;
  r?.releaseLock();
  if (p.permit) {
    p.permit = false;
    ctx.limit.release();
  }
}

/** Closes a part the consumer no longer reads: cancels its body, returns its budget and permit. */
async function closePart(ctx: Ctx, p: Part): Promise<void> {
  p.closed = true;
  p.wake();
  const r = p.reader;
  p.reader = null;
  await r?.cancel().catch(() => {});
  if (p.pump) await p.pump;
  for (const c of p.queue.splice(0)) ctx.budget.give(c.length);
  if (p.permit) {
    p.permit = false;
    ctx.limit.release();
  }
}
