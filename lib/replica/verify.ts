/**
 * Whole-replica verification (spec: litestream-replica.md §1–2, §4–5): every file decoded in full
 * with its checksum; the header rules of a Litestream replica; TXID contiguity within each level
 * and across levels; each compacted file compared page by page with the merge of what it covers in
 * the level below; snapshots checked for completeness; the latest restore run (with an integrity
 * check when sqlite-wasm is given); orphaned temporary objects and files no restore can reach.
 *
 * Files are streamed, one page buffer per open decoder, so memory does not grow with file sizes;
 * only the latest restore's integrity check holds the database in memory (bounded, see
 * `maxIntegrityBytes`).
 */
import { LtxError, isLtxError, type ErrorCode } from "../errors.ts";
import { lockPgno } from "../ltx/checksum.ts";
import { Compactor } from "../ltx/compactor.ts";
import { Decoder } from "../ltx/decoder.ts";
import { HEADER_FLAG_NO_CHECKSUM, isNoChecksum, type Header } from "../ltx/header.ts";
import { pageOrderError, snapshotEndError } from "../ltx/page-rules.ts";
import { formatTXID } from "../ltx/txid.ts";
import { compareFileInfo, SNAPSHOT_LEVEL, type FileInfo } from "./file-info.ts";
import { integrityCheck, type IntegrityMode, type SqliteWasm } from "./integrity.ts";
import { planFromListings } from "./plan.ts";
import type { Replica } from "./replica.ts";
import { restore } from "./restore.ts";
import { BytesSink, type PageSink } from "./sinks.ts";

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

const DEFAULT_SAMPLE = 4;
/** Inputs read at once to compare one compacted file (each an open stream); more are not compared. */
const MAX_COMPARE_INPUTS = 256;
const DEFAULT_MAX_FILE_BYTES = 2 ** 40;
const MIN_PLAUSIBLE_MS = Date.UTC(2000, 0, 1);
const FUTURE_SLACK_MS = 24 * 3600 * 1000;

/** What the per-file pass learned of one file. */
interface FileCheck {
  info: FileInfo;
  header?: Header;
  /** An error finding concerns this file: it takes part in no further comparison. */
  bad: boolean;
}

