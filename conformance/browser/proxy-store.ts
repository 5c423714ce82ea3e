/**
 * A BlobStore in Node whose every call runs on a store inside the browser page (OpfsStore, or
 * S3Store over the page's fetch), so the shared conformance suite (test/store/suite.ts) proves
 * the browser-side store. Bodies travel as base64; streamed bodies and stream reads keep their
 * chunks; errors come back with their name and code.
 */
import { LtxError, type ErrorCode } from "../../lib/errors.ts";
import type { BlobInfo, BlobStore, ByteRange, DeleteOptions, GetOptions, ListOptions, PutBody, PutOptions } from "../../lib/store/blob-store.ts";
import { iterateChunks } from "../../lib/util/chunks.ts";
import { b64, rpc, unb64, type BrowserSession } from "./harness.ts";

type WireInfo = Omit<BlobInfo, "lastModified"> & { lastModified: number };

export class BrowserProxyStore implements BlobStore {
  constructor(readonly session: BrowserSession, readonly id: string, readonly kind: string) {}

  async #call<T>(method: string, ...args: unknown[]): Promise<T> {
    try {
      return (await rpc(this.session, method, this.id, ...args)) as T;
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err.name === "LtxError" && err.code) throw new LtxError(err.code as ErrorCode, err.message);
      throw e;
    }
  }

  async get(key: string, range?: ByteRange, _opts?: GetOptions): Promise<Uint8Array | null> {
    const r = await this.#call<string | null>("get", key, range);
    return r === null ? null : unb64(r);
  }

  async getStream(key: string, range?: ByteRange, opts?: GetOptions): Promise<ReadableStream<Uint8Array> | null> {
    const chunks = await this.#call<string[] | null>("getStream", key, range, opts?.chunkSize === undefined ? undefined : { chunkSize: opts.chunkSize });
    if (chunks === null) return null;
    return new ReadableStream<Uint8Array>({
      start(c) {
        for (const x of chunks) c.enqueue(unb64(x));
        c.close();
      },
    });
  }

  async put(key: string, body: PutBody, opts: PutOptions = {}): Promise<{ etag: string; size: number }> {
    const wire = body instanceof Uint8Array ? { bytes: b64(body) } : { chunks: await collectChunks(body) };
    const { signal: _s, mtime, ...rest } = opts;
    return this.#call("put", key, wire, { ...rest, ...(mtime ? { mtime: mtime.getTime() } : {}) });
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<BlobInfo> {
    const r = await this.#call<WireInfo[]>("list", prefix, opts.startAfter === undefined ? {} : { startAfter: opts.startAfter });
    for (const b of r) yield { ...b, lastModified: new Date(b.lastModified) };
  }

  async delete(keys: readonly string[], opts: DeleteOptions = {}): Promise<void> {
    await this.#call("delete", [...keys], opts.ifMatch === undefined ? {} : { ifMatch: opts.ifMatch });
  }

  async head(key: string, _opts?: GetOptions): Promise<BlobInfo | null> {
    const r = await this.#call<WireInfo | null>("head", key);
    return r && { ...r, lastModified: new Date(r.lastModified) };
  }
}

async function collectChunks(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const c of iterateChunks(body)) out.push(b64(c));
  return out;
}
