/**
 * Vitest setup file (runs before each test file). When test/run.mjs sets LTXKIT_RUNTIME_PROBE to a
 * file path, appends one JSON line naming the runtime that really executes this test file (Bun,
 * Deno or Node, and its version), so the runner can check each runtime is the one it claims and
 * ran every file. Without the variable it does nothing.
 */
import { appendFileSync } from "node:fs";
import { expect } from "vitest";

const probe = process.env.LTXKIT_RUNTIME_PROBE;
if (probe) {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  const runtime = g.Bun ? { kind: "bun", version: g.Bun.version } : g.Deno ? { kind: "deno", version: g.Deno.version.deno } : { kind: "node", version: process.versions.node };
  appendFileSync(probe, JSON.stringify({ ...runtime, file: expect.getState().testPath ?? null, pid: process.pid }) + "\n");
}
