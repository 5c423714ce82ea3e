/**
 * Restore targets: the PageSink interface restore writes to, and the sinks that need no runtime
 * (bytes in memory, a ReadableStream of pages). The file sink is runtime code (adapters/fs-sink.ts).
 */
import { LtxError } from "../errors.ts";

/** Where restored pages go. Pages arrive in order 1..commit. */
export interface PageSink {
  open(pageSize: number, commit: number): Promise<void>;
  write(pgno: number, data: Uint8Array): Promise<void>;
  /** Makes the output durable and visible (fsync + rename for files). */
  commit(): Promise<void>;
  /** Discards everything written (removes temp files). Safe to call more than once. */
  abort(): Promise<void>;
}

/** A sink that assembles the database in memory (workers, browsers, tests). */
export class BytesSink implements PageSink {
  #buf: Uint8Array | null = null;
  #pageSize = 0;
  readonly maxBytes: number;
  #done = false;

  constructor(maxBytes = 1 << 30) {
    this.maxBytes = maxBytes;
  }
  async open(pageSize: number, commit: number): Promise<void> {
    const n = pageSize * commit;
    if (n > this.maxBytes) throw new LtxError("LIMIT_EXCEEDED", `database of ${n} bytes exceeds the in-memory limit of ${this.maxBytes}`);
    this.#buf = new Uint8Array(n);
    this.#pageSize = pageSize;
  }
  async write(pgno: number, data: Uint8Array): Promise<void> {
    this.#buf!.set(data, (pgno - 1) * this.#pageSize);
  }
  async commit(): Promise<void> {
    this.#done = true;
  }
  async abort(): Promise<void> {
    this.#buf = null;
  }
  /** The restored database (after a successful restore). */
  bytes(): Uint8Array {
    if (!this.#done || !this.#buf) throw new LtxError("INVALID_STATE", "restore has not completed");
    return this.#buf;
  }
}

/**
 * A sink that exposes the restored database as a ReadableStream of page-sized chunks, with
 * backpressure (workers and browsers: pipe it into storage or sqlite-wasm). A failed restore
 * errors the stream.
 */
export class StreamSink implements PageSink {
  readonly readable: ReadableStream<Uint8Array>;
  #ctl!: ReadableStreamDefaultController<Uint8Array>;
  #wake: (() => void) | null = null;

  constructor(highWaterMarkPages = 64) {
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => void (this.#ctl = c),
        pull: () => {
          this.#wake?.();
          this.#wake = null;
        },
      },
      { highWaterMark: highWaterMarkPages },
    );
  }
  async open(): Promise<void> {}
  async write(_pgno: number, data: Uint8Array): Promise<void> {
    this.#ctl.enqueue(data.slice());
    if ((this.#ctl.desiredSize ?? 1) <= 0) await new Promise<void>((r) => (this.#wake = r));
  }
  async commit(): Promise<void> {
    this.#ctl.close();
  }
  async abort(): Promise<void> {
    try {
      this.#ctl.error(new LtxError("ABORTED", "restore failed"));
    } catch {
      // already closed or errored
    }
  }
}
