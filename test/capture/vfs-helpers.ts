/** Helpers of the capture VFS tests: sqlite-wasm, database images, the independent Python LTX reader. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { loadSqliteWasm } from "../../lib/adapters/sqlite-wasm.ts";
import type { SqliteWasmModule } from "../../lib/capture/wasm-vfs.ts";
import type { WasmDb } from "../../lib/capture/vfs-database.ts";

export const PYLTX = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "conformance", "vectors", "ltx-vectors", "tools");

/** The initialised sqlite-wasm module. */
export async function sqlite(): Promise<SqliteWasmModule> {
  return (await loadSqliteWasm()) as unknown as SqliteWasmModule;
}

/**
 * The database image sqlite-wasm exports (sqlite3_js_db_export) from a new read-only connection
 * through the capture VFS: the database as stored. (The writing connection's export reads its
 * page cache, whose copies of freelist leaf pages SQLite never writes to the file.)
 */
export function exportImage(sqlite3: SqliteWasmModule, h: { vfs: { path: string; name: string } }): Uint8Array {
  // deno-lint-ignore no-explicit-any
  const s = sqlite3 as any;
  const db = new s.oo1.DB({ filename: h.vfs.path, flags: "r", vfs: h.vfs.name }) as WasmDb;
  try {
    return s.capi.sqlite3_js_db_export(db.pointer) as Uint8Array;
  } finally {
    db.close();
  }
}

/** Page numbers whose bytes differ between two images, plus growth (1-based, ascending). */
export function changedPages(prev: Uint8Array | null, cur: Uint8Array, ps: number): number[] {
  const out: number[] = [];
  for (let p = 1; p * ps <= cur.length; p++) {
    const o = (p - 1) * ps;
    if (!prev || o + ps > prev.length) {
      out.push(p);
      continue;
    }
    for (let i = o; i < o + ps; i++) {
      if (prev[i] !== cur[i]) {
        out.push(p);
        break;
      }
    }
  }
  return out;
}

/** What the Python reader decodes of one LTX file. */
export interface PyLtx {
  header: { flags: number; page_size: number; commit: number; min_txid: number; max_txid: number; timestamp: number; pre_apply: number; wal_offset: number; wal_size: number; wal_salt1: number; wal_salt2: number };
  pages: { pgno: number; hex: string }[];
  post_apply: number;
}

const PY = `
import sys, json
sys.path.insert(0, sys.argv[1])
import pyltx
out = []
for path in sys.argv[2:]:
    h, pages, index, t = pyltx.read_ltx(open(path, 'rb').read())
    h = {k: v for k, v in h.items() if k != 'reserved_zero'}
    out.append({'header': h, 'pages': [{'pgno': p['pgno'], 'hex': p['data'].hex()} for p in pages], 'post_apply': t['post_apply']})
print(json.dumps(out))
`;

/** Decodes LTX files with the independent Python reader (it verifies the file checksum and index). */
export function pyRead(files: Uint8Array[]): PyLtx[] {
  if (files.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), "ltxkit-vfs-py-"));
  try {
    const paths = files.map((f, i) => {
      const p = join(dir, `${i}.ltx`);
      writeFileSync(p, f);
      return p;
    });
    const out = execFileSync("python3", ["-c", PY, PYLTX, ...paths], { encoding: "utf8", maxBuffer: 1 << 30 });
    return JSON.parse(out) as PyLtx[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Hex of one page of an image. */
export function pageHex(image: Uint8Array, pgno: number, ps: number): string {
  return toHex(image.subarray((pgno - 1) * ps, pgno * ps));
}

/** Lower-case hex of bytes. */
export function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
