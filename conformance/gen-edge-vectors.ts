/**
 * Regenerates conformance/fixtures/edge-ltx: v3 LTX files, each breaking exactly one decoder rule
 * while every checksum in it is valid (file checksum, LZ4 content checksum, the post-apply of
 * checksum-tracked snapshots), in both page encodings. Each is built byte by byte here (literal-only
 * LZ4 blocks, stored LZ4 frames; the library's encoder enforces the rules these files break), and
 * `manifest.json` records for each: the rule, the error code ltxkit must give in lenient and strict
 * mode, and the verdict of the real Go decoders (`ltx verify` v0.5.2 and v0.5.1, and the ltxoracle),
 * taken by running them. Needs the Go tools (bash conformance/install-go-tools.sh).
 *   npx deno run -A conformance/gen-edge-vectors.ts
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { CHECKSUM_FLAG, crc64, DatabaseChecksum } from "../lib/ltx/checksum.ts";
import { encodeHeader, newHeader, type Header } from "../lib/ltx/header.ts";
import { xxh32 } from "../lib/ltx/xxh32.ts";
import type { ErrorCode } from "../lib/errors.ts";
import { goVerdicts } from "./go-verdicts.ts";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "fixtures", "edge-ltx");
const PS = 512;

type Encoding = "block" | "frame";

interface PageSpec {
  pgno: number;
  /** The page as the writer means it (PageSize bytes). */
  data: Uint8Array;
  /** Bytes of `data` the LZ4 payload actually holds (default all): fewer makes a short decode,
   *  more (padded with 0xee) a payload that overflows the page. */
  payload?: number;
}

interface VectorSpec {
  name: string;
  rule: string;
  header: Header;
  pages: PageSpec[];
  /** "db": the rolling checksum over the pages present (what Go checks for tracked snapshots). */
  post: bigint | "db";
  /** Rewrites the index entries before they are written. */
  index?: (e: { pgno: number; offset: number; size: number }[]) => { pgno: number; offset: number; size: number }[];
  /** Rewrites the index size field. */
  sizeField?: (n: number) => number;
  /** Hash a short page with a zero tail instead of the previous page's bytes Go's buffer keeps. */
  zeroTail?: boolean;
  /** Appends 16 bytes after the trailer, forged so that Go's checksum (which hashes up to the last
   *  8 bytes of the file) still matches. */
  trailing?: boolean;
  /** The code ltxkit gives in lenient mode (per encoding where they differ), or "ok". */
  lenient: Verdict | Record<Encoding, Verdict>;
  strict: Verdict;
}

type Verdict = ErrorCode | "ok";

/** A page whose bytes depend on pgno and a seed; compressible enough to be ordinary. */
function page(pgno: number, seed = 0): Uint8Array {
  const p = new Uint8Array(PS);
  for (let i = 0; i < PS; i++) p[i] = "abcdefgh".charCodeAt((Math.floor(i / 13) + pgno + seed) % 8) ^ (i % 7 === 0 ? pgno & 0xff : 0);
  return p;
}

/** One literal-only LZ4 block holding `data` (spec §5.2). */
function literalBlock(data: Uint8Array): Uint8Array {
  const n = data.length;
  const len: number[] = [];
  if (n >= 15) {
    let r = n - 15;
    for (; r >= 255; r -= 255) len.push(255);
    len.push(r);
  }
  const b = new Uint8Array(1 + len.length + n);
  b[0] = Math.min(n, 15) << 4;
  b.set(len, 1);
  b.set(data, 1 + len.length);
  return b;
}

