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
  // Years 1970-9999 by integer arithmetic (Date#toISOString costs microseconds, and every L0 upload
  // formats one); others through toISOString.
  if (!(Number.isSafeInteger(ms) && ms >= 0 && ms < 253402300800000)) {
    const [base, frac] = new Date(ms).toISOString().slice(0, -1).split(".");
    const f = (frac ?? "").replace(/0+$/, "");
    return f ? `${base}.${f}Z` : `${base}Z`;
  }
  const days = Math.floor(ms / 86400000);
  let rest = ms - days * 86400000;
  const msec = rest % 1000;
  rest = (rest - msec) / 1000;
  const sec = rest % 60;
  rest = (rest - sec) / 60;
  const min = rest % 60;
  const hour = (rest - min) / 60;
  // Civil date from days since 1970-01-01 (Howard Hinnant's days_from_civil, inverted).
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const d2 = (n: number) => (n < 10 ? "0" + n : "" + n);
  let out = `${year}-${d2(month)}-${d2(day)}T${d2(hour)}:${d2(min)}:${d2(sec)}`;
  if (msec !== 0) {
    const f = msec % 100 === 0 ? msec / 100 : msec % 10 === 0 ? (msec < 100 ? "0" : "") + msec / 10 : (msec < 10 ? "00" : msec < 100 ? "0" : "") + msec;
    out += "." + f;
  }
  return out + "Z";
}

/** RFC 3339 at second precision, UTC (what `litestream ltx -json` prints). */
export function formatRFC3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}
