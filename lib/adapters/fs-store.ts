/**
 * A BlobStore on a local directory, built on node:fs/promises (available in Node, Bun and Deno).
 *
 * - Keys map to paths under the root; `..`, absolute keys, empty segments and NUL are rejected.
 * - Writes are atomic, through AtomicFile (fs-file.ts): a temp file in the target directory, fsync,
 *   rename, fsync of the directory. `mtime` is applied before the rename (Go's file replica client
 *   sets it to the LTX timestamp).
 * - ETag = `<size hex>-<mtime ns hex>-<inode hex>`: every write makes a new inode, so an ETag names
 *   one version of the file.
 * - Conditional writes are safe against other writers on the same machine: `ifNoneMatch: "*"` links
 *   the temp file into place (link fails atomically if the key exists: an atomic create-exclusive);
 *   `ifMatch` and conditional deletes hold an exclusive lock file `<key>.ltxkit-lock` (O_EXCL) while
 *   comparing the ETag and renaming (a compare-and-swap). The lock file names its holder
 *   (`<host>\n<pid>`): a waiter removes it at once when that process is gone from this host (a
 *   writer killed inside the swap), else after 30 s. A holder paused inside the swap for longer
 *   than that can still race a waiter; the swap itself takes a few milliseconds.
 * - User metadata is not kept (file replicas carry the timestamp in the mtime, as Go's do).
 */
import { closeSync, fstatSync, openSync, promises as fsp, read as fsRead, readSync, unlinkSync, constants as fsc } from "node:fs";
import { join } from "node:path";
import os from "node:os";
import process from "node:process";
import { LtxError, isLtxError } from "../errors.ts";
import type { BlobInfo, BlobStore, ByteRange, DeleteOptions, GetOptions, ListOptions, PutBody, PutOptions } from "../store/blob-store.ts";
import { chunkSizeOf, clipRange } from "../store/body.ts";
import { iterateChunks } from "../util/chunks.ts";
import { compareKeys, unquote } from "../store/memory.ts";
import { AtomicFile, fsError, TMP_MARK } from "./fs-file.ts";

const LOCK_SUFFIX = ".ltxkit-lock";
/** get() reads of at most this many bytes are synchronous calls. */
const SYNC_READ_MAX = 64 << 10;

function readFd(fd: number, buf: Uint8Array, off: number, len: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fsRead(fd, buf, off, len, position, (e, n) => (e ? reject(e) : resolve(n))));
}
const LOCK_STALE_MS = 30_000;

/** A BlobStore on a local directory (Litestream's file replica), with atomic writes and conditional puts. */
export class FsStore implements BlobStore {
  readonly kind = "file";
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** The absolute path of a key. */
  path(key: string): string {
    if (!key || key.includes("\0") || key.startsWith("/") || key.includes("\\")) throw badKey(key);
    const parts = key.split("/");
    if (parts.some((p) => p === "" || p === "." || p === "..")) throw badKey(key);
    return join(this.root, ...parts);
  }

