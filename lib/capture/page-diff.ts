/**
 * Page capture for databases whose image can be read whole (sqlite-wasm's export/serialize in
 * workers and browsers): diff the previous and the current image page by page and encode the
 * changed pages, plus growth, as one L0 LTX file shaped like Litestream's (NoChecksum, WAL offset
 * 32 with no WAL frames, commit = page count). TXID 1 is a full snapshot.
 */
import { LtxError } from "../errors.ts";
import { lockPgno } from "../ltx/checksum.ts";
import { encodeLtxBytes, type Page, type PageEncoding } from "../ltx/encoder.ts";
import { HEADER_FLAG_NO_CHECKSUM, isValidPageSize, newHeader } from "../ltx/header.ts";

/** Page size from a SQLite header (bytes 16-17; 1 means 65536). */
export function sqlitePageSize(image: Uint8Array): number {
  if (image.length < 100) throw new LtxError("INVALID_ARGUMENT", "not a SQLite database image (shorter than its header)");
  const raw = (image[16]! << 8) | image[17]!;
  const ps = raw === 1 ? 65536 : raw;
  if (!isValidPageSize(ps)) throw new LtxError("INVALID_ARGUMENT", `not a SQLite database image (page size ${raw})`);
  return ps;
}

function samePage(a: Uint8Array, b: Uint8Array, off: number, n: number): boolean {
  for (let i = off, end = off + n; i < end; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Options of captureL0: the TXID and timestamp of the file to write, and its page encoding. */
export interface CaptureOptions {
  txid: bigint;
  timestamp: number;
  pageEncoding?: PageEncoding;
}

/** The L0 file taking `prev` (null for the first) to `cur`, or null when nothing changed. */
export function captureL0(prev: Uint8Array | null, cur: Uint8Array, o: CaptureOptions): Uint8Array | null {
  const ps = sqlitePageSize(cur);
  if (cur.length % ps !== 0) throw new LtxError("INVALID_ARGUMENT", `image of ${cur.length} bytes is not a whole number of ${ps}-byte pages`);
  if (prev && prev.length >= 100 && sqlitePageSize(prev) !== ps) throw new LtxError("PAGE_SIZE_MISMATCH", "page size changed between images; capture a new snapshot");
  const snapshot = o.txid === 1n || !prev;
  if (snapshot && o.txid !== 1n) throw new LtxError("INVALID_ARGUMENT", "the first capture must be TXID 1");
  const commit = cur.length / ps;
  const lock = lockPgno(ps);
  const pages: Page[] = [];
  for (let p = 1; p <= commit; p++) {
    if (p === lock) continue;
    const off = (p - 1) * ps;
    if (snapshot || off + ps > prev!.length || !samePage(prev!, cur, off, ps)) pages.push({ pgno: p, data: cur.subarray(off, off + ps) });
  }
  if (!snapshot && pages.length === 0 && prev!.length === cur.length) return null;
  if (pages.length === 0) pages.push({ pgno: 1, data: cur.subarray(0, ps) }); // a shrink with no page change still needs a frame
  return encodeLtxBytes(
    newHeader({ flags: HEADER_FLAG_NO_CHECKSUM, pageSize: ps, commit, minTXID: o.txid, maxTXID: o.txid, timestamp: o.timestamp, walOffset: 32 }),
    pages,
    { pageEncoding: o.pageEncoding ?? "block" },
  );
}
