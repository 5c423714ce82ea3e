/**
 * The import graph of lib/, read from the sources: which packages each entry point can load
 * (statically or by a dynamic import a bundler would follow), and the arrows between the rooms.
 */
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SPEC = /(?:^|[\s;}])(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']|(?:^|[\s;}])import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** Specifiers a file names, without type-only imports (they vanish when compiled). */
function specifiers(file: string): string[] {
  const src = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  for (const m of src.matchAll(SPEC)) {
    if (/^\s*;?\s*(?:import|export)\s+type\s/.test(m[0].replace(/^[\s;}]/, ""))) continue;
    out.push((m[1] ?? m[2] ?? m[3])!);
  }
  return out;
}

/** Every lib file reachable from `entry`, and the packages (bare specifiers) they load. */
function graph(entry: string): { files: string[]; packages: string[] } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const s of specifiers(f)) {
      if (s.startsWith(".")) visit(resolve(dirname(f), s));
      else packages.add(s);
    }
  };
  visit(join(ROOT, entry));
  return { files: [...seen].map((f) => relative(ROOT, f)).sort(), packages: [...packages].sort() };
}

describe("import graph of the entry points", () => {
  it("the core entries load no package: no aws4fetch, no sqlite-wasm, no runtime module", () => {
    for (const e of ["lib/mod.ts", "lib/ltx/mod.ts", "lib/store/mod.ts", "lib/replica/mod.ts"]) expect(graph(e).packages, e).toEqual([]);
  });

  it("ltxkit/s3 loads aws4fetch and nothing else", () => {
    expect(graph("lib/s3.ts").packages).toEqual(["aws4fetch"]);
  });

  it("ltxkit/browser loads no package: OPFS and fetch are Web APIs", () => {
    expect(graph("lib/adapters/browser.ts").packages).toEqual([]);
  });

  it("the adapters bring sqlite-wasm (by a dynamic import), aws4fetch (openReplicaFromEnv opens s3://) and node: modules", () => {
    for (const a of ["node", "bun", "deno"]) {
      const p = graph(`lib/adapters/${a}.ts`).packages;
      expect(p, a).toContain("@sqlite.org/sqlite-wasm");
      expect(p, a).toContain("aws4fetch");
      expect(p.filter((x) => !x.startsWith("node:") && x !== "aws4fetch" && x !== "@sqlite.org/sqlite-wasm"), a).toEqual([]);
    }
  });

  it("the arrows hold: ltx/ and store/ reach only themselves, errors.ts and util/; replica/ never reaches capture/, adapters/ or cli/", () => {
    const room = (f: string) => (f.startsWith("lib/util/") ? "util" : f === "lib/errors.ts" ? "errors" : f.split("/")[1]!);
    expect([...new Set(graph("lib/ltx/mod.ts").files.map(room))].sort()).toEqual(["errors", "ltx", "util"]);
    expect([...new Set(graph("lib/store/mod.ts").files.map(room))].sort()).toEqual(["errors", "store", "util"]);
    expect([...new Set(graph("lib/replica/mod.ts").files.map(room))].sort()).toEqual(["errors", "ltx", "replica", "store", "util"]);
  });

  it("the reader sees what a bundler sees: a dynamic import and a static one both count, a type-only import does not", () => {
    expect(specifiers(join(ROOT, "lib/adapters/sqlite-wasm.ts"))).toEqual(["@sqlite.org/sqlite-wasm"]);
    expect(specifiers(join(ROOT, "lib/store/s3.ts"))).toContain("aws4fetch");
    expect(specifiers(join(ROOT, "lib/replica/url.ts"))).not.toContain("../store/s3.ts"); // import type only
  });
});
