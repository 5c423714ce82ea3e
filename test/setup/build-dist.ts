/**
 * Vitest global setup: builds dist/ once, before any test file runs, when it is missing or older
 * than its sources. Tests that spawn the built CLI then find it current, and no test rebuilds it
 * while another one is running it (tsc rewrites every file, so a build racing a spawned CLI makes
 * it import half-written modules).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

export default function setup(): void {
  const bin = join(ROOT, "dist", "cli", "main.js");
  const src = Math.max(newestMtime(join(ROOT, "lib")), statSync(join(ROOT, "tsconfig.build.json")).mtimeMs, statSync(join(ROOT, "package.json")).mtimeMs);
  if (existsSync(bin) && statSync(bin).mtimeMs >= src) return;
  const r = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.build.json")], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`building dist/ failed: ${r.stdout}${r.stderr}`);
}
