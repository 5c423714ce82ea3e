/**
 * Parallel ranged fetching for restores: every planned file is read as a stream of parts. The part a
 * consumer waits for is always fetched; parts ahead of it are fetched only within a memory budget
 * shared by all files, with a global bound on concurrent requests. Memory stays within
 * budget + files × 3 × partSize (read-ahead, the part each file waits for, and the two parts a
 * consumer may still read); with a PartPool those buffers are reused instead of left to the
 * garbage collector. Retries resume at the failed part.
 */
import { LtxError, isLtxError } from "../errors.ts";
import type { BlobStore, GetOptions } from "../store/blob-store.ts";

export interface FetchOptions {
  /** Concurrent requests across all files (default 8). */
  parallelism?: number;
  /** Bytes per ranged GET (default 1 MiB). */
  partSize?: number;
  /** Parts fetched ahead per file at most (default 8), within the shared memory budget. */
  ahead?: number;
  /** Bytes fetched ahead of the consumers across all files (default 32 MiB). */
  memoryBudget?: number;
  /** Attempts per part (default 4). */
  attempts?: number;
  signal?: AbortSignal;
  /** Called with the size of each part as it arrives. */
  onBytes?: (n: number) => void;
}

/** A counting semaphore. */
export class Semaphore {
  #free: number;
  #waiters: (() => void)[] = [];
  constructor(n: number) {
    this.#free = Math.max(1, n);
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#waiters.push(r));
    try {
      return await fn();
    } finally {
      const w = this.#waiters.shift();
      if (w) w();
      else this.#free++;
    }
  }
}

/** Bytes fetched but not yet consumed, shared by the files of one restore. */
export class Budget {
  #left: number;
  constructor(bytes: number) {
    this.#left = bytes;
  }
  tryTake(n: number): boolean {
    if (this.#left < n) return false;
    this.#left -= n;
    return true;
  }
  give(n: number): void {
    this.#left += n;
  }
}

/**
 * Part buffers of one size, reused across the files of a restore: a buffer is allocated only when
 * none is free, so the number allocated is the most ever in use at once, and no part waits on the
 * garbage collector to be freed.
 */
export class PartPool {
  readonly size: number;
  #free: Uint8Array[] = [];
  #allocated = 0;
  constructor(size: number) {
    this.size = size;
  }
  /** Buffers allocated so far (the high-water mark of buffers in use). */
  get allocated(): number {
    return this.#allocated;
  }
  /** Buffers free for reuse. */
  get free(): number {
    return this.#free.length;
  }
  take(): Uint8Array {
    const b = this.#free.pop();
    if (b) return b;
    this.#allocated++;
    return new Uint8Array(this.size);
  }
  give(b: Uint8Array): void {
    this.#free.push(b);
  }
}

/** The smallest part fetchFile reads (smaller partSize options are raised to it). */
export const MIN_PART_SIZE = 64 * 1024;

const RETRYABLE = new Set(["STORE_ERROR", "TIMEOUT", "IO_ERROR", "UNEXPECTED_EOF"]);

async function fetchPart(store: BlobStore, key: string, offset: number, length: number, o: FetchOptions, into?: Uint8Array): Promise<Uint8Array> {
  const attempts = o.attempts ?? 4;
  const go: GetOptions = {};
  if (o.signal) go.signal = o.signal;
  if (into) go.into = into;
  for (let a = 1; ; a++) {
    try {
      const b = await store.get(key, { offset, length }, go);
      if (!b) throw new LtxError("NOT_FOUND", `${store.kind} ${JSON.stringify(key)}: file disappeared during restore`);
      if (b.length !== length) throw new LtxError("UNEXPECTED_EOF", `${store.kind} ${JSON.stringify(key)}: short read at ${offset} (${b.length} of ${length} bytes)`);
      o.onBytes?.(b.length);
      return b;
    } catch (e) {
      if (a >= attempts || !isLtxError(e) || !RETRYABLE.has(e.code) || o.signal?.aborted) throw e;
      await new Promise((r) => setTimeout(r, 50 * 2 ** a * (0.5 + Math.random())));
    }
  }
}

/**
 * One stored file as an in-order stream of parts, fetched ahead under the shared limits.
 *
 * With a `pool` (whose size must equal the part size), parts are read into pooled buffers and a
 * yielded part goes back to the pool once the consumer has asked for the part after the next one:
 * a part stays valid while the consumer pulls one more. That is the contract ByteSource (and so
 * LtxReader) keeps: it may still read the previous chunk while it waits for the next, never older
 * ones. Parts still in flight or held when the stream ends or fails are left to the garbage
 * collector, never reused, so a late write cannot reach a buffer in use.
 */
export async function* fetchFile(
  store: BlobStore,
  key: string,
  size: number,
  sem: Semaphore,
  o: FetchOptions = {},
  budget: Budget = new Budget(o.memoryBudget ?? 32 << 20),
  pool?: PartPool,
): AsyncGenerator<Uint8Array> {
  const partSize = Math.max(MIN_PART_SIZE, o.partSize ?? 1 << 20);
  if (pool && pool.size !== partSize) throw new LtxError("INVALID_ARGUMENT", `part pool of ${pool.size}-byte buffers for ${partSize}-byte parts`);
  const ahead = Math.max(1, o.ahead ?? 8);
  const parts = Math.ceil(size / partSize);
  const inflight: { p: Promise<Uint8Array>; charged: number; buf: Uint8Array | undefined }[] = [];
  let held: Uint8Array | undefined;
  let next = 0;
  const launch = (demand: boolean) => {
    while (inflight.length < ahead && next < parts) {
      const off = next * partSize;
      const len = Math.min(partSize, size - off);
      // The part the consumer waits for is always fetched; read-ahead needs budget.
      const charged = demand && inflight.length === 0 ? 0 : len;
      if (charged && !budget.tryTake(charged)) return;
      const buf = pool?.take();
      const p = sem.run(() => fetchPart(store, key, off, len, o, buf));
      p.catch(() => {}); // awaited below; avoid an unhandled rejection if the consumer stops first
      inflight.push({ p, charged, buf });
      next++;
    }
  };
  try {
    while (next < parts || inflight.length > 0) {
      launch(true);
      const head = inflight.shift()!;
      const b = await head.p;
      budget.give(head.charged);
      launch(false);
      yield b;
      // The consumer asks for the next part: the one before `b` is no longer read.
      if (held) pool!.give(held);
      held = undefined;
      if (head.buf && b.buffer === head.buf.buffer) held = head.buf;
      else if (head.buf) pool!.give(head.buf); // the store did not read into it
    }
  } finally {
    for (const f of inflight) budget.give(f.charged);
  }
}
