import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { main } from "../../lib/cli/run.ts";
import { captureIO } from "./capture-io.ts";
import { goTool } from "../../conformance/go-tools.ts";
import { goEnv } from "../../conformance/litestream/replicate.ts";

describe("ltxkit demo (npm start)", () => {
  it("writes, replicates, compacts, restores at points in time and verifies", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "ltxkit-demo-test-")), "d");
    const io = captureIO();
    expect(await main(["demo", "--json", "--dir", dir], io), io.stderr).toBe(0);
    const r = JSON.parse(io.stdout);
    expect(r.ok).toBe(true);
    expect(r.levels).toEqual(expect.arrayContaining([0, 1, 2, 3, 9]));
    expect(r.restores.map((x: { identical: boolean; integrity: string }) => [x.identical, x.integrity])).toEqual([[true, "ok"], [true, "ok"], [true, "ok"]]);
    // The same replica restores byte-for-byte with Go Litestream when it is installed.
    const ls = goTool("litestream-v0.5.16");
    if (ls) {
      const out = join(dir, "go.db");
      execFileSync(ls, ["restore", "-o", out, `file://${r.replica}`], { stdio: "pipe", env: goEnv() });
      expect(readFileSync(out).equals(readFileSync(r.restores[2].path))).toBe(true);
    }
    const again = captureIO();
    expect(await main(["demo", "--dir", dir], again)).toBe(2);
    expect(again.stderr).toMatch(/not empty/);
  });
});
