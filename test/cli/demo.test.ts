import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect, beforeAll } from "vitest";
import { main } from "../../lib/cli/run.ts";
import { captureIO } from "./capture-io.ts";
import { mustGoTool, skipWithoutGo } from "../../conformance/go-tools.ts";
import { goEnv } from "../../conformance/litestream/replicate.ts";

describe("ltxkit demo (npm start)", () => {
  const dir = join(mkdtempSync(join(tmpdir(), "ltxkit-demo-test-")), "d");
  let code = -1;
  let io = captureIO();
  let r: { ok: boolean; levels: number[]; replica: string; restores: { identical: boolean; integrity: string; path: string }[] };
  beforeAll(async () => {
    io = captureIO();
    code = await main(["demo", "--json", "--dir", dir], io);
    if (code === 0) r = JSON.parse(io.stdout);
  }, 180_000);

  it("writes, replicates, compacts, restores at points in time and verifies", async () => {
    expect(code, io.stderr).toBe(0);
    expect(r.ok).toBe(true);
    expect(r.levels).toEqual(expect.arrayContaining([0, 1, 2, 3, 9]));
    expect(r.restores.map((x) => [x.identical, x.integrity])).toEqual([[true, "ok"], [true, "ok"], [true, "ok"]]);
    const again = captureIO();
    expect(await main(["demo", "--dir", dir], again)).toBe(2);
    expect(again.stderr).toMatch(/not empty/);
  });

  it.skipIf(skipWithoutGo("litestream-v0.5.16"))("its replica restores byte-for-byte with litestream restore v0.5.16", () => {
    expect(code, io.stderr).toBe(0);
    const out = join(dir, "..", "go.db");
    execFileSync(mustGoTool("litestream-v0.5.16"), ["restore", "-o", out, `file://${r.replica}`], { stdio: "pipe", env: goEnv() });
    expect(readFileSync(out).equals(readFileSync(r.restores[2]!.path))).toBe(true);
  });
});
