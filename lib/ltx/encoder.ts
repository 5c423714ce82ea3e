/**
 * The LTX encoder: a state machine (header → pages → close) that enforces every rule of Go's
 * encoder (spec §5.4, §7.1) and streams the file out in pieces with constant memory (apart from
 * the page index). Page encoding A (LZ4 block, page flags 0x0001) by default; legacy encoding B
 * (one LZ4 frame per page, page flags 0) for Litestream ≤ v0.5.15 readers.
 */
import { LtxError } from "../errors.ts";
import { allocBytes, concat } from "../util/bytes.ts";
import { CHECKSUM_FLAG, Crc64, DatabaseChecksum, lockPgno } from "./checksum.ts";
import {
  checkHeader,
  encodeHeader,
  encodeHeaderInto,
  HEADER_SIZE,
  isNoChecksum,
  isSnapshot,
  PAGE_HEADER_FLAG_SIZE,
  PAGE_HEADER_SIZE,
  validateTrailer,
  type Header,
  type Trailer,
} from "./header.ts";
import { compressBlockBound } from "./lz4-block.ts";
import { compressBlock, literalBlockSize, writeLiteralBlock } from "./lz4-compress.ts";
import { encodeFrame } from "./lz4-frame.ts";
import { encodePageIndex, type PageIndexEntry } from "./page-index.ts";
import { pageOrderError, snapshotEndError } from "./page-rules.ts";

/** Page encoding: "block" (LZ4 block, what Litestream v0.5.16 writes) or "frame" (LZ4 frame, what Litestream <= v0.5.15 reads). */
export type PageEncoding = "block" | "frame";

/** Options of the encoder. */
export interface EncoderOptions {
  /** "block" (default, what Litestream ≥ v0.5.16 writes) or "frame" (readable by every v0.5.x). */
  pageEncoding?: PageEncoding;
  /**
   * False: pages are stored, not compressed (default true). In encoding A each page is then a
   * literal-only LZ4 block (one sequence: token 0xF0, the length bytes, the page), in encoding B an
   * LZ4 frame with one stored block: both are what every reader of that encoding decodes, at the
   * cost of a copy instead of a compression. For short-lived files (L0 files of a capture, which
   * compaction rewrites compressed).
   */
  compress?: boolean;
}

/** One database page: its number (1-based) and its bytes (page size long). */
export interface Page {
  pgno: number;
  data: Uint8Array;
}

function invalidPage(msg: string): LtxError {
  return new LtxError("INVALID_PAGE", msg);
}

const END_MARKER = new Uint8Array(PAGE_HEADER_SIZE);

/** Encoding A's page header at frame[at..at+10): be32 pgno, be16 flags, be32 block size (no DataView per page). */
function writePageHeader(frame: Uint8Array, pgno: number, n: number, at = 0): void {
  frame[at] = pgno >>> 24;
  frame[at + 1] = pgno >>> 16;
  frame[at + 2] = pgno >>> 8;
  frame[at + 3] = pgno;
  frame[at + 4] = PAGE_HEADER_FLAG_SIZE >>> 8;
  frame[at + 5] = PAGE_HEADER_FLAG_SIZE;
  frame[at + 6] = n >>> 24;
  frame[at + 7] = n >>> 16;
  frame[at + 8] = n >>> 8;
  frame[at + 9] = n;
}

/**
 * Compression scratch shared by every encoder: encodePage fills it and copies the result out before
 * returning, so no two uses overlap. Sharing it saves an allocation per encoder (one per L0 file).
 */
let scratch = new Uint8Array(0);

/** Writes one LTX file piece by piece: header, pages in order, then the page index and trailer. */
export class Encoder {
  #state: "header" | "page" | "closed" = "header";
  #encoding: PageEncoding;
  #compress: boolean;
  #header: Header | undefined;
  #trailer: Trailer | undefined;
  #crc = new Crc64();
  #size = 0;
  #index: PageIndexEntry[] = [];
  #prev = 0;
  #lock = 0;
  #db: DatabaseChecksum | undefined;

