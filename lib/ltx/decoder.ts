/**
 * The LTX decoder: a pull-based streaming reader (header → pages → close) with constant memory,
 * plus whole-file helpers. Reads both v3 page encodings, and v1 (LiteFS, also whole-body LZ4) and
 * v2 files when told the format. Lenient by default (reads whatever Go's decoder reads); `strict`
 * also rejects what Go lets through (spec §8). Every malformed input gives a typed LtxError.
 */
import { LtxError, wrapError } from "../errors.ts";
import { ByteSource, type ByteInput } from "./byte-source.ts";
import { CHECKSUM_FLAG, Crc64, DatabaseChecksum, lockPgno } from "./checksum.ts";
import { formatChecksum } from "./txid.ts";
import {
  decodeHeader,
  HEADER_FLAG_COMPRESS_LZ4,
  HEADER_SIZE,
  isNoChecksum,
  isSnapshot,
  PAGE_HEADER_FLAG_SIZE,
  TRAILER_SIZE,
  type Header,
  type Trailer,
} from "./header.ts";
import { compressBlockBound, decompressBlockAt } from "./lz4-block.ts";
import { decodeFrame, decodeFrameToEnd, frameLength } from "./lz4-frame.ts";
import { decodePageIndexEntries, type PageIndexEntry } from "./page-index.ts";
import { pageOrderError, snapshotEndError } from "./page-rules.ts";
import type { Page } from "./encoder.ts";

/** LTX format version: v3 (Litestream v0.5+, the default), v2, or v1 (LiteFS). */
export type LtxFormat = "v3" | "v2" | "v1";

/** Options of the decoder: the format version, strictness and input bounds. */
export interface DecoderOptions {
  /** Also reject what Go accepts: unsorted/duplicate pages, pgno > commit, the lock page, a short
   *  decompress of an LZ4 block (a short LZ4 frame is rejected in both modes, as Go does), an
   *  incomplete snapshot, a wrong index, bytes after the trailer. */
  strict?: boolean;
  /** Default "v3". There is no version field on disk. */
  format?: LtxFormat;
  /** Bound on the whole input in bytes (LIMIT_EXCEEDED beyond). */
  maxFileBytes?: number;
}

function eof(what: string): LtxError {
  return new LtxError("UNEXPECTED_EOF", `${what}: unexpected end of file`);
}

/** The streaming LTX decoder (pull-based, constant memory): header, then pages in order, then close() verifies the trailer and checksums. The counterpart of Encoder. */
export class Decoder {
  #src: ByteSource;
  #opts: DecoderOptions;
  #format: LtxFormat;
  #phdr: number;
  #state: "header" | "page" | "close" | "closed" = "header";
  #header: Header | undefined;
  #crc = new Crc64();
  #page = new Uint8Array(0);
  #db: DatabaseChecksum | undefined;
  #lock = 0;
  #prev = 0;
  #count = 0;
  #frames: PageIndexEntry[] = [];

