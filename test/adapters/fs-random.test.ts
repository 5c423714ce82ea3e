/**
 * nodeFileAccess: reads of up to SYNC_READ_MAX bytes go through synchronous system calls, larger
 * ones through the thread pool. Both paths must return exactly the file's bytes at the offset,
 * short only at the end of the file; the expected bytes are the ones this test wrote itself.
 */
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nodeFileAccess, SYNC_READ_MAX } from "../../lib/adapters/fs-random.ts";
import { LtxError } from "../../lib/errors.ts";

/** Bytes that differ at every offset of interest (no two 4 KiB pages alike). */
function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function file(n: number) {
  const dir = mkdtempSync(join(tmpdir(), "ltxkit-fsrandom-"));
  const path = join(dir, "f.bin");
  const data = pattern(n);
  writeFileSync(path, data);
  return { dir, path, data };
}

describe("nodeFileAccess reads", () => {
  const size = 3 * SYNC_READ_MAX + 12345;

  it("returns the file's bytes at every offset, for reads below, at and above the synchronous limit", async () => {
    const { path, data } = file(size);
    const f = (await nodeFileAccess.open(path))!;
    try {
      for (const [offset, length] of [
        [0, 32],
        [32, 24],
        [4096 + 7, 4096 + 24],
        [1, SYNC_READ_MAX],
        [SYNC_READ_MAX - 3, SYNC_READ_MAX + 1],
        [5, 2 * SYNC_READ_MAX + 100],
      ] as const) {
        const got = await f.read(offset, length);
        expect(got.length).toBe(length);
        expect(Buffer.from(got).equals(Buffer.from(data.subarray(offset, offset + length)))).toBe(true);
      }
      expect(await f.size()).toBe(size);
    } finally {
      await f.close();
    }
  });

  it("is short only at the end of the file, on both paths, and empty past it", async () => {
    const { path, data } = file(size);
    const f = (await nodeFileAccess.open(path))!;
    try {
      const small = await f.read(size - 10, 100);
      expect(Buffer.from(small).equals(Buffer.from(data.subarray(size - 10)))).toBe(true);
      const large = await f.read(size - 1000, 2 * SYNC_READ_MAX);
      expect(Buffer.from(large).equals(Buffer.from(data.subarray(size - 1000)))).toBe(true);
      expect((await f.read(size + 5, 16)).length).toBe(0);
    } finally {
      await f.close();
    }
  });

  it("two files read in turn never return each other's bytes", async () => {
    const a = file(SYNC_READ_MAX + 4096);
    const b = file(SYNC_READ_MAX + 4096);
    writeFileSync(b.path, b.data.map((x) => x ^ 0xff));
    const fa = (await nodeFileAccess.open(a.path))!;
    const fb = (await nodeFileAccess.open(b.path))!;
    try {
      const [ra, rb, la, lb] = await Promise.all([fa.read(100, 4096), fb.read(100, 4096), fa.read(0, SYNC_READ_MAX + 1), fb.read(0, SYNC_READ_MAX + 1)]);
      expect(Buffer.from(ra).equals(Buffer.from(a.data.subarray(100, 4196)))).toBe(true);
      expect(Buffer.from(rb).equals(Buffer.from(b.data.subarray(100, 4196).map((x) => x ^ 0xff)))).toBe(true);
      expect(Buffer.from(la).equals(Buffer.from(a.data.subarray(0, SYNC_READ_MAX + 1)))).toBe(true);
      expect(Buffer.from(lb).equals(Buffer.from(b.data.subarray(0, SYNC_READ_MAX + 1).map((x) => x ^ 0xff)))).toBe(true);
    } finally {
      await fa.close();
      await fb.close();
    }
  });

  it("a read or size after close is an IO_ERROR, and close twice is harmless", async () => {
    const { path } = file(1000);
    const f = (await nodeFileAccess.open(path))!;
    await f.close();
    await f.close();
    for (const p of [f.read(0, 10), f.read(0, 2 * SYNC_READ_MAX), f.size()]) {
      const e = await p.then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(LtxError);
      expect((e as LtxError).code).toBe("IO_ERROR");
    }
  });

  it("stat gives size, mtime and the identity the opened file has; null for a missing file; another identity after a rename over it", async () => {
    const { dir, path } = file(777);
    const st = (await nodeFileAccess.stat(path))!;
    expect(st.size).toBe(777);
    expect(st.mtimeMs).toBeGreaterThan(0);
    const f = (await nodeFileAccess.open(path))!;
    expect(f.id).toBe(st.id);
    await f.close();
    expect(await nodeFileAccess.stat(join(dir, "missing"))).toBeNull();
    expect(await nodeFileAccess.open(join(dir, "missing"))).toBeNull();
    writeFileSync(join(dir, "g.bin"), pattern(10));
    renameSync(join(dir, "g.bin"), path);
    const st2 = (await nodeFileAccess.stat(path))!;
    expect(st2.size).toBe(10);
    expect(st2.id).not.toBe(st.id);
  });
});
