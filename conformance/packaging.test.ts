/**
 * The package as a user meets it: the JSR dry-run, and the npm tarball installed into an empty
 * project, where every entry point is imported under Node, Bun and Deno, the `ltxkit` bin runs, and
 * bundles of the core entries are checked for what they pull in.
 *
 * Needs the npm registry (for the tarball's dependencies), Deno and Bun from node_modules/.bin and
 * rolldown (vite's bundler) for the bundle checks. Each part skips visibly when its tools are
 * missing; LTXKIT_REQUIRE_PACKAGING=1 (CI) makes absence a failure. Runs once, from the Node run of
 * the suite: it starts the three runtimes itself.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "node_modules", ".bin");
const required = process.env.LTXKIT_REQUIRE_PACKAGING === "1";
const inNode = typeof (globalThis as { Bun?: unknown }).Bun === "undefined" && typeof (globalThis as { Deno?: unknown }).Deno === "undefined";
const VECTOR = join(ROOT, "conformance", "vectors", "ltx-vectors", "v3-block", "02-snapshot-3pages.ltx");

function run(cmd: string, args: string[], cwd: string, timeout = 300_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env: { ...process.env, NO_COLOR: "1", npm_config_update_notifier: "false" } });
}
function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}: ${r.stderr || r.stdout || r.error}`);
  return r.stdout;
}

function skip(missing: string[], what: string): boolean {
  if (!missing.length) return false;
  if (required) return false; // the tests run and fail on the missing tool
  console.warn(`SKIP: ${what}: ${missing.join(", ")} missing (LTXKIT_REQUIRE_PACKAGING=1 makes this a failure)`);
  return true;
}
const registryUp = (): boolean => inNode && run("npm", ["ping"], ROOT, 30_000).status === 0;
const have = (bin: string) => existsSync(join(BIN, bin));
const haveRolldown = existsSync(join(ROOT, "node_modules", "rolldown"));

/** Runtime value names per entry point, as api-report.md lists them. */
function reportedValues(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | null = null;
  for (const line of readFileSync(join(ROOT, "api-report.md"), "utf8").split("\n")) {
    const h = /^## `(.+)`$/.exec(line);
    if (h) out.set(h[1]!, (cur = []));
    const row = /^\| `([^`]+)` \| (\w+) \|/.exec(line);
    if (row && cur && row[2] !== "interface" && row[2] !== "type") cur.push(row[1]!);
  }
  for (const v of out.values()) v.sort();
  return out;
}

// Imports each entry point given on the command line and prints its runtime export names as JSON.
const IMPORT_ALL = `
const out = {};
for (const spec of JSON.parse(process.argv[2] ?? globalThis.Deno?.args[0])) out[spec] = Object.keys(await import(spec)).sort();
console.log(JSON.stringify(out));
`;

describe.skipIf(!inNode || skip(have("deno") ? [] : ["deno"], "JSR dry run"))("JSR package (deno publish --dry-run)", () => {
  it("passes the dry run: license, exports and slow-type checks, publishing lib/ sources only", () => {
    const r = run(join(BIN, "deno"), ["publish", "--dry-run", "--allow-dirty"], ROOT, 600_000);
    const text = r.stdout + r.stderr;
    expect(r.status, text).toBe(0);
    expect(text).toMatch(/Dry run complete/);
    const files = [...text.matchAll(/file:\/\/\S+?\/(lib\/\S+|LICENSE|README\.md|deno\.json)\s/g)].map((m) => m[1]);
    expect(files).toContain("LICENSE");
    expect(files).toContain("lib/s3.ts");
    expect(text).not.toMatch(/file:\/\/\S+\/(test|conformance|bench|lib\/cli)\//);
    expect(text).not.toMatch(/lib\/internal\.ts/);
  });
});

describe.skipIf(!inNode || skip(registryUp() ? [] : ["npm registry"], "npm tarball install"))("npm tarball installed into an empty project", () => {
  let tmp = "";
  let proj = "";
  let tarball = "";
  let packed: string[] = [];
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "ltxkit-pack-"));
    const info = JSON.parse(ok(run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], ROOT, 600_000), "npm pack")) as { filename: string; files: { path: string }[] }[];
    tarball = join(tmp, info[0]!.filename);
    packed = info[0]!.files.map((f) => f.path);
    proj = join(tmp, "app");
    mkdirSync(proj);
    writeFileSync(join(proj, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    ok(run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball], proj, 600_000), "npm install <tarball>");
  }, 900_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("the tarball holds the built entries, the sources, README and LICENSE, and no tests", () => {
    for (const f of ["package.json", "LICENSE", "README.md", "dist/mod.js", "dist/mod.d.ts", "dist/s3.js", "dist/ltx/mod.js", "dist/cli/main.js", "bin/ltxkit.cjs", "lib/ltx/wasm/lz4.wasm", "lib/ltx/wasm/crc64.wasm", "dist/adapters/workerd.js", "lib/adapters/wasm/sqlite-trampolines.wasm"]) expect(packed, f).toContain(f);
    expect(packed.filter((f) => /^(test|conformance|bench|scripts)\//.test(f))).toEqual([]);
  });

  const entries = [...reportedValues().keys()];
  for (const [rt, cmd] of [["Node", "node"], ["Bun", "bun"], ["Deno", "deno"]] as const) {
    const missing = cmd === "node" || have(cmd) ? [] : [cmd];
    it.skipIf(skip(missing, `imports under ${rt}`))(`under ${rt} every entry point imports and exports exactly the runtime values api-report.md lists`, () => {
      writeFileSync(join(proj, "import-all.mjs"), IMPORT_ALL);
      const bin = cmd === "node" ? process.execPath : join(BIN, cmd);
      const args = cmd === "deno" ? ["run", "-A", "import-all.mjs", JSON.stringify(entries)] : ["import-all.mjs", JSON.stringify(entries)];
      const got = JSON.parse(ok(run(bin, args, proj), `${rt} import-all`)) as Record<string, string[]>;
      expect(new Map(Object.entries(got))).toEqual(reportedValues());
    });
  }

  it("the internal hooks and the sources' inner files are not importable: the exports map closes them", () => {
    writeFileSync(join(proj, "closed.mjs"), `const out = [];\nfor (const s of ["ltxkit/internal", "ltxkit/dist/internal.js", "ltxkit/dist/ltx/lz4-block.js", "ltxkit/lib/mod.ts"]) { try { await import(s); out.push("loaded"); } catch (e) { out.push(e.code); } }\nconsole.log(JSON.stringify(out));\n`);
    expect(JSON.parse(ok(run(process.execPath, ["closed.mjs"], proj), "closed imports"))).toEqual(Array(4).fill("ERR_PACKAGE_PATH_NOT_EXPORTED"));
  });

  it("the ltxkit bin runs: -h prints the commands, verify checks a Go-written file; demo replicates and verifies its restores under Node 22 (node:sqlite), and without a driver says which to install", () => {
    const ltxkit = join(proj, "node_modules", ".bin", "ltxkit");
    const h = run(ltxkit, ["-h"], proj);
    expect(h.status, h.stderr).toBe(0);
    expect(h.stdout + h.stderr).toMatch(/restore/);
    expect(h.stdout + h.stderr).toMatch(/replicate/);
    expect(ok(run(ltxkit, ["verify", VECTOR], proj), "ltxkit verify")).toBe(`${VECTOR}: ok\n`);
    // The empty project has no better-sqlite3 (an optional peer): on a Node without node:sqlite the
    // demo (the write path) must fail with UNSUPPORTED and name the alternatives.
    const main = join(proj, "node_modules", "ltxkit", "dist", "cli", "main.js");
    if (!("sqlite" in process.versions)) {
      const r = run(process.execPath, [main, "demo", "--dir", join(tmp, "demo-none")], proj);
      expect(r.status, r.stdout).toBe(1);
      expect(r.stderr).toMatch(/UNSUPPORTED/);
      expect(r.stderr).toMatch(/better-sqlite3/);
    }
    const node22 = join(ROOT, "test", "runtimes", "node_modules", "node22", "bin", "node");
    const demo = JSON.parse(ok(run(node22, [main, "demo", "--json", "--dir", join(tmp, "demo")], proj), "ltxkit demo under Node 22")) as { ok: boolean; driver: string; restores: { ok: boolean; integrity: unknown }[] };
    expect(demo.driver).toBe("node:sqlite");
    expect(demo.ok).toBe(true);
    expect(demo.restores.length).toBeGreaterThan(0);
    for (const r of demo.restores) expect([r.ok, r.integrity]).toEqual([true, "ok"]);
  });

  it("without aws4fetch and sqlite-wasm installed the core entries load and restore (ltxkit/s3 alone needs aws4fetch); ltxkit/node loads sqlite-wasm only when asked", () => {
    const lean = join(tmp, "lean");
    cpSync(proj, lean, { recursive: true });
    rmSync(join(lean, "node_modules", "aws4fetch"), { recursive: true });
    rmSync(join(lean, "node_modules", "@sqlite.org"), { recursive: true });
    writeFileSync(
      join(lean, "lean.mjs"),
      `
