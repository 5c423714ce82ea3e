/**
 * Parallel ranged fetching for restores: every planned file is read as a stream of parts. The part a
 * consumer waits for is always fetched; parts ahead of it are fetched only within a memory budget
 * shared by all files, with a global bound on concurrent requests. Memory stays within
 * budget + files × partSize; retries resume at the failed part.
 */
import { LtxError, isLtxError } from "../errors.ts";
import type { BlobStore } from "../store/blob-store.ts";

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

const RETRYABLE = new Set(["STORE_ERROR", "TIMEOUT", "IO_ERROR", "UNEXPECTED_EOF"]);

async function fetchPart(store: BlobStore, key: string, offset: number, length: number, o: FetchOptions): Promise<Uint8Array> {
  const attempts = o.attempts ?? 4;
  for (let a = 1; ; a++) {
    try {
      const b = await store.get(key, { offset, length }, { signal: o.signal });
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

/** One stored file as an in-order stream of parts, fetched ahead under the shared limits. */
export async function* fetchFile(store: BlobStore, key: string, size: number, sem: Semaphore, o: FetchOptions = {}, budget: Budget = new Budget(o.memoryBudget ?? 32 << 20)): AsyncGenerator<Uint8Array> {
  const partSize = Math.max(64 * 1024, o.partSize ?? 1 << 20);
  const ahead = Math.max(1, o.ahead ?? 8);
  const parts = Math.ceil(size / partSize);
  const inflight: { p: Promise<Uint8Array>; charged: number }[] = [];
  let next = 0;
  const launch = (demand: boolean) => {
    while (inflight.length < ahead && next < parts) {
      const off = next * partSize;
      const len = Math.min(partSize, size - off);
      // The part the consumer waits for is always fetched; read-ahead needs budget.
      const charged = demand && inflight.length === 0 ? 0 : len;
      if (charged && !budget.tryTake(charged)) return;
      const p = sem.run(() => fetchPart(store, key, off, len, o));
      p.catch(() => {}); // awaited below; avoid an unhandled rejection if the consumer stops first
      inflight.push({ p, charged });
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
    }
  } finally {
    for (const f of inflight) budget.give(f.charged);
  }
}
