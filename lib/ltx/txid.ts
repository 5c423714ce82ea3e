/**
 * TXIDs, checksums as text, LTX filenames and positions, formatted and parsed exactly as
 * superfly/ltx does (`%016x`, lowercase-only filenames).
 */
import { LtxError } from "../errors.ts";

const U64_MAX = (1n << 64n) - 1n;
const HEX16 = /^[0-9a-fA-F]{16}$/;
const FILENAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.ltx$/;

/** `%016x`: 16 lowercase hex digits. */
export function formatTXID(txid: bigint): string {
  if (txid < 0n || txid > U64_MAX) throw new LtxError("INVALID_ARGUMENT", `TXID out of range: ${txid}`);
  return txid.toString(16).padStart(16, "0");
}

/** Parses exactly 16 hex digits (either case, as Go's ParseTXID). */
export function parseTXID(s: string): bigint {
  if (!HEX16.test(s)) throw new LtxError("INVALID_ARGUMENT", `invalid formatted transaction id: ${JSON.stringify(s)} (want 16 hex digits)`);
  return BigInt("0x" + s);
}

/** Checksums share the TXID text form. */
export const formatChecksum = formatTXID;
/** Parses a checksum written as 16 hex digits. */
export function parseChecksum(s: string): bigint {
  if (!HEX16.test(s)) throw new LtxError("INVALID_ARGUMENT", `invalid formatted checksum: ${JSON.stringify(s)} (want 16 hex digits)`);
  return BigInt("0x" + s);
}

/** `<min>-<max>.ltx` with 16 lowercase hex digits each. */
export function formatFilename(minTXID: bigint, maxTXID: bigint): string {
  return `${formatTXID(minTXID)}-${formatTXID(maxTXID)}.ltx`;
}

/** Parses a base name; returns null when it is not an LTX filename (listings skip such names). */
export function tryParseFilename(name: string): { minTXID: bigint; maxTXID: bigint } | null {
  const m = FILENAME.exec(name);
  if (!m) return null;
  return { minTXID: BigInt("0x" + m[1]), maxTXID: BigInt("0x" + m[2]) };
}

/** Like tryParseFilename, but throws INVALID_ARGUMENT. */
export function parseFilename(name: string): { minTXID: bigint; maxTXID: bigint } {
  const r = tryParseFilename(name);
  if (!r) throw new LtxError("INVALID_ARGUMENT", `invalid ltx filename: ${JSON.stringify(name)}`);
  return r;
}

/** A replication position: the TXID and the database checksum after it. */
export interface Pos {
  txid: bigint;
  postApplyChecksum: bigint;
}

/** `<txid16>/<checksum16>`. */
export function formatPos(p: Pos): string {
  return `${formatTXID(p.txid)}/${formatChecksum(p.postApplyChecksum)}`;
}

/** Parses a Pos; like Go it checks the length and both halves but not the separator. */
export function parsePos(s: string): Pos {
  if (s.length !== 33) throw new LtxError("INVALID_ARGUMENT", `invalid formatted position: ${JSON.stringify(s)}`);
  return { txid: parseTXID(s.slice(0, 16)), postApplyChecksum: parseChecksum(s.slice(17)) };
}

/** RFC 3339 with milliseconds, UTC (Go's RFC3339Milli). */
export function formatTimestampMilli(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * RFC 3339 with nanoseconds as Go's time.RFC3339Nano prints it: trailing zeros of the fraction are
 * dropped, and no fraction at all when it is zero. Used for `x-amz-meta-litestream-timestamp`.
 */
export function formatRFC3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-01-02T03:04:05.678Z (or ±YYYYYY-… outside years 0-9999)
  const dot = iso.length - 5;
  if (iso.charCodeAt(dot) !== 0x2e) {
    const [base, frac] = iso.slice(0, -1).split(".");
    const f = (frac ?? "").replace(/0+$/, "");
    return f ? `${base}.${f}Z` : `${base}Z`;
  }
  // Drop the fraction's trailing zeros (and the dot with them when all three are).
  let end = iso.length - 1;
  while (end > dot + 1 && iso.charCodeAt(end - 1) === 0x30) end--;
  if (end === dot + 1) end = dot;
  return end === iso.length - 1 ? iso : iso.slice(0, end) + "Z";
}

/** RFC 3339 at second precision, UTC (what `litestream ltx -json` prints). */
export function formatRFC3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}
