/**
 * Parallel ranged fetching for restores: every planned file is read as a stream of parts fetched
 * ahead of the consumer, with a global bound on concurrent requests. Memory stays within
 * files × min(size, ahead × partSize); retries resume at the failed part.
 */
import { LtxError, isLtxError } from "../errors.ts";
import type { BlobStore } from "../store/blob-store.ts";

export interface FetchOptions {
  /** Concurrent requests across all files (default 8). */
  parallelism?: number;
  /** Bytes per ranged GET (default 4 MiB). */
  partSize?: number;
  /** Parts fetched ahead per file (default 2). */
  ahead?: number;
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

/** One stored file as an in-order stream of parts, fetched ahead under the shared semaphore. */
export async function* fetchFile(store: BlobStore, key: string, size: number, sem: Semaphore, o: FetchOptions = {}): AsyncGenerator<Uint8Array> {
  const partSize = Math.max(64 * 1024, o.partSize ?? 4 << 20);
  const ahead = Math.max(1, o.ahead ?? 2);
  const parts = Math.ceil(size / partSize);
  const inflight: Promise<Uint8Array>[] = [];
  let next = 0;
  const launch = () => {
    while (inflight.length < ahead && next < parts) {
      const off = next * partSize;
      const len = Math.min(partSize, size - off);
      const p = sem.run(() => fetchPart(store, key, off, len, o));
      p.catch(() => {}); // awaited below; avoid an unhandled rejection if the consumer stops first
      inflight.push(p);
      next++;
    }
  };
  launch();
  while (inflight.length > 0) {
    const p = inflight.shift()!;
    const b = await p;
    launch();
    yield b;
  }
}
