/** The findings, options and report of whole-replica verification (`verifyReplica`). */
import type { ErrorCode } from "../errors.ts";
import type { IntegrityMode, SqliteWasm } from "./integrity.ts";

/**
 * What a finding is about. Stable: tools may branch on these.
 *
 * Errors (the replica is unsound):
 * - `CORRUPT_FILE`: a file does not decode in full, or its checksum does not match (`code` says why).
 * - `NAME_MISMATCH`: the TXIDs in a file's name differ from those in its header.
 * - `PAGE_SIZE_MISMATCH`: a file's page size differs from the rest of the replica.
 * - `CHECKSUM_FLAGS`: a file lacks the NoChecksum flag, or carries a pre-/post-apply checksum with it
 *   (Go's restore and compaction reject such files).
 * - `BAD_RANGE`: an L0 file spans more than one TXID, or a snapshot (level 9) does not start at TXID 1.
 * - `PAGE_ORDER`: pages out of order, past the commit, or the lock page present.
 * - `SNAPSHOT_INCOMPLETE`: a file starting at TXID 1 lacks some of the pages 1..commit (it cannot
 *   restore).
 * - `LEVEL_GAP`: TXIDs missing between two neighbouring files of one level (retention never leaves holes).
 * - `LEVEL_OVERLAP`: two files of one level (0..8) share TXIDs.
 * - `COMPACTION_MISMATCH`: a compacted file differs from the merge of the files it covers.
 * - `RESTORE_FAILED`: the latest restore cannot be planned or fails.
 * - `INTEGRITY_FAILED`: `PRAGMA integrity_check` (or `quick_check`) of the latest restore is not ok.
 * - `NO_BACKUPS`: the replica holds no LTX file.
 *
 * Warnings (worth a look, not unsound):
 * - `TIMESTAMP`: a header timestamp before 2000, more than a day ahead of now, or older than the
 *   previous file's of the same level.
 * - `UNREACHABLE`: no chain of files from TXID 1 reaches the file (below the snapshot floor, or a
 *   disconnected range), so no restore can use it.
 * - `ORPHAN_TMP`: a temporary object left by an interrupted write.
 * - `STRAY_OBJECT`: an object in a level directory whose name is not an LTX file name.
 * - `L0_BEHIND`: level 0 does not hold the newest TXID (retention keeps the newest L0 file). A
 *   Litestream writer resumes numbering from L0's newest TXID, so it would reuse TXIDs.
 * - `VANISHED`: a listed file was gone when read (a live writer's compaction or retention deleted
 *   it meanwhile); it takes part in no comparison.
 */
export type VerifyFindingKind =
  | "CORRUPT_FILE"
  | "NAME_MISMATCH"
  | "PAGE_SIZE_MISMATCH"
  | "CHECKSUM_FLAGS"
  | "BAD_RANGE"
  | "PAGE_ORDER"
  | "SNAPSHOT_INCOMPLETE"
  | "LEVEL_GAP"
  | "LEVEL_OVERLAP"
  | "COMPACTION_MISMATCH"
  | "RESTORE_FAILED"
  | "INTEGRITY_FAILED"
  | "NO_BACKUPS"
  | "TIMESTAMP"
  | "UNREACHABLE"
  | "ORPHAN_TMP"
  | "STRAY_OBJECT"
  | "L0_BEHIND"
  | "VANISHED";

/** Severity per finding kind: "error" makes a replica unsound, "warning" does not. */
export const VERIFY_FINDING_SEVERITY: Readonly<Record<VerifyFindingKind, "error" | "warning">> = {
  CORRUPT_FILE: "error",
  NAME_MISMATCH: "error",
  PAGE_SIZE_MISMATCH: "error",
  CHECKSUM_FLAGS: "error",
  BAD_RANGE: "error",
  PAGE_ORDER: "error",
  SNAPSHOT_INCOMPLETE: "error",
  LEVEL_GAP: "error",
  LEVEL_OVERLAP: "error",
  COMPACTION_MISMATCH: "error",
  RESTORE_FAILED: "error",
  INTEGRITY_FAILED: "error",
  NO_BACKUPS: "error",
  TIMESTAMP: "warning",
  UNREACHABLE: "warning",
  ORPHAN_TMP: "warning",
  STRAY_OBJECT: "warning",
  L0_BEHIND: "warning",
  VANISHED: "warning",
};

