/**
 * A replica `replicate()` writes while an application works (inserts, updates, deletes, overflow
 * blobs, VACUUM, an application checkpoint) restores after every sync() with Go `litestream
 * restore` v0.5.16 to the same bytes as with ltxkit's restore, and to the application's content.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FsStore } from "../lib/adapters/fs-store.ts";
import { replicate } from "../lib/adapters/replicate.ts";
import { fileLayout } from "../lib/replica/layout.ts";
import type { Replica } from "../lib/replica/replica.ts";
import { contentHash, mixedWorkload, restoreAndCheck } from "../test/capture/app.ts";
import { driver, openApp } from "../test/capture/driver.ts";
import { goTool, skipWithoutGo } from "./go-tools.ts";
import { goEnv } from "./litestream/replicate.ts";

describe.skipIf(skipWithoutGo("litestream-v0.5.16", "litestream-v0.5.15"))(`replicate() checked by litestream restore v0.5.16, and v0.5.15 for frame pages (${driver.name})`, () => {
  for (const [pageEncoding, compressL0] of [["block", true], ["frame", true], ["block", false]] as const) {
    it(`every sync() restores byte-identically with Go ${pageEncoding === "frame" ? "v0.5.16 and v0.5.15" : "v0.5.16"} and ltxkit (${pageEncoding} pages${compressL0 ? "" : ", L0 pages stored"})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "ltxkit-replicate-go-"));
      const path = join(dir, "app.db");
      const app = openApp(path, { pageSize: 4096, autocheckpoint: 0 });
      app.exec("CREATE TABLE t0 (x)");
      const url = join(dir, "replica");
      const h = await replicate(path, `file://${url}`, {
        monitorInterval: 50,
        syncInterval: 50,
        minCheckpointPageCount: 80,
        pageEncoding,
        compressL0,
        compaction: { levels: [300, 900], snapshotInterval: 1500, l0Retention: 3_600_000 },
      });
      const replica: Replica = { url, kind: "file", store: new FsStore(url), layout: fileLayout, timestampFromMetadata: false };
      try {
        for (const [i, step] of mixedWorkload(app).entries()) {
          step.run();
          const txid = await h.sync();
          const ours = await restoreAndCheck(replica, txid);
          expect(ours.integrity, step.name).toBe("ok");
          expect(ours.hash, step.name).toBe(contentHash(app));
          const out = join(dir, `go-${i}.db`);
          execFileSync(goTool("litestream-v0.5.16")!, ["restore", "-o", out, "-txid", txid.toString(16).padStart(16, "0"), `file://${url}`], { stdio: "pipe", env: goEnv() });
          expect(Buffer.compare(new Uint8Array(readFileSync(out)), ours.bytes), `${step.name}: go and ltxkit restores differ`).toBe(0);
          if (pageEncoding === "frame") {
            // v0.5.15 writes and reads only frame-encoded pages: the replica must be one it can restore
            const old = join(dir, `go15-${i}.db`);
            execFileSync(goTool("litestream-v0.5.15")!, ["restore", "-o", old, "-txid", txid.toString(16).padStart(16, "0"), `file://${url}`], { stdio: "pipe", env: goEnv() });
            expect(Buffer.compare(new Uint8Array(readFileSync(old)), ours.bytes), `${step.name}: go v0.5.15 and ltxkit restores differ`).toBe(0);
          }
        }
      } finally {
        await h.close();
        app.close();
      }
    });
  }
});
