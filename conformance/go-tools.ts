/**
 * Locates the Go reference tools (installed by conformance/install-go-tools.sh). Tests that need a
 * tool skip visibly when it is absent, unless LTXKIT_REQUIRE_GO=1 or LTXKIT_REQUIRE_ALL=1 (CI), where
 * absence fails.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export type GoToolName = "litestream-v0.5.16" | "litestream-v0.5.15" | "ltx-v0.5.2" | "ltx-v0.5.1" | "ltxoracle" | "leaser-v0.5.16";

export const requireGo = process.env.LTXKIT_REQUIRE_GO === "1" || process.env.LTXKIT_REQUIRE_ALL === "1";

function dirs(): string[] {
  const d: string[] = [];
  if (process.env.LTXKIT_TOOLS) d.push(join(process.env.LTXKIT_TOOLS, "bin"));
  d.push(join(homedir(), ".cache", "ltxkit-tools", "bin"));
  return d;
}

/** Absolute path of a Go tool, or null. */
export function goTool(name: GoToolName): string | null {
  for (const d of dirs()) {
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** True when the tests needing these tools should be skipped (tools absent and not required). */
export function skipWithoutGo(...names: GoToolName[]): boolean {
  const missing = names.filter((n) => !goTool(n));
  if (missing.length && !requireGo) {
    console.warn(`SKIP: Go tools not installed (${missing.join(", ")}); run bash conformance/install-go-tools.sh`);
    return true;
  }
  return false;
}

/** Path of a tool that must exist (throws a clear error; used inside tests not skipped). */
export function mustGoTool(name: GoToolName): string {
  const p = goTool(name);
  if (!p) throw new Error(`Go tool ${name} not installed: run bash conformance/install-go-tools.sh`);
  return p;
}
