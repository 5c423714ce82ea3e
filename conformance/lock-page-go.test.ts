/**
 * A replica of a database past 1 GiB (so it crosses SQLite's lock page), written by ltxkit, restores
 * to the same bytes with Go `litestream restore` v0.5.16 and with `ltxkit restore`; the lock page is
 * zeros in both.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { main } from "../lib/cli/run.ts";
import { openReplicaFromEnv } from "../lib/adapters/replica-node.ts";
import { captureIO } from "../test/cli/capture-io.ts";
import { LOCK_PGNO, LOCK_PS, writeLockPageReplica } from "../test/replica/fixtures.ts";
import { goTool, skipWithoutGo } from "./go-tools.ts";
import { goEnv } from "./litestream/replicate.ts";

/** SHA-256 of a file and its lock page's bytes, read in 1 MiB steps. */
function digest(path: string): { sha: string; lockPageZero: boolean; size: number } {
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  const buf = new Uint8Array(1 << 20);
  let pos = 0, n: number;
  while ((n = readSync(fd, buf, 0, buf.length, pos)) > 0) {
    h.update(buf.subarray(0, n));
    pos += n;
  }
  const lock = new Uint8Array(LOCK_PS);
  readSync(fd, lock, 0, LOCK_PS, (LOCK_PGNO - 1) * LOCK_PS);
  closeSync(fd);
  return { sha: h.digest("hex"), lockPageZero: lock.every((b) => b === 0), size: statSync(path).size };
}

describe.skipIf(skipWithoutGo("litestream-v0.5.16"))("a database past the lock page restores identically with Go", () => {
  it("litestream restore and ltxkit restore write the same bytes, lock page zeroed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-lock-go-"));
    try {
      const url = join(dir, "replica");
      const { commit } = await writeLockPageReplica(openReplicaFromEnv(url));
      const goOut = join(dir, "go.db"), tsOut = join(dir, "ltxkit.db");
      execFileSync(goTool("litestream-v0.5.16")!, ["restore", "-o", goOut, `file://${url}`], { stdio: "pipe", env: goEnv() });
      const io = captureIO();
      expect(await main(["restore", "-o", tsOut, url], io), io.stderr).toBe(0);
      const go = digest(goOut), ts = digest(tsOut);
      expect(go.size).toBe(commit * LOCK_PS);
      expect(go.lockPageZero).toBe(true);
      expect(ts).toEqual(go);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
