/**
 * DurableObjectVfsStorage inside a Durable Object (miniflare, SQLite-backed): pages and chunked
 * records round-trip, a failing batch leaves nothing behind, truncation lowers maxPage, and all of
 * it survives a restart of miniflare on the same persistence directory.
 */
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleWorker, root, skipWithoutWorkerd } from "./workerd/harness.ts";
import { pattern } from "./workerd/do-storage-worker.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe.skipIf(skipWithoutWorkerd())("DurableObjectVfsStorage in a Durable Object", () => {
  it("keeps pages and 1 MiB-chunked records atomically and durably across a restart", async () => {
    const { Miniflare } = await import("miniflare");
    const code = await bundleWorker(join(root, "conformance", "workerd", "do-storage-worker.ts"));
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-do-"));
    const make = () => new Miniflare({
      modules: [{ type: "ESModule", path: "worker.mjs", contents: code }],
      compatibilityDate: "2026-07-01",
      durableObjects: { DBO: { className: "StorageDO", useSQLite: true } },
      durableObjectsPersist: dir,
    });
    const written = {
      maxPage: 3,
      pages: { 1: sha(pattern(1, 4096)), 2: sha(pattern(2, 4096)), 3: sha(pattern(3, 4096)), 4: null },
      big: sha(pattern(11, 3 * 1024 * 1024 + 5)),
      small: sha(pattern(10, 100)),
      empty: 0,
      queued: ["q/0000000000000001", "q/0000000000000002", "q/\u00e9"],
      all: ["empty", "pos", "q/0000000000000001", "q/0000000000000002", "q/\u00e9", "q0", "qa"],
      // 3 MiB + 5 bytes in 1 MiB parts: 4 rows, none above 1 MiB.
      chunks: [
        { key: "empty", n: 1, m: 0 },
        { key: "pos", n: 1, m: 16 },
        { key: "q/0000000000000001", n: 1, m: 100 },
        { key: "q/0000000000000002", n: 4, m: 1048576 },
        { key: "q/\u00e9", n: 1, m: 3 },
        { key: "q0", n: 1, m: 2 },
        { key: "qa", n: 1, m: 1 },
      ],
    };
    let mf = make();
    try {
      const get = async (op: string) => {
        const r = await mf.dispatchFetch(`http://do/${op}`);
        const t = await r.text();
        expect(r.status, t).toBe(200);
        return JSON.parse(t);
      };
      expect(await get("write")).toEqual(written);
      expect(await get("atomic")).toEqual({ code: "INVALID_ARGUMENT", state: written });
      await mf.dispose();
      mf = make();
      expect(await get("read"), "after a restart").toEqual(written);
      const truncated = {
        ...written,
        maxPage: 2,
        pages: { ...written.pages, 3: null },
        small: null,
        queued: ["q/0000000000000002", "q/\u00e9"],
        all: ["empty", "pos", "q/0000000000000002", "q/\u00e9", "q0", "qa"],
        chunks: written.chunks.filter((c) => c.key !== "q/0000000000000001"),
      };
      expect(await get("truncate")).toEqual(truncated);
      await mf.dispose();
      mf = make();
      expect(await get("read"), "after a second restart").toEqual(truncated);
    } finally {
      await mf.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
