import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

interface Export {
  name: string;
  kind: string;
  documented: boolean;
  declaredIn: string;
}
interface Entry {
  specifier: string;
  source: string;
  exports: Export[];
}
interface ReportModule {
  collect(): Entry[];
  render(r: Entry[]): string;
  REPORT: string;
}

// Names that are implementation details: benchmark and test hooks (lib/internal.ts) and helpers.
const INTERNALS = [
  "compressLoops", "decompressLoops", "decompressBlockAt", "frameLength", "PermitCounter", "Budget", "fetchFile",
  "candidateBetter", "cleanPath", "redact", "wrapError", "windowStart", "isContiguous", "ByteSource",
  "decodePageIndexEntries", "collectBody", "iterateChunks", "sleep", "concat", "clipRange", "sliceRange", "chunkSizeOf",
  "compareKeys", "unquote", "encodeRfc3986", "lz4Kernels", "crc64Kernel", "loadSqlite", "openImage", "syncDir", "exists",
];

describe("public API report (api-report.md)", () => {
  let report: Entry[];
  let render: (r: Entry[]) => string;
  beforeAll(async () => {
    const path = "../scripts/api-report.mjs";
    const m = (await import(/* @vite-ignore */ path)) as ReportModule;
    report = m.collect();
    render = m.render;
  }, 120_000);

  it("api-report.md is what scripts/api-report.mjs generates from the sources (regenerate and commit it with any change of the surface)", () => {
    expect(readFileSync(join(ROOT, "api-report.md"), "utf8")).toBe(render(report));
  });

  it("covers every JavaScript entry of package.json's exports map and every export of deno.json", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
    const js = Object.keys(pkg.exports).filter((k) => !k.endsWith(".wasm"));
    expect(report.map((e) => e.specifier)).toEqual(js.map((k) => (k === "." ? "ltxkit" : `ltxkit/${k.slice(2)}`)));
    // JSR serves the same entries from the same sources
    expect(Object.entries(deno.exports)).toEqual(report.map((e, i) => [js[i], `./${e.source}`]));
  });

  it("every exported item has a doc comment", () => {
    const undocumented = report.flatMap((e) => e.exports.filter((x) => !x.documented).map((x) => `${e.specifier}: ${x.name}`));
    expect(undocumented).toEqual([]);
  });

  it("no entry re-exports with export *, so nothing becomes public by accident", () => {
    for (const e of report) expect(readFileSync(join(ROOT, e.source), "utf8"), e.source).not.toMatch(/export\s*\*/);
  });

  it("no entry exports an internal helper or hook, and lib/internal.ts is no entry", () => {
    const leaked = report.flatMap((e) => e.exports.filter((x) => INTERNALS.includes(x.name)).map((x) => `${e.specifier}: ${x.name}`));
    expect(leaked).toEqual([]);
    expect(report.map((e) => e.source)).not.toContain("lib/internal.ts");
  });

  it("ltxkit is exactly the union of ltxkit/ltx, ltxkit/store, ltxkit/replica and ltxkit/capture plus the error class", () => {
    const names = (spec: string) => report.find((e) => e.specifier === spec)!.exports.map((x) => x.name);
    const root = names("ltxkit");
    const parts = new Set([...names("ltxkit/ltx"), ...names("ltxkit/store"), ...names("ltxkit/replica"), ...names("ltxkit/capture")]);
    const extra = root.filter((n) => !parts.has(n)).sort();
    expect(extra).toEqual(["ERROR_CODES", "ErrorCode", "LtxError", "LtxErrorOptions", "isLtxError"].sort());
    expect([...parts].filter((n) => !root.includes(n))).toEqual([]);
    expect(root).not.toContain("S3Store");
  });

  it("the three runtime adapters export the same items", () => {
    const names = (spec: string) => report.find((e) => e.specifier === spec)!.exports.map((x) => `${x.name}:${x.kind}`);
    expect(names("ltxkit/deno")).toEqual(names("ltxkit/node"));
    expect(names("ltxkit/bun")).toEqual(names("ltxkit/node"));
  });
});