/** Verifies a whole replica; see VerifyFindingKind for what is checked. Never throws for what it finds (only for a store that cannot be listed or an abort). */
export async function verifyReplica(replica: Replica, options: VerifyOptions = {}): Promise<VerifyReport> {
  const o = options;
  const findings: VerifyFinding[] = [];
  const add = (kind: VerifyFindingKind, key: string, message: string, extra: { level?: number; code?: ErrorCode } = {}) => {
    const f: VerifyFinding = { kind, severity: VERIFY_FINDING_SEVERITY[kind], key, message };
    if (extra.level !== undefined) f.level = extra.level;
    if (extra.code !== undefined) f.code = extra.code;
    findings.push(f);
  };
  const progress: VerifyProgress = { phase: "list", done: 0, total: SNAPSHOT_LEVEL + 1, bytes: 0 };
  const report = () => o.onProgress?.({ ...progress });

  // 1. Listing, level by level; objects that are not LTX files are classified.
  const levels: FileInfo[][] = [];
  for (let level = 0; level <= SNAPSHOT_LEVEL; level++) {
    const files: FileInfo[] = [];
    for await (const b of replica.store.list(replica.layout.levelPrefix(level), { signal: o.signal })) {
      const k = replica.layout.parseKey(b.key);
      if (k && k.level === level) {
        files.push({ level, minTXID: k.minTXID, maxTXID: k.maxTXID, size: b.size, createdAt: b.lastModified, key: b.key });
        continue;
      }
      const name = b.key.slice(b.key.lastIndexOf("/") + 1);
      if (name.endsWith(".tmp") || name.includes(".ltxkit-tmp-")) add("ORPHAN_TMP", b.key, `temporary object left by an interrupted write (${b.size} bytes)`, { level });
      else add("STRAY_OBJECT", b.key, "object in a level directory whose name is not <min>-<max>.ltx", { level });
    }
    files.sort(compareFileInfo);
    levels.push(files);
    progress.done = level + 1;
    report();
  }
  const all = levels.flat();
  const checks = new Map<string, FileCheck>(all.map((f) => [f.key, { info: f, bad: false }]));
  const flag = (key: string) => {
    const c = checks.get(key);
    if (c) c.bad = true;
  };

  // 2. Every file decoded in full: checksum, header rules, page order, snapshot completeness.
  progress.phase = "files";
  progress.done = 0;
  progress.total = all.length;
  report();
  const maxFileBytes = o.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  let next = 0;
  const perFile: Awaited<ReturnType<typeof checkFile>>["findings"][] = new Array(all.length);
  const worker = async () => {
    while (next < all.length) {
      const i = next++;
      const f = all[i]!;
      const problems = await checkFile(replica, f, maxFileBytes, progress, o.signal);
      if (problems.header) checks.get(f.key)!.header = problems.header;
      perFile[i] = problems.findings;
      progress.done++;
      report();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 4, all.length)) }, worker));
  o.signal?.throwIfAborted();
  // In listing order, whatever order the workers finished in.
  for (const [i, f] of all.entries()) {
    for (const p of perFile[i]!) {
      add(p.kind, f.key, p.message, { level: f.level, ...(p.code ? { code: p.code } : {}) });
      if (VERIFY_FINDING_SEVERITY[p.kind] === "error" || p.kind === "VANISHED") checks.get(f.key)!.bad = true;
    }
  }

  // Page size: the most common one; files with another are flagged.
  const sizes = new Map<number, number>();
  for (const c of checks.values()) if (c.header) sizes.set(c.header.pageSize, (sizes.get(c.header.pageSize) ?? 0) + 1);
  let pageSize = 0;
  for (const [ps, n] of sizes) if (n > (sizes.get(pageSize) ?? 0)) pageSize = ps;
  for (const f of all) {
    const c = checks.get(f.key)!;
    if (c.header && c.header.pageSize !== pageSize) {
      add("PAGE_SIZE_MISMATCH", f.key, `page size ${c.header.pageSize}, the rest of the replica has ${pageSize}`, { level: f.level });
      c.bad = true;
    }
  }

  // 3. Ranges and order within each level, timestamps.
  const gaps: { level: number; index: number; message: string }[] = [];
  const now = (o.now ?? new Date()).getTime();
  for (let level = 0; level <= SNAPSHOT_LEVEL; level++) {
    let prev: FileInfo | undefined;
    let prevTs: number | undefined;
    for (const f of levels[level]!) {
      if (level === 0 && f.minTXID !== f.maxTXID) {
        add("BAD_RANGE", f.key, `L0 file spans TXIDs ${formatTXID(f.minTXID)}..${formatTXID(f.maxTXID)}; L0 files hold one TXID each`, { level });
        flag(f.key);
      }
      if (level === SNAPSHOT_LEVEL && f.minTXID !== 1n) {
        add("BAD_RANGE", f.key, `snapshot starts at TXID ${formatTXID(f.minTXID)}; snapshots start at TXID 1`, { level });
        flag(f.key);
      }
      if (prev && level !== SNAPSHOT_LEVEL) {
        if (f.minTXID > prev.maxTXID + 1n) {
          gaps.push({ level, index: levels[level]!.indexOf(f), message: `TXIDs ${formatTXID(prev.maxTXID + 1n)}..${formatTXID(f.minTXID - 1n)} missing from level ${level} between ${name(prev)} and ${name(f)}` });
        } else if (f.minTXID <= prev.maxTXID) {
          add("LEVEL_OVERLAP", f.key, `${name(f)} overlaps ${name(prev)} in level ${level}`, { level });
        }
      }
      // The file reaching furthest so far is what the next one must continue.
      if (prev && f.maxTXID < prev.maxTXID) {
        const ts = checks.get(f.key)!.header?.timestamp;
        if (ts !== undefined && (ts < MIN_PLAUSIBLE_MS || ts > now + FUTURE_SLACK_MS)) add("TIMESTAMP", f.key, `implausible header timestamp ${describeTime(ts)}`, { level });
        continue;
      }
      const ts = checks.get(f.key)!.header?.timestamp;
      if (ts !== undefined) {
        if (ts < MIN_PLAUSIBLE_MS || ts > now + FUTURE_SLACK_MS) {
          add("TIMESTAMP", f.key, `implausible header timestamp ${describeTime(ts)}`, { level });
        } else if (prevTs !== undefined && ts < prevTs) {
          add("TIMESTAMP", f.key, `header timestamp ${describeTime(ts)} is older than the previous file's of level ${level} (${describeTime(prevTs)})`, { level });
        }
        prevTs = ts;
      }
      prev = f;
    }
  }
  if (all.length === 0) add("NO_BACKUPS", "", "the replica holds no LTX files");

  // 4. Reachability: a file is usable by some restore when a chain from TXID 1 ends within its range
  //    (restore accepts a file whose MinTXID ≤ end + 1 and MaxTXID > end). Ends only grow with
  //    MaxTXID, so one pass in MaxTXID order settles it.
  const byMax = [...all].sort((a, b) => (a.maxTXID !== b.maxTXID ? (a.maxTXID < b.maxTXID ? -1 : 1) : compareFileInfo(a, b)));
  const ends: bigint[] = [0n];
  const unreachable = new Set<string>();
  for (const f of byMax) {
    if (hasEndIn(ends, f.minTXID - 1n, f.maxTXID - 1n)) {
      if (ends[ends.length - 1]! < f.maxTXID) ends.push(f.maxTXID);
    } else unreachable.add(f.key);
  }
  // The newest TXID a restore can reach must be in L0 (a disconnected file is reported as such).
  const newest = all.reduce<FileInfo | undefined>((m, f) => (!unreachable.has(f.key) && (!m || f.maxTXID > m.maxTXID) ? f : m), undefined);
  const l0Max = levels[0]!.reduce((m, f) => (f.maxTXID > m ? f.maxTXID : m), 0n);
  if (newest && l0Max < newest.maxTXID) {
    add("L0_BEHIND", newest.key, `level 0 ends at TXID ${formatTXID(l0Max)}, ${name(newest)} (level ${newest.level}) at ${formatTXID(newest.maxTXID)}: a Litestream writer resumes from L0's newest TXID and would reuse TXIDs`, { level: newest.level });
  }
  // A gap strands the files right after it that nothing else reaches: the gap's finding names them.
  for (const g of gaps) {
    const files = levels[g.level]!;
    const stranded: FileInfo[] = [];
    for (let i = g.index; i < files.length && unreachable.has(files[i]!.key); i++) stranded.push(files[i]!);
    for (const f of stranded) unreachable.delete(f.key);
    const tail = stranded.length ? `; it leaves ${stranded.map(name).join(", ")} unreachable by any restore` : "";
    add("LEVEL_GAP", files[g.index]!.key, g.message + tail, { level: g.level });
  }
  for (const f of byMax) {
    // Files with an error finding are reported already.
    if (!unreachable.has(f.key) || checks.get(f.key)!.bad) continue;
    add("UNREACHABLE", f.key, `no chain of files from TXID 1 reaches ${name(f)} (level ${f.level}), so no restore can use it`, { level: f.level });
  }

  // 5. Compacted files against the merge of their inputs.
  progress.phase = "compactions";
  progress.done = 0;
  const goodLevels = () => levels.map((files) => files.filter((f) => !checks.get(f.key)!.bad));
  const comparable: { file: FileInfo; inputs: FileInfo[] }[][] = [];
  let uncomparable = 0;
  for (let level = 1; level <= SNAPSHOT_LEVEL; level++) {
    const rows: { file: FileInfo; inputs: FileInfo[] }[] = [];
    // Inputs must be settled before a file uses them, so flags of lower levels are final here.
    for (const f of levels[level]!) {
      if (checks.get(f.key)!.bad) continue;
      const inputs = level === SNAPSHOT_LEVEL ? snapshotInputs(goodLevels(), f) : coverFrom(levels, checks, level, f);
      if (inputs && inputs.length <= MAX_COMPARE_INPUTS) rows.push({ file: f, inputs });
      else uncomparable++;
    }
    comparable.push(rows);
  }
  const chosen = comparable.flatMap((rows) => (o.full ? rows : spread(rows, Math.max(0, o.sample ?? DEFAULT_SAMPLE))));
  progress.total = chosen.length;
  let compared = chosen.length;
  report();
  // Lower levels first: a mismatch found in level N is known before level N+1 picks its inputs.
  for (const { file, inputs } of chosen) {
    let usable = inputs;
    if (inputs.some((i) => checks.get(i.key)!.bad)) {
      const again = file.level === SNAPSHOT_LEVEL ? snapshotInputs(goodLevels(), file) : coverFrom(levels, checks, file.level, file);
      if (!again || again.length > MAX_COMPARE_INPUTS) {
        uncomparable++;
        compared--;
        progress.done++;
        continue;
      }
      usable = again;
    }
    const diff = await compareCompaction(replica, file, usable, progress, o.signal);
    if (diff === VANISHED) {
      compared--;
      uncomparable++;
    } else if (diff) {
      add("COMPACTION_MISMATCH", file.key, `${diff} (compared with the merge of ${usable.length} file${usable.length === 1 ? "" : "s"} from level ${usable.map((i) => i.level).filter((l, i, a) => a.indexOf(l) === i).join(",")})`, { level: file.level });
      flag(file.key);
    }
    progress.done++;
    report();
  }

  // 6. The latest restore, with an integrity check when sqlite-wasm is given.
  progress.phase = "restore";
  progress.done = 0;
  progress.total = 1;
  report();
  const mode: IntegrityMode = o.sqlite3 ? (o.integrity ?? "full") : "none";
  const latest: VerifyReport["latestRestore"] = { status: "skipped", integrity: "none" };
  if (all.length > 0) {
    let plan: FileInfo[] | undefined;
    try {
      plan = planFromListings(levels);
    } catch (e) {
      if (!isLtxError(e)) throw e;
      latest.status = "failed";
      add("RESTORE_FAILED", "", `the latest restore cannot be planned: ${e.message}`, { code: e.code });
    }
    if (plan) {
      const broken = plan.filter((f) => checks.get(f.key)!.bad);
      if (broken.length === 0) {
        await latestRestore(replica, plan, checks, mode, o, latest, add);
      } else {
        // Restore's own plan uses a file reported above; the latest point may still be reachable
        // around it (an older snapshot and the levels below).
        const uses = `${broken.length} file${broken.length === 1 ? "" : "s"} reported above (${broken.map(name).join(", ")})`;
        const end = plan[plan.length - 1]!.maxTXID;
        let around: FileInfo[] | undefined;
        try {
          around = planFromListings(goodLevels(), { txid: end });
        } catch {
          around = undefined;
        }
        if (around && around[0]!.minTXID === 1n && around[around.length - 1]!.maxTXID === end) {
          await latestRestore(replica, around, checks, mode, o, latest, add);
          latest.note = `restore's plan uses ${uses}; restored around ${broken.length === 1 ? "it" : "them"}${latest.note ? `; ${latest.note}` : ""}`;
        } else {
          latest.note = `not run: the plan uses ${uses}, and no chain of sound files reaches TXID ${formatTXID(end)}`;
        }
      }
    }
  }
  progress.done = 1;
  report();

  let bytes = 0;
  for (const f of all) bytes += f.size;
  const errors = findings.filter((f) => f.severity === "error").length;
  return {
    url: replica.url,
    ok: errors === 0,
    findings,
    errors,
    warnings: findings.length - errors,
    files: all.length,
    bytes,
    levels: levels
      .map((files, level) => ({ level, files: files.length, bytes: files.reduce((s, f) => s + f.size, 0), minTXID: files.reduce((m, f) => (m === 0n || f.minTXID < m ? f.minTXID : m), 0n), maxTXID: files.reduce((m, f) => (f.maxTXID > m ? f.maxTXID : m), 0n) }))
      .filter((l) => l.files > 0),
    pageSize,
    maxTXID: all.reduce((m, f) => (f.maxTXID > m ? f.maxTXID : m), 0n),
    compactions: { comparable: comparable.reduce((s, r) => s + r.length, 0), compared, uncomparable },
    latestRestore: latest,
  };
}

