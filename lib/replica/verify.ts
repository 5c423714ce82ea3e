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
import { isLtxError, type ErrorCode } from "../errors.ts";
import type { Header } from "../ltx/header.ts";
import { formatTXID } from "../ltx/txid.ts";
import { compareFileInfo, SNAPSHOT_LEVEL, type FileInfo } from "./file-info.ts";
import { integrityCheck, type IntegrityMode } from "./integrity.ts";
import { planFromListings } from "./plan.ts";
import type { Replica } from "./replica.ts";
import { restore } from "./restore.ts";
import { BytesSink, type PageSink } from "./sinks.ts";
import { checkFile, compareCompaction, describeTime, name, VANISHED } from "./verify-files.ts";
import { VERIFY_FINDING_SEVERITY, type VerifyFinding, type VerifyFindingKind, type VerifyOptions, type VerifyReport, type VerifyProgress } from "./verify-types.ts";

export { VERIFY_FINDING_SEVERITY, type VerifyFinding, type VerifyFindingKind, type VerifyLevelSummary, type VerifyOptions, type VerifyProgress, type VerifyReport } from "./verify-types.ts";

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

