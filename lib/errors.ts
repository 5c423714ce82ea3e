/**
 * The one error class of ltxkit. Every failure the library reports is an `LtxError` whose `code` is
 * stable (safe to branch on) and whose message says what failed and why. Messages never carry
 * credentials or signed URLs.
 *
 * @module
 */

/** Stable error codes. New codes may be added; existing ones never change meaning. */
export const ERROR_CODES = [
  // LTX format
  "INVALID_LTX_FILE", // bad magic: not an LTX file
  "INVALID_HEADER", // a header field breaks a rule of Header.Validate
  "INVALID_PAGE_HEADER", // pgno 0 with flags, or unknown page flags
  "INVALID_PAGE", // a page breaks an encoder rule (order, bounds, lock page, size, snapshot contiguity)
  "INVALID_PAGE_INDEX", // malformed or inconsistent page index
  "INVALID_TRAILER", // a trailer field breaks a rule of Trailer.Validate
  "CORRUPT_LZ4", // malformed LZ4 block or frame
  "CHECKSUM_MISMATCH", // file checksum, LZ4 content checksum or post-apply checksum does not match
  "UNEXPECTED_EOF", // input ended early
  "TRAILING_DATA", // bytes after the trailer (strict mode)
  "INVALID_STATE", // a call out of order on an encoder, decoder or compactor
  "INVALID_ARGUMENT", // a caller passed something malformed
  "LIMIT_EXCEEDED", // an untrusted length exceeds a bound
  "PAGE_SIZE_MISMATCH", // inputs of a compaction or restore disagree on page size
  "NON_CONTIGUOUS", // TXID ranges have a gap
  // SQLite WAL
  "INVALID_WAL", // a SQLite WAL header or frame is malformed (magic, version, page size, checksum, salts)
  // replica
  "TX_NOT_AVAILABLE", // no backup files reach the requested point
  "NO_BACKUPS", // the replica holds no LTX files
  "OUTPUT_EXISTS", // a restore target already exists
  "INTEGRITY_CHECK_FAILED", // PRAGMA quick_check / integrity_check did not return ok
  "INVALID_URL", // a replica URL cannot be parsed
  "REPLICA_MISMATCH", // a replica's TXIDs do not continue the local chain (a replica of another database)
  // leases (lock.json)
  "LEASE_HELD", // another writer holds an unexpired lease on the replica
  "LEASE_LOST", // this writer's lease expired or was taken; it stopped writing to the replica
  "INVALID_LEASE", // a lock.json object is malformed
  // stores
  "NOT_FOUND", // a key that must exist does not
  "PRECONDITION_FAILED", // a conditional write lost (If-None-Match / If-Match)
  "STORE_ERROR", // a store request failed (status, network)
  "STORE_AUTH", // credentials rejected
  "TIMEOUT", // a request exceeded its deadline
  "ABORTED", // the caller aborted
  "IO_ERROR", // a local file operation failed
  "UNSUPPORTED", // a feature is missing on this runtime or backend
  // CLI
  "INVALID_CONFIG", // a configuration file is missing, malformed or names an unknown key
] as const;

/** One of ERROR_CODES. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Options of the LtxError constructor. */
export interface LtxErrorOptions {
  cause?: unknown;
  /** Extra machine-readable context (never secrets). */
  details?: Record<string, unknown>;
}

/** The error class of ltxkit. `code` is stable; `message` is for people. */
export class LtxError extends Error {
  override readonly name = "LtxError";
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: LtxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.details) this.details = options.details;
  }

  /** Returns a copy whose message is prefixed with context, keeping code and cause. */
  wrap(prefix: string): LtxError {
    const e = new LtxError(this.code, `${prefix}: ${this.message}`, { cause: this.cause, details: this.details });
    return e;
  }
}

/**
 * True when `e` is an LtxError, optionally with the given code. Recognises errors by `name` and
 * `code`, not `instanceof`, so errors thrown by another copy of ltxkit (npm and JSR side by side, two
 * versions, another realm) are recognised too.
 */
export function isLtxError(e: unknown, code?: ErrorCode): e is LtxError {
  if (typeof e !== "object" || e === null) return false;
  const o = e as { name?: unknown; code?: unknown; message?: unknown };
  if (o.name !== "LtxError" || typeof o.code !== "string" || typeof o.message !== "string") return false;
  return code === undefined || o.code === code;
}

/** Prefixes an LtxError's message; converts anything else into an LtxError of `fallback` code. */
export function wrapError(e: unknown, prefix: string, fallback: ErrorCode = "INVALID_ARGUMENT"): LtxError {
  if (isLtxError(e)) return new LtxError(e.code, `${prefix}: ${e.message}`, { cause: e.cause, details: e.details });
  const msg = e instanceof Error ? e.message : String(e);
  return new LtxError(fallback, `${prefix}: ${msg}`, { cause: e });
}
