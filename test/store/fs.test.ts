import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it, expect } from "vitest";
import { FsStore } from "../../lib/adapters/fs-store.ts";
import { storeSuite } from "./suite.ts";
import { isLtxError } from "../../lib/errors.ts";

const root = mkdtempSync(join(tmpdir(), "ltxkit-fs-store-"));
storeSuite(`file (${process.env.LTXKIT_TEST_RUNTIME ?? "node"})`, () => new FsStore(root), { bigListing: true, chunked: true });

describe("FsStore keys", () => {
  it("rejects keys that escape the root", async () => {
    const s = new FsStore(root);
    for (const k of ["../x", "/abs", "a/../b", "a//b", "a\0b", ""]) {
      await expect(s.get(k)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
  });
});

describe("FsStore writes through AtomicFile: nothing partial, no temp file left", () => {
  const dirFiles = (s: FsStore, key: string) => readdirSync(dirname(s.path(key)));

  it("a body that fails midway leaves neither the key nor a temp file", async () => {
    const s = new FsStore(mkdtempSync(join(tmpdir(), "ltxkit-fs-atomic-")));
    await s.put("d/keep", new Uint8Array([9]));
    async function* failing() {
      yield new Uint8Array(1000).fill(1);
      throw new Error("source broke");
    }
    const err = await s.put("d/x", failing()).catch((e) => e);
    expect(isLtxError(err, "IO_ERROR"), String(err)).toBe(true);
    expect(await s.get("d/x")).toBeNull();
    expect(dirFiles(s, "d/keep")).toEqual(["keep"]);
  });

  it("a lost create-if-absent or compare-and-swap write is PRECONDITION_FAILED, keeps the old bytes and leaves no temp file", async () => {
    const s = new FsStore(mkdtempSync(join(tmpdir(), "ltxkit-fs-atomic-")));
    const { etag } = await s.put("k", new Uint8Array([1, 2, 3]));
    await expect(s.put("k", new Uint8Array([4]), { ifNoneMatch: "*" })).rejects.toMatchObject({ code: "PRECONDITION_FAILED" });
    await expect(s.put("k", new Uint8Array([5]), { ifMatch: `"${etag}x"` })).rejects.toMatchObject({ code: "PRECONDITION_FAILED" });
    expect(await s.get("k")).toEqual(new Uint8Array([1, 2, 3]));
    expect(readdirSync(s.root)).toEqual(["k"]);
    await s.put("k", new Uint8Array([6]), { ifMatch: etag });
    expect(await s.get("k")).toEqual(new Uint8Array([6]));
    expect(readdirSync(s.root)).toEqual(["k"]);
  });
});
