/**
 * `FileAccess` over node:fs (Node, Bun and Deno).
 *
 * A file operation through the promise API costs a round trip through libuv's thread pool: with
 * 16 threads about 40–80 µs of CPU (a queue lock, a thread woken, an event-loop wake-up, a promise)
 * against 2–4 µs for the system call itself. The capture makes several small ones per database and
 * poll (a stat of the WAL and of the database, the WAL header, the checksum seed, a few frames), so
 * with many databases those round trips are most of its CPU time. So stat, fstat and reads of up
 * to SYNC_READ_MAX bytes are made synchronously; they return at page-cache speed for the WAL and
 * database files a live application keeps hot, and block no longer than a SQLite page read of the
 * application's own driver does. Opens, closes and larger reads (snapshots, bursts) stay
 * asynchronous, so a long read never holds the thread and the event loop runs between them.
 */
import { fstatSync, promises as fsp, readSync, statSync, watch as fsWatch } from "node:fs";
import { basename, dirname } from "node:path";
import { LtxError } from "../errors.ts";
import type { FileAccess, RandomAccessReader } from "../capture/sqlite.ts";

/** Reads of at most this many bytes are made synchronously (see the module comment). */
export const SYNC_READ_MAX = 64 << 10;

function ioError(op: string, path: string, e: unknown): LtxError {
  return new LtxError("IO_ERROR", `${op} ${path}: ${(e as Error).message}`, { cause: e });
}

/** Random-access reads of local files. */
export const nodeFileAccess: FileAccess = {
  async open(path: string): Promise<RandomAccessReader | null> {
    let fh: Awaited<ReturnType<typeof fsp.open>>;
    try {
      fh = await fsp.open(path, "r");
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return null;
      throw ioError("open", path, e);
    }
    let id: string;
    try {
      const st = fstatSync(fh.fd);
      id = `${st.dev}:${st.ino}`;
    } catch (e) {
      await fh.close().catch(() => {});
      throw ioError("stat", path, e);
    }
    let closed = false;
    const fd = () => {
      if (closed) throw ioError("read", path, new Error("file handle is closed"));
      return fh.fd;
    };
    return {
      id,
      async size() {
        try {
          return fstatSync(fd()).size;
        } catch (e) {
          throw e instanceof LtxError ? e : ioError("stat", path, e);
        }
      },
      async read(offset, length) {
        const buf = new Uint8Array(length);
        let got = 0;
        try {
          if (length <= SYNC_READ_MAX) {
            const f = fd();
            while (got < length) {
              const n = readSync(f, buf, got, length - got, offset + got);
              if (n === 0) break;
              got += n;
            }
          } else {
            while (got < length) {
              const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
              if (bytesRead === 0) break;
              got += bytesRead;
            }
          }
        } catch (e) {
          throw e instanceof LtxError ? e : ioError("read", path, e);
        }
        return got === length ? buf : buf.subarray(0, got);
      },
      async close() {
        if (closed) return;
        closed = true;
        await fh.close().catch(() => {});
      },
    };
  },
  async stat(path) {
    try {
      const st = statSync(path);
      return { size: st.size, mtimeMs: st.mtimeMs, id: `${st.dev}:${st.ino}` };
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return null;
      throw ioError("stat", path, e);
    }
  },
  async flush(path) {
    // fsync through the I/O threads; a read-only descriptor suffices on POSIX systems.
    let fh: Awaited<ReturnType<typeof fsp.open>> | undefined;
    try {
      fh = await fsp.open(path, "r");
      await fh.sync();
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return;
      throw ioError("fsync", path, e);
    } finally {
      await fh?.close().catch(() => {});
    }
  },
  watch(path, onChange) {
    // The directory is watched, not the file: a WAL is deleted and created again by SQLite.
    const name = basename(path);
    const w = fsWatch(dirname(path), { persistent: false }, (_event, file) => {
      if (file === null || String(file) === name) onChange();
    });
    w.on("error", () => {});
    return () => w.close();
  },
};