  constructor(opts: EncoderOptions = {}) {
    this.#encoding = opts.pageEncoding ?? "block";
    this.#compress = opts.compress ?? true;
    if (this.#encoding !== "block" && this.#encoding !== "frame") throw new LtxError("INVALID_ARGUMENT", `invalid page encoding: ${String(this.#encoding)}`);
  }

  get header(): Header | undefined {
    return this.#header;
  }
  get trailer(): Trailer | undefined {
    return this.#trailer;
  }
  get pageIndex(): readonly PageIndexEntry[] {
    return this.#index;
  }
  /** Bytes produced so far. */
  get size(): number {
    return this.#size;
  }

  encodeHeader(h: Header): Uint8Array {
    if (this.#state !== "header") throw new LtxError("INVALID_STATE", "cannot encode header: header already written");
    const b = encodeHeader(h);
    this.#header = { ...h };
    this.#crc.update(b);
    this.#size = HEADER_SIZE;
    this.#lock = lockPgno(h.pageSize);
    if (isSnapshot(h) && !isNoChecksum(h)) this.#db = new DatabaseChecksum(h.pageSize);
    this.#state = "page";
    return b;
  }

  /** Encodes one page; pages must come in the order Go requires. Returns the frame bytes. */
  encodePage(pgno: number, data: Uint8Array): Uint8Array {
    if (this.#state !== "page") throw new LtxError("INVALID_STATE", `cannot encode page: ${this.#state === "header" ? "header not written" : "encoder closed"}`);
    const h = this.#header!;
    if (!Number.isInteger(pgno) || pgno < 1 || pgno > 0xffffffff) throw new LtxError("INVALID_PAGE_HEADER", "page number required");
    if (data.length !== h.pageSize) throw invalidPage(`invalid page buffer size: ${data.length}, expecting ${h.pageSize}`);
    const bad = pageOrderError(h, this.#lock, this.#prev, pgno, "cannot encode lock page");
    if (bad) throw bad;

    let frame: Uint8Array;
    if (this.#encoding === "block" && !this.#compress) {
      const n = literalBlockSize(data.length);
      frame = new Uint8Array(10 + n);
      writePageHeader(frame, pgno, n);
      writeLiteralBlock(data, frame, 10);
      this.#crc.updateRange(frame, 0, 10);
    } else if (this.#encoding === "block") {
      const bound = compressBlockBound(data.length);
      if (scratch.length < bound) scratch = new Uint8Array(bound);
      const n = compressBlock(data, scratch);
      frame = new Uint8Array(10 + n);
      writePageHeader(frame, pgno, n);
      frame.set(scratch.subarray(0, n), 10);
      this.#crc.updateRange(frame, 0, 10);
    } else {
      const f = encodeFrame(data, this.#compress);
      frame = new Uint8Array(6 + f.length);
      new DataView(frame.buffer).setUint32(0, pgno);
      frame.set(f, 6);
      this.#crc.update(frame.subarray(0, 6));
    }
    this.#crc.update(data);
    this.#db?.add(pgno, data);
    this.#index.push({ pgno, offset: this.#size, size: frame.length });
    this.#size += frame.length;
    this.#prev = pgno;
    return frame;
  }

  /**
   * Writes the end marker, the page index and the trailer. `postApplyChecksum`: omit for NoChecksum
   * files; computed from the pages for checksum-tracked snapshots when omitted; required otherwise.
   */
  close(postApplyChecksum?: bigint): Uint8Array {
    if (this.#state !== "page") throw new LtxError("INVALID_STATE", `cannot close: ${this.#state === "header" ? "header not written" : "already closed"}`);
    const h = this.#header!;
    const incomplete = snapshotEndError(h, this.#lock, this.#prev);
    if (incomplete) throw incomplete;
    const post = postApplyChecksum ?? (isNoChecksum(h) ? 0n : this.#db ? this.#db.value() : 0n);
    if (h.commit === 0 && post !== CHECKSUM_FLAG) {
      throw new LtxError("INVALID_TRAILER", "post-apply checksum must be empty for zero-length database");
    }
    validateTrailer(h, { postApplyChecksum: post, fileChecksum: CHECKSUM_FLAG });
    const index = encodePageIndex(this.#index);
    const out = new Uint8Array(PAGE_HEADER_SIZE + index.length + 16);
    out.set(END_MARKER, 0);
    out.set(index, PAGE_HEADER_SIZE);
    const v = new DataView(out.buffer);
    const t = PAGE_HEADER_SIZE + index.length;
    v.setBigUint64(t, post);
    this.#crc.update(out.subarray(0, t + 8));
    const fileChecksum = CHECKSUM_FLAG | this.#crc.digest();
    v.setBigUint64(t + 8, fileChecksum);
    this.#trailer = { postApplyChecksum: post, fileChecksum };
    this.#size += out.length;
    this.#state = "closed";
    return out;
  }
}

/** Options of encodeLtx and encodeLtxBytes: the encoder's, plus the post-apply checksum to write. */
export type EncodeOptions = EncoderOptions & { postApplyChecksum?: bigint };

/** Streams an encoded LTX file; pages must be in ascending order. */
export function encodeLtx(header: Header, pages: Iterable<Page> | AsyncIterable<Page>, opts: EncodeOptions = {}): ReadableStream<Uint8Array> {
  const enc = new Encoder(opts);
  let it: Iterator<Page> | AsyncIterator<Page> | undefined;
  let done = false;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      return (async () => {
        if (!it) {
          c.enqueue(enc.encodeHeader(header));
          it = Symbol.asyncIterator in pages ? (pages as AsyncIterable<Page>)[Symbol.asyncIterator]() : (pages as Iterable<Page>)[Symbol.iterator]();
          return;
        }
        if (done) return;
        const r = await it.next();
        if (r.done) {
          done = true;
          c.enqueue(enc.close(opts.postApplyChecksum));
          c.close();
        } else c.enqueue(enc.encodePage(r.value.pgno, r.value.data));
      })();
    },
    async cancel() {
      await it?.return?.();
    },
  });
}

/**
 * Encodes a whole file in memory. Stored pages in encoding A (`compress: false`, block) are written
 * straight into one buffer of the file's size (their frame sizes are known in advance): no buffer
 * per page, no concatenation.
 */
export function encodeLtxBytes(header: Header, pages: Iterable<Page>, opts: EncodeOptions = {}): Uint8Array {
  if (opts.compress === false && (opts.pageEncoding ?? "block") === "block") return encodeStoredBytes(header, Array.isArray(pages) ? pages : [...pages], opts.postApplyChecksum);
  const enc = new Encoder(opts);
  const parts = [enc.encodeHeader(header)];
  for (const p of pages) parts.push(enc.encodePage(p.pgno, p.data));
  parts.push(enc.close(opts.postApplyChecksum));
  return concat(parts, enc.size);
}

/** encodeLtxBytes of stored encoding-A pages: the rules of the Encoder, the bytes it writes, in one buffer. */
function encodeStoredBytes(header: Header, pages: readonly Page[], postApplyChecksum?: bigint): Uint8Array {
  const h = header;
  checkHeader(h);
  const ps = h.pageSize;
  const lock = lockPgno(ps);
  const lit = literalBlockSize(ps);
  const frameSize = 10 + lit;
  const index: PageIndexEntry[] = new Array(pages.length);
  let prev = 0;
  let at = HEADER_SIZE;
  for (let i = 0; i < pages.length; i++) {
    const p = pages[i]!;
    const pgno = p.pgno;
    if (!Number.isInteger(pgno) || pgno < 1 || pgno > 0xffffffff) throw new LtxError("INVALID_PAGE_HEADER", "page number required");
    if (p.data.length !== ps) throw invalidPage(`invalid page buffer size: ${p.data.length}, expecting ${ps}`);
    const bad = pageOrderError(h, lock, prev, pgno, "cannot encode lock page");
    if (bad) throw bad;
    index[i] = { pgno, offset: at, size: frameSize };
    at += frameSize;
    prev = pgno;
  }
  const incomplete = snapshotEndError(h, lock, prev);
  if (incomplete) throw incomplete;
  const db = isSnapshot(h) && !isNoChecksum(h) && postApplyChecksum === undefined ? new DatabaseChecksum(ps) : undefined;
  const crc = new Crc64();
  const idx = encodePageIndex(index);
  const file = allocBytes(at + PAGE_HEADER_SIZE + idx.length + 16);
  encodeHeaderInto(h, file, 0);
  crc.updateRange(file, 0, HEADER_SIZE);
  let o = HEADER_SIZE;
  for (const p of pages) {
    writePageHeader(file, p.pgno, lit, o);
    crc.updateRange(file, o, o + 10);
    const d = writeLiteralBlock(p.data, file, o + 10);
    crc.updateRange(file, d - ps, d);
    db?.add(p.pgno, p.data);
    o = d;
  }
  const post = postApplyChecksum ?? (isNoChecksum(h) ? 0n : db ? db.value() : 0n);
  if (h.commit === 0 && post !== CHECKSUM_FLAG) throw new LtxError("INVALID_TRAILER", "post-apply checksum must be empty for zero-length database");
  validateTrailer(h, { postApplyChecksum: post, fileChecksum: CHECKSUM_FLAG });
  // The end marker is already zeros; then the index and the trailer.
  file.set(idx, o + PAGE_HEADER_SIZE);
  const t = o + PAGE_HEADER_SIZE + idx.length;
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  v.setBigUint64(t, post);
  crc.updateRange(file, o, t + 8);
  v.setBigUint64(t + 8, CHECKSUM_FLAG | crc.digest());
  return file;
}
