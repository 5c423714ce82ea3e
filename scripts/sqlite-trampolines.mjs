#!/usr/bin/env node
// Generates the precompiled trampolines sqlite-wasm needs in workerd (ltxkit/workerd).
//
// sqlite-wasm turns every JS function it hands to SQLite (its start-up trace callback, VFS and io
// methods, UDFs, hooks, virtual table methods) into a wasm function by compiling a tiny module from
// bytes in `jsFuncToWasm`; workerd forbids compiling from bytes. This script records, under Node,
// every such module sqlite-wasm builds: at start-up, then while it installs a JS function for every
// function-pointer signature it declares (struct members of sqlite3_vfs, sqlite3_io_methods,
// sqlite3_module, ... and the callback arguments of its bindings), and while it runs UDFs, hooks and
// a JS VFS. Its outputs:
//   lib/adapters/wasm/sqlite-trampolines.wasm  one module: for trampoline k it imports `e.f<k>` and
//                                              exports it as `f<k>` (with the same wasm type)
//   lib/adapters/sqlite-trampolines.ts         the sqlite-wasm version and every recorded module's
//                                              bytes (hex), in bundle order
// The loader (lib/adapters/sqlite-wasm-workerd.ts) answers `new WebAssembly.Module(bytes)` for those
// bytes from the bundle. test/adapters/sqlite-trampolines.test.ts re-records and fails when the
// version or the set changes: run `node scripts/sqlite-trampolines.mjs` then.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkgDir = join(root, "node_modules", "@sqlite.org", "sqlite-wasm");

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** The sqlite-wasm package version (package.json). */
export function sqliteWasmVersion() {
  return JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")).version;
}

/** Every function-pointer signature written literally in sqlite-wasm's glue (bindings, installFunction calls). */
function literalSignatures() {
  const src = readFileSync(join(pkgDir, "dist", "node.mjs"), "utf8");
  const out = new Set();
  for (const m of src.matchAll(/signature:\s*"([^"]+)"/g)) out.add(m[1]);
  for (const m of src.matchAll(/installFunction\(\s*"([^"]+)"/g)) out.add(m[1]);
  return out;
}

/**
 * Records every trampoline module sqlite-wasm compiles: returns the sorted hex strings of their bytes.
 * Replaces WebAssembly.Module while it runs; restores it afterwards.
 */
export async function recordTrampolines() {
  const seen = new Set();
  const Orig = WebAssembly.Module;
  function Recording(bytes) {
    const b = new Uint8Array(bytes);
    // The trampolines are 20-60 bytes; sqlite3.wasm itself is compiled through instantiate, not here.
    if (b.length < 256) seen.add(hex(b));
    return new Orig(bytes);
  }
  Recording.prototype = Orig.prototype;
  Object.assign(Recording, { imports: Orig.imports, exports: Orig.exports, customSections: Orig.customSections });
  WebAssembly.Module = Recording;
  try {
    const { default: init } = await import(pathToFileURL(join(pkgDir, "dist", "node.mjs")).href);
    const sqlite3 = await init({ print() {}, printErr() {} });
    const { capi, wasm, oo1 } = sqlite3;
    // Every signature sqlite-wasm declares for a function pointer.
    const sigs = literalSignatures();
    for (const k of Object.keys(capi)) {
      const s = capi[k];
      if (typeof s === "function" && s.structInfo) {
        for (const info of Object.values(s.structInfo.members)) if (info.signature?.includes("(")) sigs.add(info.signature);
      }
    }
    for (const sig of sigs) {
      // Jaccwabyt-style signatures only ("i(pp)"); anything else is not a function-pointer type.
      if (!/^[vipPsjfd]\([ipPsjfd]*\)$/.test(sig)) continue;
      const p = wasm.installFunction(sig, () => 0);
      wasm.uninstallFunction(p);
    }
    // And what an application does: UDFs of each kind, collations, hooks, a JS VFS.
    const db = new oo1.DB(":memory:");
    db.createFunction("f1", (_c, a) => a, { arity: 1 });
    db.createFunction({ name: "agg", arity: 1, xStep: () => {}, xFinal: () => 1 });
    db.createFunction({ name: "win", arity: 1, xStep: () => {}, xFinal: () => 1, xValue: () => 1, xInverse: () => {} });
    capi.sqlite3_create_collation(db, "c1", capi.SQLITE_UTF8, (_p, _n1, a, _n2, b) => (a < b ? -1 : a > b ? 1 : 0));
    capi.sqlite3_commit_hook(db, () => 0, 0);
    capi.sqlite3_rollback_hook(db, () => {}, 0);
    capi.sqlite3_update_hook(db, () => {}, 0);
    capi.sqlite3_progress_handler(db, 100, () => 0, 0);
    capi.sqlite3_set_authorizer(db, () => 0, 0);
    capi.sqlite3_busy_handler(db, () => 0, 0);
    capi.sqlite3_trace_v2(db, capi.SQLITE_TRACE_STMT, () => 0, 0);
    if (capi.sqlite3_preupdate_hook) capi.sqlite3_preupdate_hook(db, () => {}, 0);
    db.exec("create table t(a); insert into t values(f1(1)); select agg(a), win(a) over () from t;");
    db.close();
    const io = new capi.sqlite3_io_methods();
    const vfs = new capi.sqlite3_vfs();
    const methods = (struct) => Object.fromEntries(Object.entries(struct.structInfo.members).filter(([, i]) => i.signature?.includes("(")).map(([n]) => [n, () => 0]));
    vfs.$iVersion = 3;
    vfs.$szOsFile = capi.sqlite3_file.structInfo.sizeof;
    vfs.$mxPathname = 512;
    sqlite3.vfs.installVfs({ io: { struct: io, methods: methods(capi.sqlite3_io_methods) }, vfs: { struct: vfs, name: "ltxkit-trampoline-probe", methods: methods(capi.sqlite3_vfs) } });
    capi.sqlite3_vfs_unregister(vfs.pointer);
    return { version: sqliteWasmVersion(), modules: [...seen].sort() };
  } finally {
    WebAssembly.Module = Orig;
  }
}

/** Parses a trampoline: its param and result value types (wasm type codes). */
function parseTrampoline(h) {
  const b = Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16));
  // "\0asm" v1, type section (id 1): size, count 1, 0x60, nparams, params..., nresults, results...
  if (hex(b.subarray(0, 9)) !== "0061736d0100000001") throw new Error(`unexpected trampoline ${h}`);
  let i = 9;
  const uleb = () => {
    let v = 0, s = 0, x;
    do { x = b[i++]; v |= (x & 0x7f) << s; s += 7; } while (x & 0x80);
    return v;
  };
  uleb(); // section size
  if (b[i++] !== 1 || b[i++] !== 0x60) throw new Error(`unexpected trampoline ${h}`);
  const np = uleb();
  const params = Array.from(b.subarray(i, i + np)); i += np;
  const nr = uleb();
  const results = Array.from(b.subarray(i, i + nr)); i += nr;
  // The rest must be the fixed import e.f / export f tail.
  if (hex(b.subarray(i)) !== "020701016501660000070501016600 00".replace(/ /g, "")) throw new Error(`unexpected trampoline tail ${h}`);
  return { params, results };
}

