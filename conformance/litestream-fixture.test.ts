/**
 * The committed Go-written file replica (Litestream v0.5.16) lists, plans and restores in ltxkit
 * exactly as the Go CLI did when the fixture was made (oracle.json). Needs no Go.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { main } from "../lib/cli/run.ts";
import { captureIO } from "../test/cli/capture-io.ts";
import { FIXTURE, loadReplicaFixture } from "./litestream/fixture.ts";

const oracle = JSON.parse(readFileSync(join(FIXTURE, "oracle.json"), "utf8"));

describe("Go-written file replica fixture", () => {
  const dir = loadReplicaFixture();
  const url = `file://${dir}`;
  it("lists like litestream ltx -level all -json", async () => {
    const io = captureIO();
    expect(await main(["ls", "--level", "all", "--json", url], io)).toBe(0);
    expect(JSON.parse(io.stdout)).toEqual(oracle.listing);
  });
  for (const [i, p] of (oracle.plans as { args: string[]; plan: Record<string, unknown>; sha256: string }[]).entries()) {
    it(`plans and restores like litestream restore ${p.args.join(" ") || "(latest)"}`, async () => {
      const io = captureIO();
      expect(await main(["restore", "-dry-run", "-json", "-o", "/restored.db", ...p.args, url], io), io.stderr).toBe(0);
      const mine = JSON.parse(io.stdout);
      delete mine.source;
      expect(mine).toEqual(p.plan);
      const out = join(dir, "..", `restored-${i}.db`);
      const r = captureIO();
      expect(await main(["restore", "-o", out, "-integrity-check", "full", ...p.args, url], r), r.stderr).toBe(0);
      expect(createHash("sha256").update(readFileSync(out)).digest("hex")).toBe(p.sha256);
    });
  }
});
