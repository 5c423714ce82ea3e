/**
 * The object file format of OpfsStore (opfs.ts).
 *
 * Each file holds an 8-byte header (`LTXO`, then the length of a JSON block as a
 * little-endian u32), the JSON block (`etag`, `mtime` in ms, `metadata`, `contentType`) and the
 * object's bytes. Data and metadata are therefore written together in one atomic step. The ETag is
 * minted per put (time and randomness), so every write gets a new one.
 *
 * A file that does not start with the header, or whose metadata is not that JSON, is an IO_ERROR
 * naming the key; an empty file is an object whose put has not committed (absent to every read).
 *
 * @module
 */
import { LtxError } from "../errors.ts";
import type { OpfsFile, OpfsFileHandle } from "./opfs.ts";

const MAGIC = 0x4f58544c; // "LTXO" read as little-endian u32
const HEADER = 8;
const MAX_META = 64 * 1024;

/** The JSON block of an object file. */
export interface Meta {
  etag: string;
  mtime: number;
  metadata: Record<string, string>;
  contentType?: string;
}

/** A committed object file: its File, metadata, and where its bytes are. */
export interface Found {
  file: OpfsFile;
  meta: Meta;
  /** Offset of the object's first byte in the file. */
  start: number;
  size: number;
}

/** Reads the header of one object file; null when the file is empty (a put not yet committed). */
export async function readObject(fh: OpfsFileHandle, key: string): Promise<Found | null> {
  let file: OpfsFile;
  try {
    file = await fh.getFile();
  } catch (e) {
    if (errName(e) === "NotFoundError") return null;
    throw ioError(`read ${JSON.stringify(key)}`, e);
  }
  if (file.size === 0) return null;
  const first = await readSlice(file, 0, Math.min(file.size, 4096), key);
  const dv = new DataView(first.buffer, first.byteOffset, first.byteLength);
  if (first.length < HEADER || dv.getUint32(0, true) !== MAGIC) throw corrupt(key, "bad magic");
  const n = dv.getUint32(4, true);
  if (n > MAX_META || HEADER + n > file.size) throw corrupt(key, `metadata length ${n}`);
  const json = HEADER + n <= first.length ? first.subarray(HEADER, HEADER + n) : await readSlice(file, HEADER, HEADER + n, key);
  let meta: Meta;
  try {
    meta = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json)) as Meta;
  } catch {
    throw corrupt(key, "metadata is not JSON");
  }
  if (typeof meta?.etag !== "string" || typeof meta.mtime !== "number" || typeof meta.metadata !== "object" || meta.metadata === null) throw corrupt(key, "metadata fields");
  return { file, meta, start: HEADER + n, size: file.size - HEADER - n };
}

/** Bytes [start, end) of an object file; a File gone stale (the object replaced meanwhile) is a STORE_ERROR. */
export async function readSlice(file: OpfsFile, start: number, end: number, key: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await file.slice(start, end).arrayBuffer());
  } catch (e) {
    // A File goes stale when the object is replaced while it is read (NotReadableError).
    throw new LtxError("STORE_ERROR", `read ${JSON.stringify(key)}: ${errName(e) ?? "error"} (the object may have been replaced while it was read)`, { cause: e });
  }
}

/** The header and JSON block of an object file with `meta`. */
export function encodeHeader(meta: Meta): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(meta));
  if (json.length > MAX_META) throw new LtxError("LIMIT_EXCEEDED", `object metadata exceeds ${MAX_META} bytes`);
  const out = new Uint8Array(HEADER + json.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, json.length, true);
  out.set(json, HEADER);
  return out;
}

let etagSeq = 0;
/** A new ETag (time, a counter and randomness): every put gets its own. */
export function mintEtag(): string {
  const r = new Uint32Array(2);
  globalThis.crypto.getRandomValues(r);
  return `o${Date.now().toString(16)}${(++etagSeq & 0xffff).toString(16).padStart(4, "0")}${r[0]!.toString(16).padStart(8, "0")}${r[1]!.toString(16).padStart(8, "0")}`;
}

/** The DOMException name of an OPFS failure, if it has one. */
export function errName(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "name" in e ? String((e as { name: unknown }).name) : undefined;
}

/** An OPFS failure as an LtxError (QuotaExceededError: LIMIT_EXCEEDED; else IO_ERROR). */
export function ioError(what: string, e: unknown): LtxError {
  if (e instanceof LtxError) return e;
  const name = errName(e);
  const code = name === "QuotaExceededError" ? "LIMIT_EXCEEDED" : "IO_ERROR";
  return new LtxError(code, `${what}: ${name ?? "error"}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

function corrupt(key: string, why: string): LtxError {
  return new LtxError("IO_ERROR", `${JSON.stringify(key)}: not an object file of OpfsStore (${why})`);
}