function name(f: FileInfo): string {
  return `${formatTXID(f.minTXID)}-${formatTXID(f.maxTXID)}`;
}

function describeTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms` : d.toISOString();
}

/** Is there an end e in the sorted list with lo ≤ e ≤ hi? */
function hasEndIn(ends: readonly bigint[], lo: bigint, hi: bigint): boolean {
  let a = 0, b = ends.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (ends[m]! < lo) a = m + 1;
    else b = m;
  }
  return a < ends.length && ends[a]! <= hi;
}

/** `k` rows spread evenly over `rows`, the last (newest) always among them. */
function spread<T>(rows: readonly T[], k: number): T[] {
  if (k >= rows.length) return [...rows];
  if (k <= 0) return [];
  if (k === 1) return [rows[rows.length - 1]!];
  const out: T[] = [];
  for (let i = 0; i < k; i++) out.push(rows[Math.round((i * (rows.length - 1)) / (k - 1))]!);
  return out;
}

/**
 * The files of the level below `level` that exactly tile `f`'s range (what the compaction that
 * wrote `f` merged), all sound; null when they are gone or broken.
 */
function coverFrom(levels: readonly FileInfo[][], checks: Map<string, FileCheck>, level: number, f: FileInfo): FileInfo[] | null {
  const below = levels[level - 1]!;
  // The level is sorted by (minTXID, maxTXID): binary search for the first file at or after f's start.
  let a = 0, b = below.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (below[m]!.minTXID < f.minTXID) a = m + 1;
    else b = m;
  }
  const inside: FileInfo[] = [];
  for (let i = a; i < below.length && below[i]!.minTXID <= f.maxTXID; i++) if (below[i]!.maxTXID <= f.maxTXID) inside.push(below[i]!);
  if (inside.length === 0 || inside.some((g) => checks.get(g.key)!.bad)) return null;
  let at = f.minTXID;
  for (const g of inside) {
    if (g.minTXID !== at) return null;
    at = g.maxTXID + 1n;
  }
  return at === f.maxTXID + 1n ? inside : null;
}

/** A snapshot's inputs: the restore plan at its TXID over levels 0..8 (sound files only), or null. */
function snapshotInputs(levels: FileInfo[][], f: FileInfo): FileInfo[] | null {
  const lower = levels.map((files, l) => (l === SNAPSHOT_LEVEL ? [] : files));
  try {
    const plan = planFromListings(lower, { txid: f.maxTXID });
    return plan.length > 0 && plan[0]!.minTXID === 1n && plan[plan.length - 1]!.maxTXID === f.maxTXID ? plan : null;
  } catch {
    return null;
  }
}

async function openStream(replica: Replica, f: FileInfo, progress: VerifyProgress, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
  const s = await replica.store.getStream(f.key, undefined, { signal });
  if (!s) throw new LtxError("NOT_FOUND", `${f.key} disappeared while verifying`);
  return counted(s, progress);
}

async function* counted(s: ReadableStream<Uint8Array>, progress: VerifyProgress): AsyncGenerator<Uint8Array> {
  const r = s.getReader();
  try {
    for (;;) {
      const { done, value } = await r.read();
      if (done) return;
      progress.bytes += value.length;
      yield value;
    }
  } finally {
    await r.cancel().catch(() => {});
  }
}

/** Decodes one file in full; the findings it yields (kinds and messages) and its header. */
async function checkFile(
  replica: Replica,
  f: FileInfo,
  maxFileBytes: number,
  progress: VerifyProgress,
  signal?: AbortSignal,
): Promise<{ header?: Header; findings: { kind: VerifyFindingKind; message: string; code?: ErrorCode }[] }> {
  const out: { kind: VerifyFindingKind; message: string; code?: ErrorCode }[] = [];
  if (f.size > maxFileBytes) return { findings: [{ kind: "CORRUPT_FILE", message: `${f.size} bytes exceeds the bound of ${maxFileBytes}`, code: "LIMIT_EXCEEDED" }] };
  let header: Header | undefined;
  let order: LtxError | null = null;
  let dec: Decoder | undefined;
  try {
    dec = new Decoder(await openStream(replica, f, progress, signal), { maxFileBytes });
    header = await dec.readHeader();
    const lock = lockPgno(header.pageSize);
    let prev = 0;
    for (;;) {
      let p = dec.tryReadPageView();
      if (p === undefined) p = await dec.readPageView();
      if (!p) break;
      if (!order) order = pageOrderError(header, lock, prev, p.pgno);
      prev = p.pgno;
    }
    if (!order) order = snapshotEndError(header, lock, prev);
    const { trailer } = await dec.close();
    if (header.minTXID !== f.minTXID || header.maxTXID !== f.maxTXID) {
      out.push({ kind: "NAME_MISMATCH", message: `the name says TXIDs ${name(f)}, the header ${formatTXID(header.minTXID)}-${formatTXID(header.maxTXID)}` });
    }
    if (!isNoChecksum(header)) out.push({ kind: "CHECKSUM_FLAGS", message: `header flags 0x${header.flags.toString(16)} lack NoChecksum (0x2): Go's restore and compaction reject checksum-tracked files` });
    if (isNoChecksum(header) && trailer.postApplyChecksum !== 0n) out.push({ kind: "CHECKSUM_FLAGS", message: "a NoChecksum file carries a post-apply checksum" });
    if (order) {
      const snapshot = header.minTXID === 1n && /snapshot/.test(order.message);
      out.push({ kind: snapshot ? "SNAPSHOT_INCOMPLETE" : "PAGE_ORDER", message: order.message });
    }
  } catch (e) {
    await dec?.cancel().catch(() => {});
    if (!isLtxError(e) || e.code === "ABORTED") throw e;
    if (e.code === "STORE_ERROR" || e.code === "STORE_AUTH" || e.code === "TIMEOUT") throw e;
    if (e.code === "NOT_FOUND" && !header) return { findings: [{ kind: "VANISHED", message: "listed, but gone when read (deleted meanwhile)" }] };
    out.push({ kind: "CORRUPT_FILE", message: e.message, code: e.code });
    return { findings: out };
  }
  return header ? { header, findings: out } : { findings: out };
}

