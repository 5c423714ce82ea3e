/**
 * test/run.mjs (`npm test`) refuses runs that would count nothing: an empty or unknown runtime
 * list, or an unreadable time limit, fail with the summary line instead of `0 passed, 0 failed`.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const RUN = join(dirname(fileURLToPath(import.meta.url)), "run.mjs");
const g = globalThis as { Bun?: unknown; Deno?: unknown };
const NODE = g.Bun || g.Deno ? "node" : process.execPath;

function run(env: Record<string, string>) {
  const r = spawnSync(NODE, [RUN], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, lines: r.stdout.trim().split("\n") };
}

describe("test runner (test/run.mjs)", () => {
  it("fails an empty LTXKIT_RUNTIMES with 0 passed, 1 failed", () => {
    for (const list of ["", " , "]) {
      const r = run({ LTXKIT_RUNTIMES: list });
      expect(r.code, JSON.stringify(list)).toBe(1);
      expect(r.lines.at(-1)).toBe("0 passed, 1 failed, 0 skipped");
      expect(r.lines.join("\n")).toContain("FAILED: LTXKIT_RUNTIMES is empty");
    }
  });

  it("fails an unknown runtime, naming it", () => {
    const r = run({ LTXKIT_RUNTIMES: "nodejs" });
    expect(r.code).toBe(1);
    expect(r.lines.at(-1)).toBe("0 passed, 1 failed, 0 skipped");
    expect(r.lines.join("\n")).toContain('FAILED: unknown runtime "nodejs" (known: node, node22, node26, bun, deno)');
  });

  it("fails an LTXKIT_RUNTIME_TIMEOUT that is not a number of seconds", () => {
    const r = run({ LTXKIT_RUNTIMES: "node", LTXKIT_RUNTIME_TIMEOUT: "10m" });
    expect(r.code).toBe(1);
    expect(r.lines.at(-1)).toBe("0 passed, 1 failed, 0 skipped");
  });
});
