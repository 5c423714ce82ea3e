import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { FsStore } from "../../lib/adapters/fs-store.ts";
import { storeSuite } from "./suite.ts";

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
