/** Shared test helpers for the LTX codec. */
import { newHeader, type Header } from "../../lib/ltx/header.ts";
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

/** newHeader with a snapshot's TXIDs (1-1) and a fixed timestamp unless given. */
export function header(h: Partial<Header> & { pageSize: number; commit: number }): Header {
  return newHeader({ minTXID: 1n, maxTXID: 1n, timestamp: 1_700_000_000_000, ...h });
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

/** A page that names its input and pgno in its first bytes, then mixed content. */
export function taggedPage(size: number, input: number, pgno: number): Uint8Array {
  const p = mixedPage(size, input * 100_003 + pgno);
  new DataView(p.buffer).setUint32(0, input);
  new DataView(p.buffer).setUint32(4, pgno);
  return p;
}

export interface CompactionInput {
  header: Header;
  pages: Page[];
}

/**
 * 40 compaction inputs, oldest first: a 60-page snapshot, then 39 sparse NoChecksum files that each
 * rewrite a seeded eighth or so of the pages (so the newest copy of a page comes from many
 * different inputs, and some pages only from the snapshot), with TXID ranges that sometimes overlap
 * the previous file's, a shrink to 45 pages at input 25 and a growth to 50 at input 30 that writes
 * only pages 46, 48 and 50 (47 and 49 keep their pre-shrink copies, as Go's compactor keeps them).
 */
export function manyCompactionInputs(pageSize = 1024): CompactionInput[] {
  const out: CompactionInput[] = [];
  const r = prng(2026);
  let commit = 60, max = 1n;
  out.push({
    header: header({ pageSize, commit, flags: 2 }),
    pages: Array.from({ length: commit }, (_, i) => ({ pgno: i + 1, data: taggedPage(pageSize, 0, i + 1) })),
  });
  for (let t = 1; t < 40; t++) {
    const prev = commit;
    commit = t === 25 ? 45 : t === 30 ? 50 : commit;
    const pgnos = new Set<number>();
    // Pages 1..5 stay with the snapshot; the rest are rewritten sparsely.
    for (let p = 6; p <= Math.min(commit, 45); p++) if ((r() >>> 16) % 8 === 0) pgnos.add(p);
    if (t === 30) [46, 48, 50].forEach((p) => pgnos.add(p));
    if (commit > prev) for (let p = prev + 1; p <= commit; p++) if (p !== 47 && p !== 49) pgnos.add(p);
    if (pgnos.size === 0) pgnos.add(6 + (t % 40));
    const min = t % 3 === 0 ? max : max + 1n; // every third range overlaps the previous one
    max += 1n;
    out.push({
      header: header({ pageSize, commit, flags: 2, minTXID: min, maxTXID: max, timestamp: 1_700_000_000_000 + t * 1000 }),
      pages: [...pgnos].sort((a, b) => a - b).map((p) => ({ pgno: p, data: taggedPage(pageSize, t, p) })),
    });
  }
  return out;
}

/** Go's compaction rule as a model: the newest input holding a page wins; pages above the last commit are dropped. */
export function expectedCompaction(inputs: CompactionInput[]): Map<number, { input: number; data: Uint8Array }> {
  const commit = inputs[inputs.length - 1]!.header.commit;
  const m = new Map<number, { input: number; data: Uint8Array }>();
  inputs.forEach((f, i) => f.pages.forEach((p) => p.pgno <= commit && m.set(p.pgno, { input: i, data: p.data })));
  return m;
}