import { readFileSync } from "node:fs";
import { decodeLtx } from "ltxkit/ltx";
import { MemoryStore } from "ltxkit/store";
import { memoryReplica, writeLtxFile, restore, BytesSink } from "ltxkit/replica";
import { isLtxError } from "ltxkit";
const bytes = new Uint8Array(readFileSync(process.argv[2]));
const d = await decodeLtx(bytes);
const r = memoryReplica(new MemoryStore());
await writeLtxFile(r, 0, d.header.minTXID, d.header.maxTXID, bytes, Date.now());
const sink = new BytesSink();
await restore(r, { sink });
let s3 = "loaded";
try { await import("ltxkit/s3"); } catch (e) { s3 = e.code; }
console.log(JSON.stringify({ pages: d.pages.length, restored: sink.bytes().length, isLtxError: typeof isLtxError, s3 }));
`,
    );
    const got = JSON.parse(ok(run(process.execPath, ["lean.mjs", VECTOR], lean), "lean import")) as Record<string, unknown>;
    const v = readFileSync(VECTOR);
    const pageSize = v.readUInt32BE(8); // LTX header: magic, flags, page size (big-endian)
    expect(got).toEqual({ pages: 3, restored: 3 * pageSize, isLtxError: "function", s3: "ERR_MODULE_NOT_FOUND" });
    // the adapters bring the S3 store (openReplicaFromEnv opens s3:// URLs) but sqlite-wasm only on use
    cpSync(join(proj, "node_modules", "aws4fetch"), join(lean, "node_modules", "aws4fetch"), { recursive: true });
    writeFileSync(join(lean, "adapter.mjs"), `import { FsStore, loadSqliteWasm } from "ltxkit/node";\nlet e = "loaded"; try { await loadSqliteWasm(); } catch (x) { e = x.code; }\nconsole.log(JSON.stringify([typeof FsStore, e]));\n`);
    expect(JSON.parse(ok(run(process.execPath, ["adapter.mjs"], lean), "adapter import"))).toEqual(["function", "ERR_MODULE_NOT_FOUND"]);
  });

  describe.skipIf(skip(haveRolldown ? [] : ["rolldown"], "bundle checks"))("bundles (rolldown, what a worker build sees)", () => {
    async function bundled(code: string, platform: "browser" | "node"): Promise<string[]> {
      const entry = join(proj, `entry-${Math.random().toString(36).slice(2)}.mjs`);
      writeFileSync(entry, code);
      const { rolldown } = (await import("rolldown")) as unknown as { rolldown: (o: object) => Promise<{ generate(o: object): Promise<{ output: { moduleIds?: string[] }[] }>; close(): Promise<void> }> };
      const b = await rolldown({ input: entry, platform, cwd: proj, logLevel: "silent", external: [/^node:/] });
      try {
        const { output } = await b.generate({ format: "esm" });
        return output.flatMap((o) => o.moduleIds ?? []);
      } finally {
        await b.close();
      }
    }
    const pulls = (ids: string[], pkg: string) => ids.some((id) => id.includes(`node_modules/${pkg}/`));

    it("a codec bundle (ltxkit/ltx) carries neither aws4fetch nor sqlite-wasm", async () => {
      const ids = await bundled(`import { decodeLtx, Encoder } from "ltxkit/ltx"; export { decodeLtx, Encoder };`, "browser");
      expect(pulls(ids, "ltxkit")).toBe(true);
      expect(pulls(ids, "aws4fetch")).toBe(false);
      expect(pulls(ids, "@sqlite.org/sqlite-wasm")).toBe(false);
    });

    it("a worker restore bundle (ltxkit: openReplica, restore, integrityCheck) carries neither", async () => {
      const ids = await bundled(`import { openReplica, restore, BytesSink, integrityCheck, isLtxError } from "ltxkit"; export { openReplica, restore, BytesSink, integrityCheck, isLtxError };`, "browser");
      expect(pulls(ids, "aws4fetch")).toBe(false);
      expect(pulls(ids, "@sqlite.org/sqlite-wasm")).toBe(false);
    });

    it("a workerd bundle (ltxkit/workerd: R2 replica, DO storage, sqlite-wasm loader, runMaintenance) carries neither: sqlite-wasm is injected", async () => {
      const ids = await bundled(`import { r2Replica, DurableObjectVfsStorage, initSqliteWasmForWorkerd, runMaintenance } from "ltxkit/workerd"; export { r2Replica, DurableObjectVfsStorage, initSqliteWasmForWorkerd, runMaintenance };`, "browser");
      expect(pulls(ids, "ltxkit")).toBe(true);
      expect(pulls(ids, "aws4fetch")).toBe(false);
      expect(pulls(ids, "@sqlite.org/sqlite-wasm")).toBe(false);
    });

    it("controls: ltxkit/s3 carries aws4fetch, and the adapters' loadSqliteWasm carries sqlite-wasm", async () => {
      expect(pulls(await bundled(`export { S3Store } from "ltxkit/s3";`, "browser"), "aws4fetch")).toBe(true);
      expect(pulls(await bundled(`export { loadSqliteWasm } from "ltxkit/node";`, "node"), "@sqlite.org/sqlite-wasm")).toBe(true);
    });
  });
});
