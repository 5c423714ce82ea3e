/**
 * Starts @sqlite.org/sqlite-wasm (3.54.1-build1) in workerd. Two things stop it there as shipped:
 * it fetches sqlite3.wasm by URL, and it compiles a tiny wrapper module from bytes for every JS
 * function it hands to SQLite (`jsFuncToWasm`: its start-up trace callback, VFS and io methods,
 * UDFs, hooks), which workerd forbids ("Wasm code generation disallowed by embedder").
 *
 * The first is solved by handing in the compiled sqlite3.wasm (a `CompiledWasm` module import). The
 * second by the precompiled trampolines: sqlite-trampolines.wasm holds one imported-and-re-exported
 * function per signature sqlite-wasm uses (recorded under Node by scripts/sqlite-trampolines.mjs),
 * and {@link installSqliteTrampolines} answers `new WebAssembly.Module(bytes)` for exactly those
 * bytes from it. Any other bytes go to the real constructor unchanged.
 *
 * Worker code (bundled with wrangler or any bundler that passes `.wasm` imports through):
 * ```ts
 * import sqlite3InitModule from "@sqlite.org/sqlite-wasm";
 * import sqliteWasm from "@sqlite.org/sqlite-wasm/sqlite3.wasm";
 * import trampolines from "ltxkit/wasm/sqlite-trampolines.wasm";
 * import { initSqliteWasmForWorkerd } from "ltxkit/workerd";
 * const sqlite3 = await initSqliteWasmForWorkerd({ init: sqlite3InitModule, wasm: sqliteWasm, trampolines });
 * ```
 */
import { LtxError } from "../errors.ts";
import { SQLITE_WASM_VERSION, TRAMPOLINES } from "./sqlite-trampolines.ts";

export { SQLITE_WASM_VERSION };

const INSTALLED = Symbol.for("ltxkit.sqliteTrampolines");
const TRAMPOLINE_HEAD = "0061736d0100000001";
const TRAMPOLINE_TAIL = "02070101650166000007050101660000";

type ModuleCtor = typeof WebAssembly.Module;
type InstanceCtor = typeof WebAssembly.Instance;

function hexOf(bytes: BufferSource): string {
  const b = bytes instanceof Uint8Array ? bytes : ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
  let s = "";
  for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16);
  return s;
}

/**
 * Makes `new WebAssembly.Module(bytes)` and `new WebAssembly.Instance(module, imports)` serve
 * sqlite-wasm's trampolines from the precompiled bundle (the `CompiledWasm` import of
 * sqlite-trampolines.wasm), so sqlite-wasm can install JS functions where compiling from bytes is
 * forbidden. Global and permanent (sqlite-wasm builds trampolines whenever a VFS, UDF or hook is
 * installed); installing twice is harmless. Bytes that are not a known trampoline reach the
 * original constructors; a trampoline missing from the table (another sqlite-wasm version) throws
 * UNSUPPORTED naming the regeneration step.
 */
