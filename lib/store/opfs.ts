/**
 * A BlobStore in the Origin Private File System (browsers): one OPFS file per object, keys split at
 * `/` into nested directories.
 *
 * Layout. A key's segments before the last become directories named after the segment's encoding
 * plus `%2F` (the encoding of `/`), the last segment becomes a file named after its encoding, so a
 * key `a` and a key `a/b` live side by side. The encoding escapes `%`, `\` and control characters
 * as `%XX` (and `.`/`..`, which OPFS refuses as names); an empty last segment is the file `%`. A
 * listing walks only the directories under the prefix and sorts the decoded keys in byte order, as
 * the other stores list.
 *
 * File format: opfs-object.ts (a header with the object's metadata, then its bytes, in one file,
 * written in one atomic step).
 *
 * Guarantees OPFS gives and what this store builds on them. `createWritable()` writes into a swap
 * file and replaces the target only when `close()` succeeds: readers see the old object or the new
 * one, never a mix, and a put that fails or whose page dies leaves the old object. Creating the
 * handle of a new key creates an empty file at once; an empty (header-less) file is "absent" to
 * every read, listing and condition, so a new object appears only when its write commits. OPFS has
 * no compare-and-swap, so conditional puts and deletes hold a Web Lock (`navigator.locks`) on the
 * key while they check and write, which orders them against every other writer of the origin (tabs,
 * workers); without Web Locks a lock within this JavaScript realm is used. Durability is the
 * browser's: a committed write survives a reload and a browser restart, but the origin's storage can
 * be evicted unless `navigator.storage.persist()` was granted.
 *
 * @module
 */
import { LtxError } from "../errors.ts";
import type { BlobInfo, BlobStore, ByteRange, DeleteOptions, GetOptions, ListOptions, PutBody, PutOptions } from "./blob-store.ts";
import { chunkSizeOf, clipRange, collectBody } from "./body.ts";
import { compareKeys, unquote } from "./memory.ts";
import { encodeHeader, errName, ioError, mintEtag, readObject, readSlice, type Found, type Meta } from "./opfs-object.ts";

// ---- The subset of the File System Access / OPFS API this store uses (typed here, so the core needs no DOM types).

/** The part of a `FileSystemWritableFileStream` OpfsStore uses. */
export interface OpfsWritable {
  write(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}

/** The part of a `File` (a `Blob`) OpfsStore reads through. */
export interface OpfsFile {
  readonly size: number;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/** The part of a `FileSystemFileHandle` OpfsStore uses. */
export interface OpfsFileHandle {
  readonly kind: "file";
  readonly name: string;
  getFile(): Promise<OpfsFile>;
  createWritable(options?: { keepExistingData?: boolean }): Promise<OpfsWritable>;
}

/** The part of a `FileSystemDirectoryHandle` OpfsStore uses. */
export interface OpfsDirectoryHandle {
  readonly kind: "directory";
  readonly name: string;
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<OpfsDirectoryHandle>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<OpfsFileHandle>;
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
  entries(): AsyncIterable<[string, OpfsFileHandle | OpfsDirectoryHandle]>;
  resolve?(possibleDescendant: OpfsDirectoryHandle | OpfsFileHandle): Promise<string[] | null>;
}

/** The part of `navigator.locks` (Web Locks) OpfsStore uses. */
export interface OpfsLockManager {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** Options of OpfsStore.open. */
export interface OpfsStoreOptions {
  /** Directory to keep the objects in. Default: the origin's OPFS root (`navigator.storage.getDirectory()`). */
  directory?: OpfsDirectoryHandle;
  /** A sub-directory of `directory` to use (created when missing), e.g. `"replica"`. */
  path?: string;
  /**
   * Lock manager for conditional writes (default `navigator.locks` when present). Writers that share
   * a directory must use the same lock names: the default scope is the directory's path from the
   * OPFS root.
   */
  locks?: OpfsLockManager | null;
  /** Name of the lock scope (default: `ltxkit-opfs:` and the directory's path from the OPFS root). */
  lockScope?: string;
}

const DIR_SUFFIX = "%2F";

/** A BlobStore over an OPFS directory (browsers; Deno and workers do not have OPFS). */
export class OpfsStore implements BlobStore {
  readonly kind = "opfs";
  readonly #root: OpfsDirectoryHandle;
  readonly #locks: OpfsLockManager;
  readonly #scope: string;

  private constructor(root: OpfsDirectoryHandle, locks: OpfsLockManager, scope: string) {
    this.#root = root;
    this.#locks = locks;
    this.#scope = scope;
  }