const ulebBytes = (n) => { const o = []; do { let x = n & 0x7f; n >>>= 7; if (n) x |= 0x80; o.push(x); } while (n); return o; };
const section = (id, body) => [id, ...ulebBytes(body.length), ...body];
const name = (s) => { const e = [...new TextEncoder().encode(s)]; return [...ulebBytes(e.length), ...e]; };

/** The bundle module: type k, import e.f<k> of type k, export f<k>, for every trampoline. */
export function bundleBytes(modules) {
  const types = [], imports = [], exports = [];
  modules.forEach((h, k) => {
    const { params, results } = parseTrampoline(h);
    types.push(0x60, ...ulebBytes(params.length), ...params, ...ulebBytes(results.length), ...results);
    imports.push(...name("e"), ...name(`f${k}`), 0x00, ...ulebBytes(k));
    exports.push(...name(`f${k}`), 0x00, ...ulebBytes(k));
  });
  const n = ulebBytes(modules.length);
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [...n, ...types]), ...section(2, [...n, ...imports]), ...section(7, [...n, ...exports])]);
}

/** The generated TypeScript table. */
export function tableSource({ version, modules }) {
  return `// Generated by scripts/sqlite-trampolines.mjs from @sqlite.org/sqlite-wasm ${version}; do not edit.
// test/adapters/sqlite-trampolines.test.ts fails when a re-recording differs.

/** The sqlite-wasm version the trampolines were recorded from. */
export const SQLITE_WASM_VERSION = ${JSON.stringify(version)};

/**
 * The bytes (hex) of every module sqlite-wasm's jsFuncToWasm compiles; entry k is export \`f<k>\` of
 * sqlite-trampolines.wasm.
 */
export const TRAMPOLINES: readonly string[] = [
${modules.map((m) => `  ${JSON.stringify(m)},`).join("\n")}
];
`;
}

export const outputs = {
  wasm: join(root, "lib", "adapters", "wasm", "sqlite-trampolines.wasm"),
  table: join(root, "lib", "adapters", "sqlite-trampolines.ts"),
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const rec = await recordTrampolines();
  writeFileSync(outputs.wasm, bundleBytes(rec.modules));
  writeFileSync(outputs.table, tableSource(rec));
  console.log(`sqlite-wasm ${rec.version}: ${rec.modules.length} trampolines -> ${outputs.wasm}, ${outputs.table}`);
}