export function installSqliteTrampolines(bundle: WebAssembly.Module): void {
  const g = globalThis as unknown as { WebAssembly: typeof WebAssembly; [INSTALLED]?: boolean };
  if (g[INSTALLED]) return;
  if (!(bundle instanceof WebAssembly.Module)) throw new LtxError("INVALID_ARGUMENT", "installSqliteTrampolines: the bundle must be the compiled sqlite-trampolines.wasm (a WebAssembly.Module)");
  const exportNames = new Set(WebAssembly.Module.exports(bundle).map((e) => e.name));
  for (let k = 0; k < TRAMPOLINES.length; k++) {
    if (!exportNames.has(`f${k}`)) throw new LtxError("INVALID_ARGUMENT", `installSqliteTrampolines: the bundle lacks export f${k}; it is not this version's sqlite-trampolines.wasm`);
  }
  const index = new Map(TRAMPOLINES.map((h, k) => [h, k] as const));
  const marks = new WeakMap<object, number>();
  const OrigModule: ModuleCtor = g.WebAssembly.Module;
  const OrigInstance: InstanceCtor = g.WebAssembly.Instance;
  const noop = () => {};

  const Module = function Module(this: unknown, bytes: BufferSource): WebAssembly.Module {
    const h = hexOf(bytes);
    const k = index.get(h);
    if (k !== undefined) {
      const m = Object.create(OrigModule.prototype) as WebAssembly.Module;
      marks.set(m, k);
      return m;
    }
    try {
      return new OrigModule(bytes);
    } catch (e) {
      if (h.length < 200 && h.startsWith(TRAMPOLINE_HEAD) && h.endsWith(TRAMPOLINE_TAIL)) {
        throw new LtxError("UNSUPPORTED", `sqlite-wasm asked for a function trampoline (${h}) missing from the table recorded from sqlite-wasm ${SQLITE_WASM_VERSION}; regenerate with node scripts/sqlite-trampolines.mjs`, { cause: e });
      }
      throw e;
    }
  } as unknown as ModuleCtor;
  Object.defineProperties(Module, {
    prototype: { value: OrigModule.prototype },
    exports: { value: OrigModule.exports },
    imports: { value: OrigModule.imports },
    customSections: { value: OrigModule.customSections },
  });

  const Instance = function Instance(this: unknown, module: WebAssembly.Module, imports?: WebAssembly.Imports): WebAssembly.Instance {
    const k = marks.get(module);
    if (k === undefined) return new OrigInstance(module, imports);
    const e: Record<string, unknown> = {};
    for (let i = 0; i < TRAMPOLINES.length; i++) e[`f${i}`] = noop;
    e[`f${k}`] = (imports as { e?: { f?: unknown } } | undefined)?.e?.f;
    const inst = new OrigInstance(bundle, { e: e as WebAssembly.ModuleImports });
    return { exports: { f: inst.exports[`f${k}`]! } } as WebAssembly.Instance;
  } as unknown as InstanceCtor;
  Object.defineProperty(Instance, "prototype", { value: OrigInstance.prototype });

  g.WebAssembly.Module = Module;
  g.WebAssembly.Instance = Instance;
  g[INSTALLED] = true;
}

/** What {@link initSqliteWasmForWorkerd} needs: sqlite-wasm's init function and the two compiled modules. */
export interface WorkerdSqliteWasmOptions<T> {
  /** `sqlite3InitModule`, the default export of @sqlite.org/sqlite-wasm (its browser build, index.mjs). */
  init: (options: Record<string, unknown>) => Promise<T>;
  /** The compiled sqlite3.wasm of the same package (a `CompiledWasm` import). */
  wasm: WebAssembly.Module;
  /** The compiled sqlite-trampolines.wasm of ltxkit (`ltxkit/wasm/sqlite-trampolines.wasm`). */
  trampolines: WebAssembly.Module;
  /** sqlite-wasm's console output (default: silent). */
  print?: (...args: unknown[]) => void;
  /** sqlite-wasm's error output (default: silent; it reports the absent OPFS at start-up). */
  printErr?: (...args: unknown[]) => void;
}

/**
 * Initialises sqlite-wasm in workerd: installs the trampolines, then starts sqlite-wasm on the
 * compiled sqlite3.wasm handed in. Resolves to the `sqlite3` object (`oo1`, `capi`, `wasm`, `vfs`).
 */
export async function initSqliteWasmForWorkerd<T>(opts: WorkerdSqliteWasmOptions<T>): Promise<T> {
  installSqliteTrampolines(opts.trampolines);
  let fail: (e: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const started = opts.init({
    print: opts.print ?? (() => {}),
    printErr: opts.printErr ?? (() => {}),
    instantiateWasm(imports: WebAssembly.Imports, ok: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
      WebAssembly.instantiate(opts.wasm, imports).then((instance) => ok(instance, opts.wasm), (e: unknown) => fail(new LtxError("UNSUPPORTED", `sqlite3.wasm did not instantiate: ${e instanceof Error ? e.message : String(e)}`, { cause: e })));
      return {};
    },
  });
  return Promise.race([started, failed]);
}
