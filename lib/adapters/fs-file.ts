/**
 * File helpers for the runtime adapters (node:fs, available in Node, Bun and Deno): streaming reads,
 * atomic writes (temp file in the same directory, fsync, rename, fsync of the directory) that never
 * leave a partial file in place.
 */
import { closeSync, createReadStream, fsync as fsFsync, ftruncateSync, linkSync, mkdirSync, openSync, promises as fsp, renameSync, unlinkSync, utimesSync, write as fsWrite, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { LtxError } from "../errors.ts";

/** Marks temp files: `.<name>.ltxkit-tmp-<random>` beside the target (listings skip them). */
export const TMP_MARK = ".ltxkit-tmp-";

/**
 * A failed file operation as IO_ERROR: the message names the operation, the path and the errno
 * code; `details` carries `path`, `errno` (e.g. ENOSPC, EROFS) and `syscall`. LtxErrors pass as they are.
 */
export function fsError(op: string, path: string, e: unknown): LtxError {
  if (e instanceof LtxError) return e;
  const x = (e ?? {}) as { code?: unknown; syscall?: unknown; message?: unknown };
  const details: Record<string, unknown> = { path };
  if (typeof x.code === "string") details.errno = x.code;
  if (typeof x.syscall === "string") details.syscall = x.syscall;
  const msg = typeof x.message === "string" ? x.message : String(e);
  return new LtxError("IO_ERROR", `${op} ${path}: ${msg}`, { cause: e, details });
}

/** A file as an async iterable of chunks. */
export async function* readFileChunks(path: string, chunkSize = 1 << 20): AsyncGenerator<Uint8Array> {
  const s = createReadStream(path, { highWaterMark: chunkSize });
  try {
    for await (const c of s) yield new Uint8Array((c as Uint8Array).buffer, (c as Uint8Array).byteOffset, (c as Uint8Array).length);
  } catch (e) {
    throw fsError("read", path, e);
  }
}

/** Writes of at most this many bytes are made synchronously (see AtomicFile). */
const SYNC_WRITE_MAX = 64 << 10;

/** fsync of a descriptor on libuv's thread pool: the one step of a write that waits for the disk. */
function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsFsync(fd, (e) => (e ? reject(e) : resolve())));
}

function writeFd(fd: number, data: Uint8Array, off: number, len: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fsWrite(fd, data, off, len, position, (e, n) => (e ? reject(e) : resolve(n))));
}

/**
 * An open temp file that becomes `path` on commit and disappears on abort.
 *
 * Only the fsyncs (and writes above 64 KiB) go through libuv's thread pool; the other steps (mkdir,
 * open, small writes, close, utimes, rename, link, unlink) are synchronous system calls that return
 * without waiting for the disk. Each trip through the pool costs 40-130 us of CPU on the calling
 * thread alone (a contended queue lock and a thread wake-up) against a few microseconds for the
 * call, and replication makes two atomic writes per L0 file. The durability steps are unchanged:
 * temp file, fsync, rename, fsync of the directory.
 */
export class AtomicFile {
  readonly path: string;
  readonly tmp: string;
  #fd: number | null = null;
  #pos = 0;

  private constructor(path: string) {
    this.path = path;
    this.tmp = join(dirname(path), `.${basename(path)}${TMP_MARK}${Math.random().toString(36).slice(2)}`);
  }

  /** Opens the temp file. With `exclusive`, an existing `path` is an OUTPUT_EXISTS error. */
  static async create(path: string, opts: { exclusive?: boolean } = {}): Promise<AtomicFile> {
    if (opts.exclusive && (await exists(path))) throw new LtxError("OUTPUT_EXISTS", `output already exists: ${path}`);
    const f = new AtomicFile(path);
    try {
      try {
        f.#fd = openSync(f.tmp, "wx");
      } catch (e) {
        if (errCode(e) !== "ENOENT") throw e;
        mkdirSync(dirname(path), { recursive: true });
        f.#fd = openSync(f.tmp, "wx");
      }
    } catch (e) {
      throw fsError("create", f.tmp, e);
    }
    return f;
  }

  /** Appends bytes. */
  async write(data: Uint8Array): Promise<void> {
    await this.writeAt(data, this.#pos);
  }

  /** Writes bytes at an offset. */
  async writeAt(data: Uint8Array, position: number): Promise<void> {
    if (this.#fd === null) throw new LtxError("INVALID_STATE", "file already closed");
    const fd = this.#fd;
    let off = 0;
    try {
      while (off < data.length) {
        const n = data.length - off <= SYNC_WRITE_MAX ? writeSync(fd, data, off, data.length - off, position + off) : await writeFd(fd, data, off, data.length - off, position + off);
        off += n;
      }
    } catch (e) {
      throw fsError("write", this.tmp, e);
    }
    this.#pos = Math.max(this.#pos, position + data.length);
  }

  async truncate(size: number): Promise<void> {
    if (this.#fd !== null) {
      try {
        ftruncateSync(this.#fd, size);
      } catch (e) {
        throw fsError("truncate", this.tmp, e);
      }
    }
    this.#pos = size;
  }

  /**
   * fsync, rename over `path`, fsync the directory. With `exclusive`, never replaces a file.
   * `beforeRename` runs after the fsync, right before the rename; what it throws abandons the file.
   */
  async commit(opts: { exclusive?: boolean; mtime?: Date; beforeRename?: () => void } = {}): Promise<void> {
    const fd = this.#fd;
    if (fd === null) throw new LtxError("INVALID_STATE", "file already closed");
    try {
      await fsyncFd(fd);
      this.#fd = null;
      closeSync(fd);
      if (opts.mtime) utimesSync(this.tmp, opts.mtime, opts.mtime);
      opts.beforeRename?.();
      if (opts.exclusive) {
        try {
          linkSync(this.tmp, this.path);
        } catch (e) {
          if ((e as { code?: string }).code === "EEXIST") throw new LtxError("OUTPUT_EXISTS", `output already exists: ${this.path}`);
          throw e;
        }
        unlinkSync(this.tmp);
      } else renameSync(this.tmp, this.path);
      await syncDir(dirname(this.path));
    } catch (e) {
      await this.abort();
      throw fsError("commit", this.path, e);
    }
  }

  /** Closes and removes the temp file; `path` is untouched. */
  async abort(): Promise<void> {
    const fd = this.#fd;
    this.#fd = null;
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      // not there (renamed, or never created)
    }
  }
}

/** Writes a whole stream atomically. */
export async function writeFileAtomic(path: string, body: Uint8Array | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>, opts: { exclusive?: boolean; mtime?: Date } = {}): Promise<number> {
  const f = await AtomicFile.create(path, opts);
  let n = 0;
  try {
    if (body instanceof Uint8Array) {
      await f.write(body);
      n = body.length;
    } else {
      for await (const c of body as AsyncIterable<Uint8Array>) {
        await f.write(c);
        n += c.length;
      }
    }
  } catch (e) {
    await f.abort();
    throw e;
  }
  await f.commit(opts);
  return n;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** fsyncs a directory so a rename in it is durable; platforms that refuse are tolerated. */
export async function syncDir(dir: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    await fsyncFd(fd);
  } catch (e) {
    if (!["EISDIR", "EINVAL", "EPERM", "EACCES", "EBADF"].includes(errCode(e) ?? "")) throw e;
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
}

function errCode(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}
