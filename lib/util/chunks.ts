/** Reading chunked input: a ReadableStream or an async iterable of byte arrays, as one iterator. */

/**
 * Iterates the chunks of a stream or an async iterable. A ReadableStream without async iteration
 * (older runtimes) is read through a reader whose lock is released when iteration ends or stops.
 */
export async function* iterateChunks(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (typeof (body as ReadableStream<Uint8Array>).getReader === "function" && !(Symbol.asyncIterator in body)) {
    const reader = (body as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  yield* body as AsyncIterable<Uint8Array>;
}
