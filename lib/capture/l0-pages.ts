/**
 * The pages of one L0 file, read lazily: the newest committed WAL copy of a page when the page map
 * has one, else the database file (zeros past its end). The lock page is never produced.
 */
import { lockPgno } from "../ltx/checksum.ts";
import { Encoder, encodeLtx, type Page, type PageEncoding } from "../ltx/encoder.ts";
import type { Header } from "../ltx/header.ts";
import { readFully, type RandomAccessReader } from "./sqlite.ts";
import { readFramePage } from "./wal-reader.ts";
import type { WalHeader } from "./wal.ts";
import { concat } from "../util/bytes.ts";

export interface PageSource {
  db: RandomAccessReader | null;
  wal: RandomAccessReader;
  header: WalHeader;
  pageSize: number;
  /** pgno → frame offset. */
  map: Map<number, number>;
  /** pgno → the page bytes of that frame where the WAL scan still holds them (no second read). */
  data?: Map<number, Uint8Array>;
}

/** Page numbers of an incremental file: the changed pages plus growth (prevCommit+1..commit), ascending. */
export function incrementalPgnos(map: Map<number, number>, prevCommit: number, commit: number, pageSize: number): number[] {
  const set = new Set<number>();
  for (const p of map.keys()) if (p <= commit) set.add(p);
  for (let p = prevCommit + 1; p <= commit; p++) set.add(p);
  set.delete(lockPgno(pageSize));
  return [...set].sort((a, b) => a - b);
}

/** Page numbers 1..commit without the lock page. */
export function* allPgnos(commit: number, pageSize: number): Generator<number> {
  const lock = lockPgno(pageSize);
  for (let p = 1; p <= commit; p++) if (p !== lock) yield p;
}

/** Reads one page from the database file; zeros past its end. */
export async function readDbPage(db: RandomAccessReader | null, pgno: number, pageSize: number): Promise<Uint8Array> {
  if (!db) return new Uint8Array(pageSize);
  const b = await readFully(db, (pgno - 1) * pageSize, pageSize);
  if (b.length === pageSize) return b;
  const out = new Uint8Array(pageSize);
  out.set(b);
  return out;
}

/** The pages, in the order given. */
export async function* readPages(src: PageSource, pgnos: Iterable<number>): AsyncGenerator<Page> {
  for (const pgno of pgnos) {
    const at = src.map.get(pgno);
    const data = at === undefined ? await readDbPage(src.db, pgno, src.pageSize) : (src.data?.get(pgno) ?? (await readFramePage(src.wal, src.header, at, pgno)));
    yield { pgno, data };
  }
}

/**
 * The encoded LTX file over lazily read pages as chunks (the header, one per page, the trailer),
 * the bytes `encodeLtx` streams, without a ReadableStream and its promises per page: what the
 * capture writes into its local L0 file on every sync.
 */
export async function* encodePages(header: Header, pages: AsyncIterable<Page>, encoding: PageEncoding, compress = true): AsyncGenerator<Uint8Array> {
  const enc = new Encoder({ pageEncoding: encoding, compress });
  yield enc.encodeHeader(header);
  for await (const p of pages) yield enc.encodePage(p.pgno, p.data);
  yield enc.close();
}

/**
 * An encoded LTX body over lazily read pages; `release` runs once, when the body ends, fails or
 * is cancelled (it closes the files and lets checkpoints run again).
 */
export function streamPages(header: Header, pages: AsyncIterable<Page>, encoding: PageEncoding, release: () => Promise<void>): ReadableStream<Uint8Array> {
  let released = false;
  const once = async () => {
    if (released) return;
    released = true;
    await release();
  };
  const reader = encodeLtx(header, pages, { pageEncoding: encoding }).getReader();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const r = await reader.read();
        if (r.done) {
          await once();
          c.close();
        } else c.enqueue(r.value);
      } catch (e) {
        await once();
        c.error(e);
      }
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
      await once();
    },
  });
}

const WINDOW = 1 << 20;
/** The first window of a reader: most syncs read a few pages, and a 1 MiB read (and buffer) each cost more than the pages. */
const FIRST_WINDOW = 16 << 10;

/**
 * A reader that serves small reads from one cached window, so page-sized reads in ascending
 * order cost one file read per window. The window starts at 16 KiB and doubles on every miss that
 * continues where it ended, up to `size` bytes (any other miss starts again at 16 KiB), so an L0 file of a few pages reads a few KiB and a snapshot reads 1 MiB at a
 * time. Reads never see bytes older than the window they come from; the capture re-validates WAL
 * frames it reads (salts and pgno).
 */
export function windowed(f: RandomAccessReader, size = WINDOW): RandomAccessReader {
  let start = 0;
  let buf: Uint8Array = new Uint8Array(0);
  let next = Math.min(FIRST_WINDOW, size);
  return {
    size: () => f.size(),
    async read(offset, length) {
      if (length > size) return f.read(offset, length);
      if (offset < start || offset + length > start + buf.length) {
        // Only reads that go on where the window ended grow it: scattered reads (the few WAL
        // frames the scan no longer holds, at offsets in page order) read 16 KiB each.
        if (offset !== start + buf.length) next = Math.min(FIRST_WINDOW, size);
        start = offset;
        buf = await readFully(f, offset, Math.max(next, length));
        next = Math.min(next * 2, size);
      }
      const o = offset - start;
      return buf.subarray(o, Math.min(o + length, buf.length));
    },
    close: () => f.close(),
  };
}

/** Regroups a stream of small chunks into chunks of about `size` bytes (fewer writes). */
export async function* rechunk(body: AsyncIterable<Uint8Array>, size = WINDOW): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of body) {
    parts.push(c);
    n += c.length;
    if (n >= size) {
      yield concat(parts, n);
      parts = [];
      n = 0;
    }
  }
  if (n > 0) yield concat(parts, n);
}
