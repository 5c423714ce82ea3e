import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { main } from "../../lib/cli/run.ts";
import { openReplicaFromEnv } from "../../lib/adapters/replica-node.ts";
import { writeLtxFile } from "../../lib/replica/list.ts";
import { captureIO } from "./capture-io.ts";

describe("ltxkit ls", () => {
  it("lists a file replica like litestream ltx -json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-ls-"));
    const r = openReplicaFromEnv(dir);
    await writeLtxFile(r, 0, 1n, 1n, new Uint8Array(10), Date.UTC(2026, 3, 24, 12, 0, 0, 500));
    await writeLtxFile(r, 0, 2n, 2n, new Uint8Array(20), Date.UTC(2026, 3, 24, 12, 0, 1));
    await writeLtxFile(r, 9, 1n, 2n, new Uint8Array(30), Date.UTC(2026, 3, 24, 12, 0, 2));
    let io = captureIO();
    expect(await main(["ls", "--json", dir], io)).toBe(0);
    expect(JSON.parse(io.stdout)).toEqual([
      { level: 0, min_txid: "0000000000000001", max_txid: "0000000000000001", size: 10, timestamp: "2026-04-24T12:00:00Z" },
      { level: 0, min_txid: "0000000000000002", max_txid: "0000000000000002", size: 20, timestamp: "2026-04-24T12:00:01Z" },
    ]);
    io = captureIO();
    expect(await main(["ls", "-level", "all", dir], io)).toBe(0);
    expect(io.stdout.trim().split("\n")).toHaveLength(4);
    expect(io.stdout).toMatch(/^9\s+0000000000000001\s+0000000000000002\s+30\s+2026-04-24T12:00:02Z$/m);
    io = captureIO();
    expect(await main(["ls", "--json", join(dir, "nothing-here")], io)).toBe(0);
    expect(JSON.parse(io.stdout)).toEqual([]);
    io = captureIO();
    expect(await main(["ls", "--level", "12", dir], io)).toBe(2);
    expect(io.stderr).toMatch(/invalid level/);
  });
});