  async get(key: string, range?: ByteRange, _opts?: GetOptions): Promise<Uint8Array | null> {
    // Opened, sized, read (up to 64 KiB) and closed with synchronous calls: the upload of every L0
    // file reads its header this way, and four trips through the thread pool cost far more CPU
    // than the calls. Larger reads go through the pool.
    const path = this.path(key);
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (e) {
      if (code(e) === "ENOENT" || code(e) === "ENOTDIR" || code(e) === "EISDIR") return null;
      throw ioError("get", key, e, path);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return null;
      const [s, e] = clipRange(st.size, range);
      const out = new Uint8Array(e - s);
      let off = 0;
      while (off < out.length) {
        const n = out.length <= SYNC_READ_MAX ? readSync(fd, out, off, out.length - off, s + off) : await readFd(fd, out, off, out.length - off, s + off);
        if (n === 0) break;
        off += n;
      }
      return off === out.length ? out : out.subarray(0, off);
    } catch (e) {
      throw ioError("get", key, e, path);
    } finally {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }

  async getStream(key: string, range?: ByteRange, opts?: GetOptions): Promise<ReadableStream<Uint8Array> | null> {
    const chunk = chunkSizeOf(opts);
    const path = this.path(key);
    const fh = await openOrNull(path, "get", key);
    if (!fh) return null;
    let pos: number, end: number;
    try {
      const st = await fh.stat();
      [pos, end] = clipRange(st.size, range);
    } catch (e) {
      await fh.close();
      throw ioError("get", key, e, this.path(key));
    }
    return new ReadableStream<Uint8Array>({
      async pull(c) {
        try {
          if (pos >= end) {
            await fh.close();
            c.close();
            return;
          }
          const buf = new Uint8Array(Math.min(chunk, end - pos));
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) {
            await fh.close();
            c.close();
            return;
          }
          pos += bytesRead;
          c.enqueue(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
        } catch (e) {
          await fh.close().catch(() => {});
          c.error(ioError("get", key, e, path));
        }
      },
      async cancel() {
        await fh.close().catch(() => {});
      },
    });
  }

  async put(key: string, body: PutBody, opts: PutOptions = {}): Promise<{ etag: string; size: number }> {
    const path = this.path(key);
    const f = await AtomicFile.create(path).catch((e) => {
      throw ioError("put", key, e, path);
    });
    let size = 0;
    // What beforeCommit throws is what put rejects with, unwrapped.
    let refused: { e: unknown } | undefined;
    const check = opts.beforeCommit;
    const beforeRename = () => {
      try {
        check?.();
      } catch (e) {
        refused = { e };
        throw e;
      }
    };
    const commit = { ...(opts.mtime ? { mtime: opts.mtime } : {}), ...(check ? { beforeRename } : {}) };
    try {
      if (body instanceof Uint8Array) {
        await f.write(body);
        size = body.length;
      } else {
        for await (const chunk of iterateChunks(body)) {
          await f.write(chunk);
          size += chunk.length;
        }
      }
      // A caller that gave up (an expired lease) while the body was written must not see it land.
      const live = () => {
        if (opts.signal?.aborted) throw new LtxError("ABORTED", `put ${JSON.stringify(key)}: aborted before the commit`);
      };
      live();
      if (opts.ifNoneMatch === "*") {
        await f.commit({ ...commit, exclusive: true });
      } else if (opts.ifMatch !== undefined) {
        await this.#withLock(path, key, async () => {
          const cur = await statOrNull(path);
          if (!cur || etagOf(cur) !== unquote(opts.ifMatch!)) throw precondition("put", key, "etag does not match");
          live();
          await f.commit(commit);
        });
      } else {
        await f.commit(commit);
      }
    } catch (e) {
      await f.abort();
      if (refused) throw refused.e;
      if (isLtxError(e, "OUTPUT_EXISTS")) throw precondition("put", key, "object exists");
      throw ioError("put", key, e, path);
    }
    const st = await fsp.stat(path, { bigint: true });
    return { etag: etagOf(st), size };
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<BlobInfo> {
    const slash = prefix.lastIndexOf("/");
    const baseKey = slash >= 0 ? prefix.slice(0, slash) : "";
    const baseDir = baseKey ? this.path(baseKey) : this.root;
    const keys: string[] = [];
    await walk(baseDir, baseKey, keys);
    const sel = keys.filter((k) => k.startsWith(prefix) && (opts.startAfter === undefined || compareKeys(k, opts.startAfter) > 0));
    sel.sort(compareKeys);
    for (const k of sel) {
      const st = await statOrNull(this.path(k));
      if (st) yield { key: k, size: Number(st.size), etag: etagOf(st), lastModified: mtimeOf(st) };
    }
  }

