/**
 * Optional external programs the suite cross-checks against (python3 for the independent Python LTX
 * reader, the `lz4` CLI for frame interop). A test needing one skips visibly when it is absent,
 * unless LTXKIT_REQUIRE_PYTHON=1 / LTXKIT_REQUIRE_LZ4=1 (or LTXKIT_REQUIRE_ALL=1, as CI sets),
 * where absence fails the test.
 */
import { execFileSync } from "node:child_process";

export type ExternalTool = "python3" | "lz4";

const REQUIRE_VAR: Record<ExternalTool, string> = { python3: "LTXKIT_REQUIRE_PYTHON", lz4: "LTXKIT_REQUIRE_LZ4" };
const INSTALL: Record<ExternalTool, string> = { python3: "apt-get install python3", lz4: "apt-get install lz4" };

/** Whether LTXKIT_REQUIRE_ALL=1 is set: every optional suite (Go, S3, python3, lz4) must run. */
export const requireAll = process.env.LTXKIT_REQUIRE_ALL === "1";

/** Whether the environment demands this tool (its LTXKIT_REQUIRE_* variable or LTXKIT_REQUIRE_ALL). */
export function requireTool(tool: ExternalTool): boolean {
  return requireAll || process.env[REQUIRE_VAR[tool]] === "1";
}

/** Whether the program runs (`--version` exits 0). */
export function haveTool(tool: ExternalTool): boolean {
  try {
    execFileSync(tool, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** True when tests needing the tool should skip: absent and not required (a warning says so). */
export function skipWithout(tool: ExternalTool, what: string): boolean {
  if (haveTool(tool)) return false;
  if (requireTool(tool)) return false;
  console.warn(`SKIP: ${tool} not installed; ${what} not checked (${INSTALL[tool]}, or set ${REQUIRE_VAR[tool]}=1 to make this a failure)`);
  return true;
}

/** Throws a clear error when a required tool is absent (call at the start of a test that was not skipped). */
export function mustHaveTool(tool: ExternalTool): void {
  if (!haveTool(tool)) throw new Error(`${tool} is required (${REQUIRE_VAR[tool]}=1 or LTXKIT_REQUIRE_ALL=1) but not installed: ${INSTALL[tool]}`);
}
