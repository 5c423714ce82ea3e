/**
 * AtomicFile: writes below 64 KiB are synchronous system calls, larger ones go through the thread
 * pool, and only the fsyncs wait. The file that lands must hold exactly the bytes written at their
 * offsets, in a directory created on demand, with the mtime asked for; an exclusive commit never
 * replaces a file; a failed or aborted write leaves no temp file.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AtomicFile, writeFileAtomic } from "../../lib/adapters/fs-file.ts";
import { LtxError } from "../../lib/errors.ts";

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe("AtomicFile", () => {
  it("lands the bytes of small and large writes at their offsets, in a directory it creates, with the given mtime", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-atomic-"));
    const path = join(dir, "a", "b", "out.bin");
    const small = bytes(5000, 1);
    const large = bytes(200_000, 2);
    const patch = bytes(300, 3);
    const f = await AtomicFile.create(path);
    await f.write(small);
    await f.write(large);
    await f.writeAt(patch, 100);
    await f.writeAt(bytes(10, 4), 300_000); // a hole, zero-filled
    const mtime = new Date(1_700_000_000_000);
    await f.commit({ mtime });
    const want = new Uint8Array(300_010);
    want.set(small, 0);
    want.set(large, 5000);
    want.set(patch, 100);
    want.set(bytes(10, 4), 300_000);
    expect(Buffer.from(readFileSync(path)).equals(Buffer.from(want))).toBe(true);
    expect(statSync(path).mtimeMs).toBe(mtime.getTime());
    expect(readdirSync(join(dir, "a", "b"))).toEqual(["out.bin"]);
  });

  it("truncate cuts the file to the size given", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-atomic-"));
    const path = join(dir, "t.bin");
    const f = await AtomicFile.create(path);
    const b = bytes(100_000, 5);
    await f.write(b);
    await f.truncate(70_000);
    await f.commit();
    expect(Buffer.from(readFileSync(path)).equals(Buffer.from(b.subarray(0, 70_000)))).toBe(true);
  });

  it("an exclusive commit onto an existing file is OUTPUT_EXISTS, keeps the old bytes and leaves no temp file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-atomic-"));
    const path = join(dir, "x.bin");
    writeFileSync(path, "old");
    const f = await AtomicFile.create(path);
    await f.write(bytes(70_000, 6));
    const e = await f.commit({ exclusive: true }).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(LtxError);
    expect((e as LtxError).code).toBe("OUTPUT_EXISTS");
    expect(readFileSync(path, "utf8")).toBe("old");
    expect(readdirSync(dir)).toEqual(["x.bin"]);
    await expect(AtomicFile.create(path, { exclusive: true })).rejects.toMatchObject({ code: "OUTPUT_EXISTS" });
  });

  it("abort, or a body that fails, leaves neither the file nor a temp file; a write after commit is INVALID_STATE", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-atomic-"));
    const f = await AtomicFile.create(join(dir, "a.bin"));
    await f.write(bytes(1000, 7));
    await f.abort();
    expect(readdirSync(dir)).toEqual([]);
    async function* failing() {
      yield bytes(100_000, 8);
      throw new Error("source failed");
    }
    await expect(writeFileAtomic(join(dir, "b.bin"), failing())).rejects.toThrow("source failed");
    expect(readdirSync(dir)).toEqual([]);
    const g = await AtomicFile.create(join(dir, "c.bin"));
    await g.write(bytes(10, 9));
    await g.commit();
    await expect(g.write(bytes(10, 9))).rejects.toMatchObject({ code: "INVALID_STATE" });
    expect(readdirSync(dir)).toEqual(["c.bin"]);
  });
});