  constructor(source: ByteInput, opts: DecoderOptions = {}) {
    this.#opts = opts;
    this.#format = opts.format ?? "v3";
    if (!["v1", "v2", "v3"].includes(this.#format)) throw new LtxError("INVALID_ARGUMENT", `unknown LTX format: ${String(this.#format)}`);
    this.#phdr = this.#format === "v3" ? 6 : 4;
    this.#src = new ByteSource(source, opts.maxFileBytes);
  }

  get header(): Header | undefined {
    return this.#header;
  }
  get bytesRead(): number {
    return this.#src.offset;
  }
  /** Pages read so far. */
  get pageCount(): number {
    return this.#count;
  }

  async readHeader(): Promise<Header> {
    if (this.#state !== "header") throw new LtxError("INVALID_STATE", "header already read");
    try {
      if (!(await this.#src.ensure(HEADER_SIZE))) throw eof("decode header");
      const b = this.#src.view().subarray(0, HEADER_SIZE);
      const h = decodeHeader(b, this.#format === "v1" ? HEADER_FLAG_COMPRESS_LZ4 : 0);
      this.#crc.update(b);
      this.#src.skip(HEADER_SIZE);
      this.#header = h;
      this.#page = new Uint8Array(h.pageSize);
      this.#lock = lockPgno(h.pageSize);
      if (isSnapshot(h) && !isNoChecksum(h)) this.#db = new DatabaseChecksum(h.pageSize);
      if (this.#format === "v1" && h.flags & HEADER_FLAG_COMPRESS_LZ4) await this.#inflateV1Body(h);
      this.#state = "page";
      return h;
    } catch (e) {
      throw wrapError(e, "decode header");
    }
  }

  /** v1 whole-body LZ4: the body up to the trailer is one frame; replace the source by its content. */
  async #inflateV1Body(h: Header): Promise<void> {
    const rest = await this.#src.readRest(this.#opts.maxFileBytes ?? 2 ** 31);
    const len = frameLength(rest, 0);
    if (len < 0) throw eof("lz4 body");
    const max = 4 + (h.commit + 1) * (4 + h.pageSize) + 4;
    const body = decodeFrameToEnd(rest.subarray(0, len), max);
    const joined = new Uint8Array(body.length + rest.length - len);
    joined.set(body);
    joined.set(rest.subarray(len), body.length);
    const offset = this.#src.offset;
    this.#src = new ByteSource(joined);
    this.#src.offset = offset;
  }

  /** The next page as a view valid until the next call, or null after the end marker. */
  async readPageView(): Promise<Page | null> {
    for (;;) {
      const p = this.tryReadPageView();
      if (p !== undefined) return p;
      let more: boolean;
      try {
        more = await this.#src.fill();
      } catch (e) {
        throw wrapError(e, `decode page ${this.#count + 1}`, "CORRUPT_LZ4");
      }
      if (!more) throw wrapError(eof(this.#need), `decode page ${this.#count + 1}`);
    }
  }

  /**
   * The next page if its bytes are already buffered, without awaiting: a view valid until the next
   * call, null after the end marker, or undefined when more input is needed (then call
   * readPageView). In-memory input never needs more.
   */
  tryReadPageView(): Page | null | undefined {
    if (this.#state !== "page") throw new LtxError("INVALID_STATE", this.#state === "header" ? "header not read" : "pages already read");
    try {
      return this.#nextPage();
    } catch (e) {
      throw wrapError(e, `decode page ${this.#count + 1}`, "CORRUPT_LZ4");
    }
  }

  /** The next page (a copy the caller owns), or null after the end marker. */
  async readPage(): Promise<Page | null> {
    let p = this.tryReadPageView();
    if (p === undefined) p = await this.readPageView();
    return p ? { pgno: p.pgno, data: p.data.slice() } : null;
  }

  // What the next page needs more input for (the end-of-file message if there is none).
  #need = "";

  /** Decodes one page from buffered bytes; consumes nothing and returns undefined if they fall short. */
  #nextPage(): Page | null | undefined {
    const src = this.#src;
    const h = this.#header!;
    const ph = this.#phdr;
    const avail = src.available;
    if (avail < ph) return this.#short("read page header");
    const v = src.buffer;
    const p = src.pos;
    const pgno = ((v[p]! << 24) | (v[p + 1]! << 16) | (v[p + 2]! << 8) | v[p + 3]!) >>> 0;
    const flags = ph === 6 ? (v[p + 4]! << 8) | v[p + 5]! : 0;
    if (pgno === 0 && flags === 0) {
      this.#crc.updateRange(v, p, p + ph);
      src.skip(ph);
      this.#state = "close";
      this.#checkSnapshotComplete();
      return null;
    }
    if (pgno === 0) throw new LtxError("INVALID_PAGE_HEADER", "page number required");
    if (flags & ~PAGE_HEADER_FLAG_SIZE) throw new LtxError("INVALID_PAGE_HEADER", `invalid page header flags: 0x${flags.toString(16).padStart(4, "0")}`);
    const page = this.#page;
    let size: number;
    let got: number;
    if (this.#format === "v1") {
      size = ph + h.pageSize;
      if (avail < size) return this.#short("read page data");
      page.set(v.subarray(p + ph, p + size));
      got = h.pageSize;
      this.#crc.updateRange(v, p, p + ph);
    } else if (flags & PAGE_HEADER_FLAG_SIZE) {
      if (avail < 10) return this.#short("read data size");
      const n = ((v[p + 6]! << 24) | (v[p + 7]! << 16) | (v[p + 8]! << 8) | v[p + 9]!) >>> 0;
      if (n > compressBlockBound(h.pageSize)) throw new LtxError("CORRUPT_LZ4", `compressed size ${n} exceeds the bound for ${h.pageSize}-byte pages`);
      size = 10 + n;
      if (avail < size) return this.#short("read compressed data");
      got = decompressBlockAt(v, p + 10, p + size, page, 0);
      this.#crc.updateRange(v, p, p + 10);
    } else {
      const rest = v.subarray(p, p + avail);
      const len = frameLength(rest, ph);
      if (len < 0) {
        if (avail > ph + h.pageSize + 64) throw new LtxError("CORRUPT_LZ4", "lz4: frame larger than a page allows");
        return this.#short("read lz4 frame");
      }
      size = ph + len;
      got = decodeFrame(rest.subarray(ph, size), page);
      this.#crc.updateRange(v, p, p + ph);
    }
    // Go ignores the decoded length of an LZ4 block (spec §5.2), not of an LZ4 frame: its frame
    // reader needs the whole page. Only the block short decode is accepted, and only leniently;
    // then the rest of the page is what Go's reused page buffer holds there: the previous page's
    // bytes (zeros before the first page), which is what Go hashes and returns. This reader's page
    // buffer is reused the same way.
    if (got !== h.pageSize && (this.#opts.strict || !(flags & PAGE_HEADER_FLAG_SIZE))) {
      throw new LtxError("CORRUPT_LZ4", `short decompress: ${got} of ${h.pageSize} bytes`);
    }
    this.#crc.update(page);
    const frameOffset = src.offset;
    src.skip(size);
    if (this.#opts.strict) this.#checkStrictPage(pgno);
    if (this.#db && pgno !== this.#lock) this.#db.add(pgno, page);
    if (this.#opts.strict) this.#frames.push({ pgno, offset: frameOffset, size });
    this.#prev = pgno;
    this.#count++;
    return { pgno, data: page };
  }

  #short(what: string): undefined {
    this.#need = what;
    return undefined;
  }

  #checkStrictPage(pgno: number): void {
    const bad = pageOrderError(this.#header!, this.#lock, this.#prev, pgno);
    if (bad) throw bad;
  }

  #checkSnapshotComplete(): void {
    if (!this.#opts.strict) return;
    const bad = snapshotEndError(this.#header!, this.#lock, this.#prev);
    if (bad) throw bad;
  }

  /** Reads the index and trailer and verifies the file checksum (and post-apply for tracked snapshots). */
  async close(): Promise<{ trailer: Trailer; index: PageIndexEntry[] }> {
    if (this.#state === "page") {
      // Drain remaining pages so the checksum covers them.
      while (await this.readPageView()) {}
    }
    if (this.#state !== "close") throw new LtxError("INVALID_STATE", this.#state === "header" ? "cannot close, expected header" : "already closed");
    try {
      const r = await this.#finish();
      this.#state = "closed";
      return r;
    } catch (e) {
      throw wrapError(e, "close reader");
    }
  }

  async #finish(): Promise<{ trailer: Trailer; index: PageIndexEntry[] }> {
    const h = this.#header!;
    const strict = this.#opts.strict ?? false;
    // The index holds at most one entry per page, each at most 3 × 10 varint bytes.
    const max = TRAILER_SIZE + 8 + 1 + this.#count * 30 + 1024;
    const rest = await this.#src.readRest(max);
    if (rest.length < 8) throw eof("read trailer");
    this.#crc.update(rest.subarray(0, rest.length - 8));
    let index: PageIndexEntry[] = [];
    let p = 0;
    if (this.#format !== "v1") {
      // Entries up to the terminator, then the u64 size field.
      const end = findTerminator(rest);
      index = decodePageIndexEntries(rest, 0, end + 1, false);
      p = end + 1;
      if (rest.length < p + 8) throw eof("read page index size");
      const sizeField = Number(new DataView(rest.buffer, rest.byteOffset + p, 8).getBigUint64(0) & 0xffffffffn);
      if (strict && sizeField !== p) throw new LtxError("INVALID_PAGE_INDEX", `read page index: size field ${sizeField} does not match ${p} bytes of entries`);
      p += 8;
      if (strict) this.#checkIndex(index);
    }
    if (rest.length < p + TRAILER_SIZE) throw eof("read trailer");
    const tv = new DataView(rest.buffer, rest.byteOffset + p, TRAILER_SIZE);
    const trailer: Trailer = { postApplyChecksum: tv.getBigUint64(0), fileChecksum: tv.getBigUint64(8) };
    if (strict && rest.length !== p + TRAILER_SIZE) throw new LtxError("TRAILING_DATA", `${rest.length - p - TRAILER_SIZE} bytes after the trailer`);
    const calc = CHECKSUM_FLAG | this.#crc.digest();
    if (trailer.fileChecksum !== calc) throw new LtxError("CHECKSUM_MISMATCH", "file checksum mismatch", { details: { stored: formatChecksum(trailer.fileChecksum), computed: formatChecksum(calc) } });
    if (this.#db && trailer.postApplyChecksum !== this.#db.value()) {
      throw new LtxError("CHECKSUM_MISMATCH", `post-apply checksum in trailer (${formatChecksum(trailer.postApplyChecksum)}) does not match calculated checksum (${formatChecksum(this.#db.value())})`);
    }
    if (strict && isNoChecksum(h) && trailer.postApplyChecksum !== 0n) throw new LtxError("INVALID_TRAILER", "post-apply checksum not allowed");
    return { trailer, index };
  }

  #checkIndex(index: PageIndexEntry[]): void {
    const frames = [...this.#frames].sort((a, b) => a.pgno - b.pgno);
    const ok = frames.length === index.length && frames.every((f, i) => f.pgno === index[i]!.pgno && f.offset === index[i]!.offset && f.size === index[i]!.size);
    if (!ok) throw new LtxError("INVALID_PAGE_INDEX", "read page index: entries do not match the page frames");
  }

  /** Stops reading and releases the source. */
  async cancel(): Promise<void> {
    this.#state = "closed";
    await this.#src.cancel();
  }
}

/** Position of the 0x00 that terminates the index entries (a pgno of 0 at an entry boundary). */
function findTerminator(b: Uint8Array): number {
  let p = 0;
  for (;;) {
    for (let field = 0; field < 3; field++) {
      // Skip one uvarint.
      let i = 0;
      for (; ; i++) {
        if (p >= b.length || i >= 10) throw new LtxError("INVALID_PAGE_INDEX", "read page index: malformed entries");
        const c = b[p++]!;
        if (c < 0x80) {
          if (field === 0 && i === 0 && c === 0) return p - 1;
          break;
        }
      }
    }
  }
}

/** A whole LTX file decoded in memory (decodeLtx). */
export interface DecodedLtx {
  header: Header;
  pages: Page[];
  index: PageIndexEntry[];
  trailer: Trailer;
}

/** Decodes a whole file held in memory. */
export async function decodeLtx(bytes: ByteInput, opts: DecoderOptions = {}): Promise<DecodedLtx> {
  const r = new Decoder(bytes, opts);
  const header = await r.readHeader();
  const pages: Page[] = [];
  for (let p; (p = await r.readPage()); ) pages.push(p);
  const { trailer, index } = await r.close();
  return { header, pages, index, trailer };
}

/** Reads and verifies a whole file without keeping its pages. */
export async function verifyLtx(source: ByteInput, opts: DecoderOptions = {}): Promise<{ header: Header; trailer: Trailer; pageCount: number }> {
  const r = new Decoder(source, opts);
  const header = await r.readHeader();
  for (;;) {
    let p = r.tryReadPageView();
    if (p === undefined) p = await r.readPageView();
    if (!p) break;
  }
  const { trailer } = await r.close();
  return { header, trailer, pageCount: r.pageCount };
}