  async delete(keys: readonly string[], opts: DeleteOptions = {}): Promise<void> {
    if (opts.ifMatch !== undefined) {
      if (keys.length !== 1) throw new LtxError("INVALID_ARGUMENT", "conditional delete takes exactly one key");
      const key = keys[0]!;
      const path = this.path(key);
      await this.#withLock(path, key, async () => {
        const cur = await statOrNull(path);
        if (!cur) return;
        if (etagOf(cur) !== unquote(opts.ifMatch!)) throw precondition("delete", key, "etag does not match");
        opts.beforeCommit?.();
        await fsp.unlink(path);
      });
      return;
    }
    // The unlinks are synchronous: one check covers them all.
    opts.beforeCommit?.();
    for (const key of keys) {
      try {
        unlinkSync(this.path(key));
      } catch (e) {
        if (code(e) !== "ENOENT" && code(e) !== "ENOTDIR") throw ioError("delete", key, e, this.path(key));
      }
    }
  }

  async head(key: string, _opts?: GetOptions): Promise<BlobInfo | null> {
    const st = await statOrNull(this.path(key));
    return st ? { key, size: Number(st.size), etag: etagOf(st), lastModified: mtimeOf(st), metadata: {} } : null;
  }

  async #withLock<T>(path: string, key: string, fn: () => Promise<T>): Promise<T> {
    const lock = path + LOCK_SUFFIX;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const fh = await fsp.open(lock, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY);
        try {
          await fh.writeFile(`${os.hostname()}\n${process.pid}\n`);
        } finally {
          await fh.close();
        }
        break;
      } catch (e) {
        if (code(e) !== "EEXIST") throw ioError("lock", key, e, lock);
        const st = await statOrNull(lock);
        if (st && (Date.now() - Number(st.mtimeNs / 1_000_000n) > LOCK_STALE_MS || (await holderGone(lock)))) await fsp.unlink(lock).catch(() => {});
        if (Date.now() > deadline) throw new LtxError("TIMEOUT", `lock ${JSON.stringify(key)}: timed out waiting for another writer`);
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
      }
    }
    try {
      return await fn();
    } finally {
      await fsp.unlink(lock).catch(() => {});
    }
  }
}

/** True when the lock file names a process of this host that no longer exists. */
async function holderGone(lock: string): Promise<boolean> {
  let text: string;
  try {
    text = await fsp.readFile(lock, "utf8");
  } catch {
    return false;
  }
  const [host, pidText] = text.split("\n");
  const pid = Number(pidText);
  if (host !== os.hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return code(e) === "ESRCH";
  }
}

type BigStats = Awaited<ReturnType<typeof statBig>>;
function statBig(p: string) {
  return fsp.stat(p, { bigint: true });
}

/** mtime in ms, rounded (utimes takes float seconds, which may land a nanosecond early). */
function mtimeOf(st: BigStats): Date {
  return new Date(Number((st.mtimeNs + 500_000n) / 1_000_000n));
}

function etagOf(st: BigStats): string {
  return `${st.size.toString(16)}-${st.mtimeNs.toString(16)}-${st.ino.toString(16)}`;
}

async function statOrNull(p: string): Promise<BigStats | null> {
  try {
    const st = await statBig(p);
    return st.isFile() ? st : null;
  } catch (e) {
    if (code(e) === "ENOENT" || code(e) === "ENOTDIR") return null;
    throw fsError("stat", p, e);
  }
}

async function openOrNull(p: string, method: string, key: string) {
  try {
    const fh = await fsp.open(p, "r");
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      return null;
    }
    return fh;
  } catch (e) {
    if (code(e) === "ENOENT" || code(e) === "ENOTDIR" || code(e) === "EISDIR") return null;
    throw ioError(method, key, e, p);
  }
}

async function walk(dir: string, keyPrefix: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (code(e) === "ENOENT" || code(e) === "ENOTDIR") return;
    throw fsError("list", dir, e);
  }
  for (const d of entries) {
    const key = keyPrefix ? `${keyPrefix}/${d.name}` : d.name;
    if (d.isDirectory()) await walk(join(dir, d.name), key, out);
    else if (d.isFile() && !d.name.includes(TMP_MARK) && !d.name.endsWith(LOCK_SUFFIX)) out.push(key);
  }
}

function code(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

function badKey(key: string): LtxError {
  return new LtxError("INVALID_ARGUMENT", `invalid key for a file store: ${JSON.stringify(key)}`);
}

function precondition(method: string, key: string, why: string): LtxError {
  return new LtxError("PRECONDITION_FAILED", `${method} ${JSON.stringify(key)}: precondition failed: ${why}`, { details: { method, key } });
}

/** IO_ERROR naming the operation, the key, the path and the errno code (an LtxError passes as it is). */
function ioError(method: string, key: string, e: unknown, path: string): LtxError {
  if (e instanceof LtxError) return e;
  return fsError(`${method} ${JSON.stringify(key)}:`, path, e);
}
