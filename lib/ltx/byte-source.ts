/**
 * Buffered pull reading over an async source of chunks, or over bytes already in memory. Hands out
 * contiguous views; memory stays bounded by the largest single request plus one chunk.
 */
import { LtxError } from "../errors.ts";
import { iterateChunks } from "../util/chunks.ts";

/** Input of the decoder: bytes in memory, a stream or an async iterable of chunks. */
export type ByteInput = Uint8Array | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

export class ByteSource {
  #buf: Uint8Array;
  #pos = 0;
  #end = 0;
  #it: AsyncIterator<Uint8Array> | null;
  #eof: boolean;
  /** Bytes consumed so far (absolute offset of the read position). */
  offset = 0;
  readonly maxBytes: number;
  #total = 0;

  constructor(input: ByteInput, maxBytes = Number.MAX_SAFE_INTEGER) {
    this.maxBytes = maxBytes;
    if (input instanceof Uint8Array) {
      this.#buf = input;
      this.#end = input.length;
      this.#it = null;
      this.#eof = true;
      this.#total = input.length;
    } else {
      this.#buf = new Uint8Array(0);
      const iterable = Symbol.asyncIterator in input ? (input as AsyncIterable<Uint8Array>) : iterateChunks(input as ReadableStream<Uint8Array>);
      this.#it = iterable[Symbol.asyncIterator]();
      this.#eof = false;
    }
  }

  /** Bytes buffered and not yet consumed. */
  get available(): number {
    return this.#end - this.#pos;
  }

  get eof(): boolean {
    return this.#eof && this.#pos === this.#end;
  }

  /** The buffer holding the unread bytes at [pos, pos + available) (valid until the next fill). */
  get buffer(): Uint8Array {
    return this.#buf;
  }
  get pos(): number {
    return this.#pos;
  }

  /** The buffered bytes from the read position (valid until the next fill). */
  view(): Uint8Array {
    return this.#buf.subarray(this.#pos, this.#end);
  }

  /** Pulls one more chunk into the buffer; false at end of input. */
  async fill(): Promise<boolean> {
    if (this.#eof || !this.#it) return false;
    let r: IteratorResult<Uint8Array>;
    do {
      r = await this.#it.next();
      if (r.done) {
        this.#eof = true;
        return false;
      }
    } while (r.value.length === 0);
    const chunk = r.value;
    this.#total += chunk.length;
    if (this.#total > this.maxBytes) throw new LtxError("LIMIT_EXCEEDED", `input exceeds ${this.maxBytes} bytes`);
    const rest = this.#end - this.#pos;
    const len = chunk.length;
    if (rest === 0) {
      // Zero-copy: read straight from the chunk (never written into).
      this.#buf = chunk;
      this.#pos = 0;
      this.#end = len;
    } else if (this.#buf === this.#scratch && this.#buf.length - this.#end >= len) {
      this.#buf.set(chunk, this.#end);
      this.#end += len;
    } else {
      // Join the unread rest and the chunk in one reusable scratch buffer (grown rarely).
      if (this.#scratch.length < rest + len) {
        const nb = new Uint8Array(Math.max(rest + len, 2 * this.#scratch.length, 64 * 1024));
        nb.set(this.#buf.subarray(this.#pos, this.#end));
        this.#scratch = nb;
      } else if (this.#buf === this.#scratch) {
        this.#scratch.copyWithin(0, this.#pos, this.#end);
      } else {
        this.#scratch.set(this.#buf.subarray(this.#pos, this.#end));
      }
      this.#scratch.set(chunk, rest);
      this.#buf = this.#scratch;
      this.#pos = 0;
      this.#end = rest + len;
    }
    return true;
  }
  // Our own buffer for joining a chunk to unread bytes; #buf is either it or a caller's chunk.
  #scratch = new Uint8Array(0);

  /** Ensures n contiguous bytes are buffered; false if the input ends first. */
  async ensure(n: number): Promise<boolean> {
    while (this.#end - this.#pos < n) {
      if (!(await this.fill())) return false;
    }
    return true;
  }

  /** Consumes n buffered bytes. */
  skip(n: number): void {
    this.#pos += n;
    this.offset += n;
  }

  /** Reads everything left, up to `max` bytes (LIMIT_EXCEEDED beyond). */
  async readRest(max: number): Promise<Uint8Array> {
    while (await this.fill()) {
      if (this.available > max) throw new LtxError("LIMIT_EXCEEDED", `more than ${max} bytes after the pages`);
    }
    if (this.available > max) throw new LtxError("LIMIT_EXCEEDED", `more than ${max} bytes after the pages`);
    const out = this.view();
    this.skip(out.length);
    return out;
  }

  async cancel(): Promise<void> {
    await this.#it?.return?.();
  }
}