/** What compareCompaction returns when a file was deleted meanwhile. */
const VANISHED = "\0vanished";

/** Merges `inputs` and compares with `file`: null when equal, else what differs first (or VANISHED). */
async function compareCompaction(replica: Replica, file: FileInfo, inputs: readonly FileInfo[], progress: VerifyProgress, signal?: AbortSignal): Promise<string | null> {
  const readers: Decoder[] = [];
  let dec: Decoder | undefined;
  try {
    for (const i of inputs) readers.push(new Decoder(await openStream(replica, i, progress, signal)));
    dec = new Decoder(await openStream(replica, file, progress, signal));
    const c = new Compactor(readers, { headerFlags: HEADER_FLAG_NO_CHECKSUM });
    const want = await c.open();
    const got = await dec.readHeader();
    for (const field of ["pageSize", "commit", "minTXID", "maxTXID"] as const) {
      if (want[field] !== got[field]) return `header ${field} is ${String(got[field])}, the merge gives ${String(want[field])}`;
    }
    // Compacted files carry the last input's timestamp; snapshots the time they were taken.
    if (file.level !== SNAPSHOT_LEVEL && want.timestamp !== got.timestamp) return `header timestamp is ${describeTime(got.timestamp)}, the last input's is ${describeTime(want.timestamp)}`;
    for await (const p of c.pages()) {
      let q = dec.tryReadPageView();
      if (q === undefined) q = await dec.readPageView();
      if (!q) return `page ${p.pgno} is missing`;
      if (q.pgno !== p.pgno) return q.pgno < p.pgno ? `page ${q.pgno} is not in the merge` : `page ${p.pgno} is missing`;
      if (!equalBytes(p.data, q.data)) return `page ${p.pgno} differs from the merge`;
    }
    let q = dec.tryReadPageView();
    if (q === undefined) q = await dec.readPageView();
    if (q) return `page ${q.pgno} is not in the merge`;
    await dec.close();
    return null;
  } catch (e) {
    if (!isLtxError(e) || e.code === "ABORTED" || e.code === "STORE_ERROR" || e.code === "STORE_AUTH" || e.code === "TIMEOUT") throw e;
    if (e.code === "NOT_FOUND") return VANISHED;
    return `cannot be compared: ${e.message}`;
  } finally {
    await Promise.all([...readers, ...(dec ? [dec] : [])].map((r) => r.cancel().catch(() => {})));
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A sink that keeps nothing (the restore itself checks page order and completeness). */
class DiscardSink implements PageSink {
  async open(): Promise<void> {}
  async write(): Promise<void> {}
  async commit(): Promise<void> {}
  async abort(): Promise<void> {}
}

async function latestRestore(
  replica: Replica,
  plan: FileInfo[],
  checks: Map<string, FileCheck>,
  mode: IntegrityMode,
  o: VerifyOptions,
  latest: VerifyReport["latestRestore"],
  add: (kind: VerifyFindingKind, key: string, message: string, extra?: { level?: number; code?: ErrorCode }) => void,
): Promise<void> {
  const last = checks.get(plan[plan.length - 1]!.key)!.header;
  const size = last ? last.commit * last.pageSize : 0;
  const max = o.maxIntegrityBytes ?? 1 << 30;
  let run = mode;
  if (run !== "none" && size > max) {
    run = "none";
    latest.note = `no integrity check: the database (${size} bytes) exceeds maxIntegrityBytes (${max})`;
  }
  if (mode === "none") latest.note = o.integrity === "none" ? "no integrity check requested" : "no integrity check: no sqlite-wasm given";
  const sink = run === "none" ? new DiscardSink() : new BytesSink(max);
  latest.files = plan.length;
  try {
    const r = await restore(replica, { plan, sink, ...(o.signal ? { signal: o.signal } : {}) });
    latest.txid = r.txid;
  } catch (e) {
    if (!isLtxError(e) || e.code === "ABORTED") throw e;
    latest.status = "failed";
    add("RESTORE_FAILED", "", `the latest restore (${plan.length} files, to TXID ${formatTXID(plan[plan.length - 1]!.maxTXID)}) failed: ${e.message}`, { code: e.code });
    return;
  }
  latest.status = "ok";
  if (run === "none" || !(sink instanceof BytesSink)) return;
  latest.integrity = run;
  const problems = await integrityCheck(sink.bytes(), run, o.sqlite3!);
  if (problems.length) {
    latest.status = "failed";
    add("INTEGRITY_FAILED", "", `PRAGMA ${run === "quick" ? "quick_check" : "integrity_check"} of the latest restore (TXID ${formatTXID(latest.txid!)}): ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? ` (${problems.length} problems)` : ""}`);
  }
}
