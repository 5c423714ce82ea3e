/**
 * Runs worker code in workerd through miniflare: bundles a TypeScript worker entry (and the ltxkit
 * sources it imports) with rolldown into one ES module, hands sqlite3.wasm and the trampoline bundle
 * in as CompiledWasm modules, and starts Miniflare. Suites skip visibly without miniflare unless
 * LTXKIT_REQUIRE_WORKERD=1 or LTXKIT_REQUIRE_ALL=1.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(import.meta.url);

export const requireWorkerd = process.env.LTXKIT_REQUIRE_WORKERD === "1" || process.env.LTXKIT_REQUIRE_ALL === "1";

function hasMiniflare(): boolean {
  try {
    require.resolve("miniflare");
    return true;
  } catch {
    return false;
  }
}

/** True when the workerd suites should be skipped (miniflare absent and not required). */
export function skipWithoutWorkerd(): boolean {
  if (hasMiniflare()) return false;
  if (requireWorkerd) return false; // the suite runs and fails on the missing import
  console.warn("SKIP: miniflare (workerd) is not installed; the workerd suites need it (npm i -D miniflare)");
  return true;
}

const bundles = new Map<string, Promise<string>>();

/** One ES module: the worker entry with everything it imports bundled, `.wasm` imports left external. */
export function bundleWorker(entry: string): Promise<string> {
  let b = bundles.get(entry);
  if (!b) {
    b = (async () => {
      const { rolldown } = await import("rolldown");
      const build = await rolldown({
        input: entry,
        platform: "browser",
        external: [/\.wasm$/],
        resolve: { conditionNames: ["import", "browser", "default"] },
        logLevel: "silent",
      });
      const { output } = await build.generate({ format: "esm" });
      await build.close();
      return output[0].code;
    })();
    bundles.set(entry, b);
  }
  return b;
}

/** The modules a worker bundle imports besides itself: sqlite3.wasm and the trampoline bundle. */
export function wasmModules(): { type: "CompiledWasm"; path: string; contents: Uint8Array }[] {
  const sqliteWasm = join(dirname(require.resolve("@sqlite.org/sqlite-wasm/package.json")), "dist", "sqlite3.wasm");
  return [
    { type: "CompiledWasm", path: "sqlite3.wasm", contents: readFileSync(sqliteWasm) },
    { type: "CompiledWasm", path: "sqlite-trampolines.wasm", contents: readFileSync(join(root, "lib", "adapters", "wasm", "sqlite-trampolines.wasm")) },
  ];
}
