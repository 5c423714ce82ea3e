/** Shared test helpers for the LTX codec. */
import type { Header } from "../../lib/ltx/header.ts";
import type { Page } from "../../lib/ltx/encoder.ts";
import { lockPgno } from "../../lib/ltx/checksum.ts";

export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
}

/** A page with text runs, zeros and some noise, like SQLite pages. */
export function mixedPage(size: number, seed: number): Uint8Array {
  const r = prng(seed);
  const p = new Uint8Array(size);
  const kind = r() % 4;
  for (let i = 0; i < size; i++) {
    if (kind === 0) p[i] = (r() >>> 24) & 0xff;
    else if (kind === 1) p[i] = i < size / 3 ? "abcdefgh".charCodeAt((Math.floor(i / 13) + seed) % 8) : 0;
    else if (kind === 2) p[i] = (i * 31 + seed) & 0xff;
    else p[i] = i % 97 < 40 ? (r() >>> 24) & 0xff : 0;
  }
  return p;
}

export function header(h: Partial<Header> & { pageSize: number; commit: number }): Header {
  return { flags: 0, minTXID: 1n, maxTXID: 1n, timestamp: 1_700_000_000_000, preApplyChecksum: 0n, walOffset: 0, walSize: 0, walSalt1: 0, walSalt2: 0, nodeID: 0n, ...h };
}

/** A full snapshot of `commit` pages (lock page skipped). */
export function snapshotPages(pageSize: number, commit: number, seed: number): Page[] {
  const lock = lockPgno(pageSize);
  const out: Page[] = [];
  for (let p = 1; p <= commit; p++) if (p !== lock) out.push({ pgno: p, data: mixedPage(pageSize, seed * 1000 + p) });
  return out;
}

/** Random ascending subset of 1..commit (lock page skipped). */
export function sparsePages(pageSize: number, commit: number, seed: number): Page[] {
  const r = prng(seed);
  const lock = lockPgno(pageSize);
  const out: Page[] = [];
  for (let p = 1; p <= commit; p++) if (p !== lock && r() % 3 === 0) out.push({ pgno: p, data: mixedPage(pageSize, seed * 7 + p) });
  if (out.length === 0) out.push({ pgno: commit, data: mixedPage(pageSize, seed) });
  return out;
}
