/** `FileAccess` over node:fs/promises (Node, Bun and Deno). */
import { promises as fsp, watch as fsWatch } from "node:fs";
import { basename, dirname } from "node:path";
import { LtxError } from "../errors.ts";
import type { FileAccess, RandomAccessReader } from "../capture/sqlite.ts";

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
      const st = await fh.stat();
      id = `${st.dev}:${st.ino}`;
    } catch (e) {
      await fh.close().catch(() => {});
      throw ioError("stat", path, e);
    }
    return {
      id,
      async size() {
        try {
          return (await fh.stat()).size;
        } catch (e) {
          throw ioError("stat", path, e);
        }
      },
      async read(offset, length) {
        const buf = new Uint8Array(length);
        let got = 0;
        try {
          while (got < length) {
            const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
            if (bytesRead === 0) break;
            got += bytesRead;
          }
        } catch (e) {
          throw ioError("read", path, e);
        }
        return got === length ? buf : buf.subarray(0, got);
      },
      async close() {
        await fh.close().catch(() => {});
      },
    };
  },
  async stat(path) {
    try {
      const st = await fsp.stat(path);
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