  /** Opens the store on `opts.directory` (default: the OPFS root), under `opts.path` when given. */
  static async open(opts: OpfsStoreOptions = {}): Promise<OpfsStore> {
    const nav = (globalThis as { navigator?: { storage?: { getDirectory?: () => Promise<unknown> }; locks?: OpfsLockManager } }).navigator;
    let origin: OpfsDirectoryHandle | undefined;
    if (typeof nav?.storage?.getDirectory === "function") origin = (await nav.storage.getDirectory().catch(() => undefined)) as OpfsDirectoryHandle | undefined;
    let dir = opts.directory ?? origin;
    if (!dir) throw new LtxError("UNSUPPORTED", "OpfsStore needs the Origin Private File System (navigator.storage.getDirectory) or a directory handle");
    for (const seg of (opts.path ?? "").split("/").filter(Boolean)) {
      dir = await opfsCall(`open directory ${JSON.stringify(opts.path)}`, () => dir!.getDirectoryHandle(encodeSegment(seg) + DIR_SUFFIX, { create: true }));
    }
    let scope = opts.lockScope;
    if (scope === undefined) {
      const rel = origin && origin.resolve ? await origin.resolve(dir).catch(() => null) : null;
      scope = rel ? `ltxkit-opfs:/${rel.join("/")}` : `ltxkit-opfs:${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    }
    const locks = opts.locks === null ? realmLocks() : (opts.locks ?? (typeof nav?.locks?.request === "function" ? nav.locks : realmLocks()));
    return new OpfsStore(dir, locks, scope);
  }

  async get(key: string, range?: ByteRange, _opts?: GetOptions): Promise<Uint8Array | null> {
    const f = await this.#find(key);
    if (!f) return null;
    const [s, e] = clipRange(f.size, range);
    if (e <= s) return new Uint8Array(0);
    return readSlice(f.file, f.start + s, f.start + e, key);
  }

  async getStream(key: string, range?: ByteRange, opts?: GetOptions): Promise<ReadableStream<Uint8Array> | null> {
    const f = await this.#find(key);
    if (!f) return null;
    const [s, e] = clipRange(f.size, range);
    const chunk = chunkSizeOf(opts);
    let pos = f.start + s;
    const end = f.start + e;
    return new ReadableStream<Uint8Array>({
      async pull(c) {
        if (pos >= end) return c.close();
        const n = Math.min(chunk, end - pos);
        const part = await readSlice(f.file, pos, pos + n, key);
        pos += n;
        c.enqueue(part);
      },
    }, { highWaterMark: 0 });
  }

  async put(key: string, body: PutBody, opts: PutOptions = {}): Promise<{ etag: string; size: number }> {
    const path = splitKey(key);
    const data = await collectBody(body);
    const meta: Meta = { etag: mintEtag(), mtime: (opts.mtime ?? new Date()).getTime(), metadata: { ...(opts.metadata ?? {}) } };
    if (opts.contentType !== undefined) meta.contentType = opts.contentType;
    if (!Number.isFinite(meta.mtime)) throw new LtxError("INVALID_ARGUMENT", `put ${JSON.stringify(key)}: invalid mtime`);
    const head = encodeHeader(meta);
    return this.#locked(key, async () => {
      if (opts.ifNoneMatch === "*" || opts.ifMatch !== undefined) {
        const cur = await this.#find(key);
        if (opts.ifNoneMatch === "*" && cur) throw precondition("put", key, "object exists");
        if (opts.ifMatch !== undefined && (!cur || cur.meta.etag !== unquote(opts.ifMatch))) throw precondition("put", key, "etag does not match");
      }
      const dir = await this.#dir(path.dirs, true, key);
      const fh = await opfsCall(`put ${JSON.stringify(key)}`, () => dir!.getFileHandle(path.file, { create: true }));
      const w = await opfsCall(`put ${JSON.stringify(key)}`, () => fh.createWritable({ keepExistingData: false }));
      try {
        await w.write(head);
        if (data.length) await w.write(data);
      } catch (e) {
        await w.abort().catch(() => undefined);
        throw ioError(`put ${JSON.stringify(key)}`, e);
      }
      try {
        opts.beforeCommit?.();
      } catch (e) {
        await w.abort().catch(() => undefined);
        throw e;
      }
      await opfsCall(`put ${JSON.stringify(key)} (commit)`, () => w.close());
      return { etag: meta.etag, size: data.length };
    });
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<BlobInfo> {
    const cut = prefix.lastIndexOf("/");
    const dirPart = cut < 0 ? [] : prefix.slice(0, cut).split("/");
    const dir = await this.#dir(dirPart, false, prefix);
    if (!dir) return;
    const base = cut < 0 ? "" : prefix.slice(0, cut + 1);
    const rest = prefix.slice(cut + 1);
    const keys: { key: string; handle: OpfsFileHandle }[] = [];
    await walk(dir, base, rest, keys);
    keys.sort((a, b) => compareKeys(a.key, b.key));
    for (const { key, handle } of keys) {
      if (!key.startsWith(prefix) || (opts.startAfter !== undefined && compareKeys(key, opts.startAfter) <= 0)) continue;
      const f = await readObject(handle, key);
      if (f) yield { key, size: f.size, etag: f.meta.etag, lastModified: new Date(f.meta.mtime) };
    }
  }

  async delete(keys: readonly string[], opts: DeleteOptions = {}): Promise<void> {
    if (opts.ifMatch !== undefined && keys.length !== 1) throw new LtxError("INVALID_ARGUMENT", "conditional delete takes exactly one key");
    for (const key of keys) {
      const path = splitKey(key);
      await this.#locked(key, async () => {
        if (opts.ifMatch !== undefined) {
          const cur = await this.#find(key);
          if (!cur) return;
          if (cur.meta.etag !== unquote(opts.ifMatch)) throw precondition("delete", key, "etag does not match");
        }
        const dir = await this.#dir(path.dirs, false, key);
        if (!dir) return;
        opts.beforeCommit?.();
        await dir.removeEntry(path.file).catch((e: unknown) => {
          if (errName(e) !== "NotFoundError") throw ioError(`delete ${JSON.stringify(key)}`, e);
        });
      });
    }
  }

  async head(key: string, _opts?: GetOptions): Promise<BlobInfo | null> {
    const f = await this.#find(key);
    if (!f) return null;
    const info: BlobInfo = { key, size: f.size, etag: f.meta.etag, lastModified: new Date(f.meta.mtime), metadata: { ...f.meta.metadata } };
    return info;
  }

  async #find(key: string): Promise<Found | null> {
    const path = splitKey(key);
    const dir = await this.#dir(path.dirs, false, key);
    if (!dir) return null;
    let fh: OpfsFileHandle;
    try {
      fh = await dir.getFileHandle(path.file);
    } catch (e) {
      if (errName(e) === "NotFoundError" || errName(e) === "TypeMismatchError") return null;
      throw ioError(`open ${JSON.stringify(key)}`, e);
    }
    return readObject(fh, key);
  }

  /** The directory of `segments` (created when `create`), or null when a part is missing. */
  async #dir(segments: readonly string[], create: boolean, key: string): Promise<OpfsDirectoryHandle | null> {
    let dir = this.#root;
    for (const seg of segments) {
      try {
        dir = await dir.getDirectoryHandle(encodeSegment(seg) + DIR_SUFFIX, { create });
      } catch (e) {
        if (!create && (errName(e) === "NotFoundError" || errName(e) === "TypeMismatchError")) return null;
        throw ioError(`open directory of ${JSON.stringify(key)}`, e);
      }
    }
    return dir;
  }

  #locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.request(`${this.#scope}\0${key}`, fn);
  }
}

/** Collects every committed-or-pending object file under `dir` whose key may start with base + rest. */
async function walk(dir: OpfsDirectoryHandle, base: string, rest: string, out: { key: string; handle: OpfsFileHandle }[]): Promise<void> {
  for await (const [name, h] of dir.entries()) {
    if (h.kind === "directory") {
      if (!name.endsWith(DIR_SUFFIX)) continue;
      const seg = decodeSegment(name.slice(0, -DIR_SUFFIX.length));
      if (seg === null) continue;
      const sub = seg + "/";
      // Descend when the directory's keys can match: its name extends the rest, or the rest extends into it.
      if (sub.startsWith(rest) || rest.startsWith(sub)) await walk(h, base + sub, rest.startsWith(sub) ? rest.slice(sub.length) : "", out);
    } else {
      const seg = name === "%" ? "" : decodeSegment(name);
      if (seg === null || !seg.startsWith(rest)) continue;
      out.push({ key: base + seg, handle: h });
    }
  }
}

function splitKey(key: string): { dirs: string[]; file: string } {
  if (typeof key !== "string" || !key || key.includes("\0")) throw new LtxError("INVALID_ARGUMENT", `invalid key: ${JSON.stringify(key)}`);
  const parts = key.split("/");
  const file = parts.pop()!;
  return { dirs: parts, file: file === "" ? "%" : encodeSegment(file) };
}

/** Encodes one key segment as an OPFS name (see the module comment). */
export function encodeSegment(seg: string): string {
  if (seg === "." || seg === "..") return seg.replace(/\./g, "%2E");
  // eslint-disable-next-line no-control-regex
  return seg.replace(/[%\\\x00-\x1f\x7f]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"));
}

function decodeSegment(name: string): string | null {
  try {
    return decodeURIComponent(name);
  } catch {
    return null; // not a name this store wrote
  }
}

/** A lock manager within this JavaScript realm (used when Web Locks are absent). */
function realmLocks(): OpfsLockManager {
  const tails = new Map<string, Promise<unknown>>();
  return {
    request<T>(name: string, fn: () => Promise<T>): Promise<T> {
      const prev = tails.get(name) ?? Promise.resolve();
      const run = prev.then(fn, fn);
      const tail = run.catch(() => undefined);
      tails.set(name, tail);
      void tail.then(() => {
        if (tails.get(name) === tail) tails.delete(name);
      });
      return run;
    },
  };
}

async function opfsCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw ioError(what, e);
  }
}

function precondition(method: string, key: string, why: string): LtxError {
  return new LtxError("PRECONDITION_FAILED", `${method} ${JSON.stringify(key)}: precondition failed: ${why}`, { details: { method, key } });
}
