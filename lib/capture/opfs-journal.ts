/**
 * The journal format of OpfsVfsStorage (opfs-vfs-storage.ts): a 32-byte file header (`LTXJ`,
 * version, generation, xxh32 of the first 16 bytes), then entries, each framed with its length and
 * an xxh32 checksum of its payload. The first entry of a journal is the snapshot of every live
 * record; each later one is one `apply` (its pages and records). An entry whose frame or checksum
 * does not hold reads as the end of the journal (a write cut short).
 */
import { LtxError } from "../errors.ts";
import { xxh32 } from "../ltx/xxh32.ts";
import type { OpfsSyncAccessHandle } from "./opfs-vfs-storage.ts";
import type { VfsBatch } from "./vfs-storage.ts";

const J_MAGIC = 0x4a58544c; // "LTXJ"
const E_MAGIC = 0x4558544c; // "LTXE"
/** Format version of the journal and page files. */
export const VERSION = 1;
/** Bytes of the header of the journal and page files. */
export const FILE_HEADER = 32;
const ENTRY_HEADER = 16; // magic, payload length, checksum, flags
/** A length that marks a dropped page or a deleted record. */
export const NONE = 0xffffffff;
const MAX_ENTRY = 1 << 30;
/** Entry flag: the snapshot of every live record that starts a journal. */
export const F_SNAPSHOT = 1;
/** Entry flag: the entry lays the page file out anew with its page size. */
export const F_LAYOUT = 2;

/** A parsed entry: where its pages and records are, as offsets from the entry's start. */
export interface Entry {
  flags: number;
  pageSize: number;
  pages: [number, number, number][]; // pgno, offset in journal (or NONE: drop), length
  records: [string, number, number][]; // key, offset (or NONE: delete), length
  size: number; // bytes of the whole entry in the journal
}

/** The header of a journal of generation `gen`. */
export function encodeJournalHead(gen: bigint): Uint8Array {
  const h = new Uint8Array(FILE_HEADER);
  const dv = view(h);
  dv.setUint32(0, J_MAGIC, true);
  dv.setUint32(4, VERSION, true);
  dv.setBigUint64(8, gen, true);
  dv.setUint32(16, xxh32(h.subarray(0, 16)), true);
  return h;
}

/** The generation of the journal in `h`, when its header and snapshot entry are whole; else null. */
export function readJournalHead(h: OpfsSyncAccessHandle): { gen: bigint } | null {
  const size = h.getSize();
  if (size < FILE_HEADER + ENTRY_HEADER) return null;
  const b = new Uint8Array(FILE_HEADER);
  h.read(b, { at: 0 });
  const dv = view(b);
  if (dv.getUint32(0, true) !== J_MAGIC || dv.getUint32(4, true) !== VERSION || dv.getUint32(16, true) !== xxh32(b.subarray(0, 16))) return null;
  // The snapshot entry must be whole.
  const eh = new Uint8Array(ENTRY_HEADER);
  h.read(eh, { at: FILE_HEADER });
  const len = view(eh).getUint32(4, true);
  if (view(eh).getUint32(0, true) !== E_MAGIC || len > MAX_ENTRY || FILE_HEADER + ENTRY_HEADER + len > size) return null;
  const whole = new Uint8Array(ENTRY_HEADER + len);
  h.read(whole, { at: FILE_HEADER });
  const e = parseEntry(whole, 0, whole.length);
  if (!e || !(e.flags & F_SNAPSHOT)) return null;
  return { gen: dv.getBigUint64(8, true) };
}

/** Entry: magic, payload length, xxh32(payload), flags | payload: pageSize, nPages, nRecords, pages, records. */
export function encodeEntry(batch: VfsBatch, flags: number, pageSize: number): Uint8Array {
  const te = new TextEncoder();
  const pages = [...(batch.pages ?? [])];
  const records = [...(batch.records ?? [])].map(([k, v]) => [te.encode(k), v] as const);
  let n = 12;
  for (const [, b] of pages) n += 8 + (b?.length ?? 0);
  for (const [k, v] of records) n += 8 + k.length + (v?.length ?? 0);
  if (n > MAX_ENTRY) throw new LtxError("LIMIT_EXCEEDED", `OPFS storage: a batch of ${n} bytes exceeds ${MAX_ENTRY}`);
  const out = new Uint8Array(ENTRY_HEADER + n);
  const dv = view(out);
  let o = ENTRY_HEADER;
  dv.setUint32(o, pageSize, true);
  dv.setUint32(o + 4, pages.length, true);
  dv.setUint32(o + 8, records.length, true);
  o += 12;
  for (const [pgno, b] of pages) {
    dv.setUint32(o, pgno, true);
    dv.setUint32(o + 4, b === null ? NONE : b.length, true);
    o += 8;
    if (b) {
      out.set(b, o);
      o += b.length;
    }
  }
  for (const [k, v] of records) {
    dv.setUint32(o, k.length, true);
    out.set(k, o + 4);
    o += 4 + k.length;
    dv.setUint32(o, v === null ? NONE : v.length, true);
    o += 4;
    if (v) {
      out.set(v, o);
      o += v.length;
    }
  }
  dv.setUint32(0, E_MAGIC, true);
  dv.setUint32(4, n, true);
  dv.setUint32(8, xxh32(out.subarray(ENTRY_HEADER)), true);
  dv.setUint32(12, flags, true);
  return out;
}

/** Parses the entry at `at` of `b` (bounded by `end`); null when it is cut short or damaged. */
export function parseEntry(b: Uint8Array, at: number, end: number): Entry | null {
  if (at + ENTRY_HEADER > end) return null;
  const dv = view(b);
  const len = dv.getUint32(at + 4, true);
  if (dv.getUint32(at, true) !== E_MAGIC || len < 12 || at + ENTRY_HEADER + len > end) return null;
  const payload = b.subarray(at + ENTRY_HEADER, at + ENTRY_HEADER + len);
  if (xxh32(payload) !== dv.getUint32(at + 8, true)) return null;
  const flags = dv.getUint32(at + 12, true);
  let o = at + ENTRY_HEADER;
  const stop = o + len;
  const pageSize = dv.getUint32(o, true), np = dv.getUint32(o + 4, true), nr = dv.getUint32(o + 8, true);
  o += 12;
  const pages: Entry["pages"] = [];
  const records: Entry["records"] = [];
  const td = new TextDecoder();
  for (let i = 0; i < np; i++) {
    if (o + 8 > stop) return null;
    const pgno = dv.getUint32(o, true), n = dv.getUint32(o + 4, true);
    o += 8;
    if (n === NONE) {
      pages.push([pgno, NONE, 0]);
      continue;
    }
    if (n !== pageSize || o + n > stop) return null;
    pages.push([pgno, o - at, n]);
    o += n;
  }
  for (let i = 0; i < nr; i++) {
    if (o + 4 > stop) return null;
    const kl = dv.getUint32(o, true);
    if (o + 4 + kl + 4 > stop) return null;
    const key = td.decode(b.subarray(o + 4, o + 4 + kl));
    o += 4 + kl;
    const n = dv.getUint32(o, true);
    o += 4;
    if (n === NONE) {
      records.push([key, NONE, 0]);
      continue;
    }
    if (o + n > stop) return null;
    records.push([key, o - at, n]);
    o += n;
  }
  if (o !== stop) return null;
  return { flags, pageSize, pages, records, size: ENTRY_HEADER + len };
}

/** A DataView over exactly the bytes of `b`. */
export function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