const le32 = (v: number) => new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);
const be32 = (v: number) => new Uint8Array([(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
const be64 = (v: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  return b;
};
function cat(...parts: Uint8Array[]): Uint8Array {
  const o = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let i = 0;
  for (const p of parts) (o.set(p, i), (i += p.length));
  return o;
}
function uvarint(v: number): number[] {
  const b: number[] = [];
  for (; v >= 0x80; v = Math.floor(v / 128)) b.push((v % 128) | 0x80);
  b.push(v);
  return b;
}

/** One stored-block LZ4 frame exactly as Go lays it out (FLG 0x64, BD 0x40, content checksum). */
function storedFrame(data: Uint8Array): Uint8Array {
  return cat(new Uint8Array([0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7]), le32((data.length | 0x80000000) >>> 0), data, le32(0), le32(xxh32(data)));
}

/** The payload bytes a page carries: a prefix of data, or data padded past the page. */
function payloadOf(p: PageSpec): Uint8Array {
  const n = p.payload ?? PS;
  if (n <= PS) return p.data.subarray(0, n);
  const b = new Uint8Array(n).fill(0xee);
  b.set(p.data);
  return b;
}

/**
 * What Go's decoder hashes for a page: its one page buffer after decoding the payload into it. A
 * short payload leaves the tail as the previous page left it (zeros before the first page), or
 * zeros when `zeroTail` asks for the file Go rejects.
 */
function decodedOf(p: PageSpec, buf: Uint8Array, zeroTail: boolean): Uint8Array {
  const payload = payloadOf(p).subarray(0, PS);
  if (zeroTail) buf.fill(0);
  buf.set(payload);
  return buf.slice();
}

/** Builds the file; the file checksum follows spec §7.2 over what the decoders hash. */
function build(s: VectorSpec, enc: Encoding): Uint8Array {
  const file: Uint8Array[] = [];
  const hashed: Uint8Array[] = [];
  const hdr = encodeHeader(s.header);
  file.push(hdr);
  hashed.push(hdr);
  let off = hdr.length;
  const entries: { pgno: number; offset: number; size: number }[] = [];
  const db = new DatabaseChecksum(PS);
  const buf = new Uint8Array(PS);
  for (const p of s.pages) {
    const decoded = decodedOf(p, buf, s.zeroTail ?? false);
    const payload = payloadOf(p);
    let head: Uint8Array, body: Uint8Array;
    if (enc === "block") {
      body = literalBlock(payload);
      head = cat(be32(p.pgno), new Uint8Array([0, 1]), be32(body.length));
    } else {
      body = storedFrame(payload);
      head = cat(be32(p.pgno), new Uint8Array([0, 0]));
    }
    file.push(head, body);
    hashed.push(head, decoded);
    entries.push({ pgno: p.pgno, offset: off, size: head.length + body.length });
    off += head.length + body.length;
    db.add(p.pgno, decoded);
  }
  const end = new Uint8Array(6);
  const sorted = [...entries].sort((a, b) => a.pgno - b.pgno);
  const idx = (s.index ? s.index(sorted) : sorted).flatMap((e) => [...uvarint(e.pgno), ...uvarint(e.offset), ...uvarint(e.size)]);
  idx.push(0);
  const index = cat(new Uint8Array(idx), be64(BigInt(s.sizeField ? s.sizeField(idx.length) : idx.length)));
  const post = be64(s.post === "db" ? db.value() : s.post);
  file.push(end, index, post);
  hashed.push(end, index, post);
  const stream = cat(...hashed);
  if (!s.trailing) {
    file.push(be64(CHECKSUM_FLAG | crc64(stream)));
    return cat(...file);
  }
  // Go hashes the index, the trailer and anything after it except the file's last 8 bytes, then
  // compares with the checksum field right after the post-apply. Choose that field F, then 8 bytes
  // X after it such that CRC(stream ‖ F ‖ X) = F; 8 more bytes follow that nobody hashes.
  const F = CHECKSUM_FLAG | crc64(stream);
  const X = forge(cat(stream, be64(F)), F);
  file.push(be64(F), X, new Uint8Array(8).fill(0x5a));
  return cat(...file);
}

/** 8 bytes X with CRC(prefix ‖ X) = target. CRC is affine over GF(2): solve the 64×64 system. */
function forge(prefix: Uint8Array, target: bigint): Uint8Array {
  const f = (x: bigint) => crc64(cat(prefix, be64(x)));
  const base = f(0n);
  // Columns: the effect of each input bit; row-reduce [cols | unit] to find the combination.
  const rows: { v: bigint; x: bigint }[] = [];
  for (let k = 0; k < 64; k++) rows.push({ v: f(1n << BigInt(k)) ^ base, x: 1n << BigInt(k) });
  const want = target ^ base;
  const basis: { v: bigint; x: bigint }[] = [];
  for (const r of rows) {
    let { v, x } = r;
    for (const b of basis) if ((v ^ b.v) < v) (v ^= b.v, (x ^= b.x));
    if (v) {
      basis.push({ v, x });
      basis.sort((a, b) => (a.v > b.v ? -1 : 1));
    }
  }
  let v = want, x = 0n;
  for (const b of basis) if ((v ^ b.v) < v) (v ^= b.v, (x ^= b.x));
  if (v !== 0n) throw new Error("forge: no solution");
  const X = be64(x);
  if (crc64(cat(prefix, X)) !== target) throw new Error("forge: check failed");
  return X;
}

const nc = (h: Partial<Header> & { commit: number }) => newHeader({ flags: 2, pageSize: PS, minTXID: 2n, maxTXID: 2n, timestamp: 1_700_000_000_000, ...h });
const snap = (commit: number) => newHeader({ pageSize: PS, commit, minTXID: 1n, maxTXID: 1n, timestamp: 1_700_000_000_000 });
const pg = (pgno: number, payload?: number): PageSpec => ({ pgno, data: page(pgno), payload });
const LOCK = 2097153; // lock page for 512-byte pages

const specs: VectorSpec[] = [
  { name: "control-snapshot", rule: "none: a valid snapshot built the same way", header: snap(3), pages: [pg(1), pg(2), pg(3)], post: "db", lenient: "ok", strict: "ok" },
  { name: "control-incremental", rule: "none: a valid NoChecksum incremental built the same way", header: nc({ commit: 4 }), pages: [pg(2), pg(4)], post: 0n, lenient: "ok", strict: "ok" },
  { name: "short-page", rule: "the page's LZ4 payload decodes to 100 of 512 bytes (Go ignores the length of a block, not of a frame)", header: snap(1), pages: [pg(1, 100)], post: "db", lenient: { block: "ok", frame: "CORRUPT_LZ4" }, strict: "CORRUPT_LZ4" },
  { name: "short-page-after-page", rule: "page 3's LZ4 payload decodes to 100 of 512 bytes; the checksum covers page 2's bytes in the rest of the page, as Go's reused page buffer has them", header: nc({ commit: 4 }), pages: [pg(2), pg(3, 100)], post: 0n, lenient: { block: "ok", frame: "CORRUPT_LZ4" }, strict: "CORRUPT_LZ4" },
  { name: "short-page-zero-tail", rule: "page 3's LZ4 payload decodes to 100 of 512 bytes; the checksum covers zeros in the rest of the page, which is not what Go's buffer holds", header: nc({ commit: 4 }), pages: [pg(2), pg(3, 100)], post: 0n, zeroTail: true, lenient: { block: "CHECKSUM_MISMATCH", frame: "CORRUPT_LZ4" }, strict: "CORRUPT_LZ4" },
  { name: "long-page", rule: "the page's LZ4 payload decodes to 513 bytes, more than the page", header: snap(1), pages: [pg(1, 513)], post: "db", lenient: "CORRUPT_LZ4", strict: "CORRUPT_LZ4" },
  { name: "out-of-order", rule: "pages 3 then 2 in an incremental", header: nc({ commit: 4 }), pages: [pg(3), pg(2)], post: 0n, lenient: "ok", strict: "INVALID_PAGE" },
  { name: "duplicate-page", rule: "page 2 twice in an incremental", header: nc({ commit: 4 }), pages: [pg(2), { pgno: 2, data: page(2, 1) }], post: 0n, lenient: "ok", strict: "INVALID_PAGE" },
  { name: "pgno-above-commit", rule: "page 5 in a file of commit 4", header: nc({ commit: 4 }), pages: [pg(2), pg(5)], post: 0n, lenient: "ok", strict: "INVALID_PAGE" },
  { name: "lock-page", rule: "the lock page (2097153 for 512-byte pages) is present", header: nc({ commit: LOCK + 1 }), pages: [pg(2), pg(LOCK), pg(LOCK + 1)], post: 0n, lenient: "ok", strict: "INVALID_PAGE" },
  { name: "snapshot-gap", rule: "snapshot of commit 3 with pages 1 and 3", header: snap(3), pages: [pg(1), pg(3)], post: "db", lenient: "ok", strict: "INVALID_PAGE" },
  { name: "snapshot-not-from-1", rule: "snapshot of commit 3 with pages 2 and 3", header: snap(3), pages: [pg(2), pg(3)], post: "db", lenient: "ok", strict: "INVALID_PAGE" },
  { name: "snapshot-incomplete", rule: "snapshot of commit 3 that ends after page 2", header: snap(3), pages: [pg(1), pg(2)], post: "db", lenient: "ok", strict: "INVALID_PAGE" },
  { name: "index-wrong-offset", rule: "the index gives page 4 an offset one byte off", header: nc({ commit: 4 }), pages: [pg(2), pg(4)], post: 0n, index: (e) => e.map((x) => (x.pgno === 4 ? { ...x, offset: x.offset + 1 } : x)), lenient: "ok", strict: "INVALID_PAGE_INDEX" },
  { name: "index-wrong-size", rule: "the index gives page 2 a frame size one byte short", header: nc({ commit: 4 }), pages: [pg(2), pg(4)], post: 0n, index: (e) => e.map((x) => (x.pgno === 2 ? { ...x, size: x.size - 1 } : x)), lenient: "ok", strict: "INVALID_PAGE_INDEX" },
  { name: "index-missing-entry", rule: "the index lacks page 4's entry", header: nc({ commit: 4 }), pages: [pg(2), pg(4)], post: 0n, index: (e) => e.filter((x) => x.pgno !== 4), lenient: "ok", strict: "INVALID_PAGE_INDEX" },
  { name: "index-extra-entry", rule: "the index has an entry for page 3, which the file lacks", header: nc({ commit: 4 }), pages: [pg(2), pg(4)], post: 0n, index: (e) => [e[0]!, { pgno: 3, offset: e[1]!.offset, size: e[1]!.size }, e[1]!], lenient: "ok", strict: "INVALID_PAGE_INDEX" },
  { name: "index-size-field", rule: "the index size field is one more than the entries and terminator", header: nc({ commit: 4 }), pages: [pg(2), pg(4)], post: 0n, sizeField: (n) => n + 1, lenient: "ok", strict: "INVALID_PAGE_INDEX" },
  { name: "trailing-bytes", rule: "16 bytes after the trailer, the first 8 forged so the file checksum as Go computes it matches", header: nc({ commit: 4 }), pages: [pg(2), pg(4)], post: 0n, trailing: true, lenient: "ok", strict: "TRAILING_DATA" },
  { name: "nochecksum-with-post", rule: "a NoChecksum file whose trailer carries a post-apply checksum", header: nc({ commit: 4 }), pages: [pg(2), pg(4)], post: CHECKSUM_FLAG | 5n, lenient: "ok", strict: "INVALID_TRAILER" },
];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const manifest: unknown[] = [];
for (const s of specs) {
  for (const enc of ["block", "frame"] as Encoding[]) {
    const file = `${enc}-${s.name}.ltx`;
    const path = join(out, file);
    writeFileSync(path, build(s, enc));
    manifest.push({ file, encoding: enc, rule: s.rule, lenient: typeof s.lenient === "string" ? s.lenient : s.lenient[enc], strict: s.strict, go_verify: goVerdicts(path) });
  }
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 1) + "\n");
console.log(`wrote ${manifest.length} edge vectors to ${out}`);