/** One problem found: its kind, severity, the store key it concerns ("" for the whole replica) and a message. */
export interface VerifyFinding {
  kind: VerifyFindingKind;
  severity: "error" | "warning";
  /** The store key of the file or object concerned; "" when the finding is about the whole replica. */
  key: string;
  /** The level of the file, when the key is an LTX file. */
  level?: number;
  message: string;
  /** The LtxError code behind the finding, when one was thrown (CORRUPT_FILE, RESTORE_FAILED). */
  code?: ErrorCode;
}

/** Progress of verifyReplica: the phase, and items done of the phase's total. */
export interface VerifyProgress {
  phase: "list" | "files" | "compactions" | "restore";
  done: number;
  total: number;
  /** Bytes of LTX files decoded so far (all phases). */
  bytes: number;
}

/** Options of verifyReplica. */
export interface VerifyOptions {
  /** Compare every compacted file with its inputs (default: a sample, see `sample`). */
  full?: boolean;
  /** Compacted files compared per level when not `full` (default 4), spread over the level, the newest included. */
  sample?: number;
  /**
   * sqlite-wasm for the integrity check of the latest restore (`loadSqliteWasm()` of a runtime
   * adapter). Without it the latest restore still runs, with no integrity check.
   */
  sqlite3?: SqliteWasm;
  /** Integrity check of the latest restore when `sqlite3` is given (default "full": PRAGMA integrity_check). */
  integrity?: IntegrityMode;
  /** Largest database image held in memory for the integrity check (default 1 GiB); larger ones are restored without it. */
  maxIntegrityBytes?: number;
  /** Bound on one LTX file's size (default 2^40); a larger file is CORRUPT_FILE (LIMIT_EXCEEDED). */
  maxFileBytes?: number;
  /** Files decoded at once (default 4). */
  concurrency?: number;
  /** The current time, for the plausibility of timestamps (default now). */
  now?: Date;
  onProgress?: (p: VerifyProgress) => void;
  signal?: AbortSignal;
}

/** Per level: how many files, their bytes and the TXID range they span. */
export interface VerifyLevelSummary {
  level: number;
  files: number;
  bytes: number;
  minTXID: bigint;
  maxTXID: bigint;
}

/** What verifyReplica found. `ok` is true when no finding is an error. */
export interface VerifyReport {
  /** The replica URL (never with credentials). */
  url: string;
  ok: boolean;
  findings: VerifyFinding[];
  /** Error and warning counts. */
  errors: number;
  warnings: number;
  /** LTX files decoded, and their bytes. */
  files: number;
  bytes: number;
  levels: VerifyLevelSummary[];
  /** The page size of the replica (the most common one), or 0 without files. */
  pageSize: number;
  /** The highest TXID of any file (0n without files). */
  maxTXID: bigint;
  compactions: {
    /** Compacted files (levels 1..9) whose inputs still exist in the level below. */
    comparable: number;
    /** Compared page by page with the merge of their inputs. */
    compared: number;
    /** Compacted files whose inputs are gone (retention), broken, or more than 256, so not compared. */
    uncomparable: number;
  };
  latestRestore: {
    status: "ok" | "failed" | "skipped";
    /** The TXID restored to. */
    txid?: bigint;
    /** Files in the plan. */
    files?: number;
    /** The integrity check run on it ("none" when none ran). */
    integrity: IntegrityMode;
    /** Why it was skipped or ran without an integrity check. */
    note?: string;
  };
}
