/**
 * The checks of whole-replica verification that need the listing and the headers but no further
 * reads: TXID ranges and order within each level, header timestamps, which files some restore can
 * reach from TXID 1, and which files of the level below a compacted file merged.
 */
import type { ErrorCode } from "../errors.ts";
import type { Header } from "../ltx/header.ts";
import { formatTXID } from "../ltx/txid.ts";
import { compareFileInfo, SNAPSHOT_LEVEL, type FileInfo } from "./file-info.ts";
import { planFromListings } from "./plan.ts";
import { describeTime, name } from "./verify-files.ts";
import type { VerifyFindingKind } from "./verify-types.ts";

const MIN_PLAUSIBLE_MS = Date.UTC(2000, 0, 1);
const FUTURE_SLACK_MS = 24 * 3600 * 1000;

/** What the per-file pass learned of one file. */
export interface FileCheck {
  info: FileInfo;
  header?: Header;
  /** An error finding concerns this file: it takes part in no further comparison. */
  bad: boolean;
}

/** Records a finding. */
export type AddFinding = (kind: VerifyFindingKind, key: string, message: string, extra?: { level?: number; code?: ErrorCode }) => void;

/** A TXID gap within one level, found by `checkRanges` and reported by `checkReachability`. */
export interface LevelGap {
  level: number;
  /** Index in the level of the file after the gap. */
  index: number;
  message: string;
}

/**
 * Ranges and order within each level, and header timestamps: BAD_RANGE, LEVEL_OVERLAP and
 * TIMESTAMP findings. Returns the gaps, which `checkReachability` reports with the files they strand.
 */
export function checkRanges(levels: readonly FileInfo[][], checks: Map<string, FileCheck>, now: number, add: AddFinding): LevelGap[] {
  const gaps: LevelGap[] = [];
  const implausible = (ts: number) => ts < MIN_PLAUSIBLE_MS || ts > now + FUTURE_SLACK_MS;
  for (let level = 0; level <= SNAPSHOT_LEVEL; level++) {
    let prev: FileInfo | undefined;
    let prevTs: number | undefined;
    for (const [index, f] of levels[level]!.entries()) {
      const c = checks.get(f.key)!;
      if (level === 0 && f.minTXID !== f.maxTXID) {
        add("BAD_RANGE", f.key, `L0 file spans TXIDs ${formatTXID(f.minTXID)}..${formatTXID(f.maxTXID)}; L0 files hold one TXID each`, { level });
        c.bad = true;
      }
      if (level === SNAPSHOT_LEVEL && f.minTXID !== 1n) {
        add("BAD_RANGE", f.key, `snapshot starts at TXID ${formatTXID(f.minTXID)}; snapshots start at TXID 1`, { level });
        c.bad = true;
      }
      if (prev && level !== SNAPSHOT_LEVEL) {
        if (f.minTXID > prev.maxTXID + 1n) {
          gaps.push({ level, index, message: `TXIDs ${formatTXID(prev.maxTXID + 1n)}..${formatTXID(f.minTXID - 1n)} missing from level ${level} between ${name(prev)} and ${name(f)}` });
        } else if (f.minTXID <= prev.maxTXID) {
          add("LEVEL_OVERLAP", f.key, `${name(f)} overlaps ${name(prev)} in level ${level}`, { level });
        }
      }
      const ts = c.header?.timestamp;
      // The file reaching furthest so far is what the next one must continue, and whose timestamp
      // the next one's is compared with.
      if (prev && f.maxTXID < prev.maxTXID) {
        if (ts !== undefined && implausible(ts)) add("TIMESTAMP", f.key, `implausible header timestamp ${describeTime(ts)}`, { level });
        continue;
      }
      if (ts !== undefined) {
        if (implausible(ts)) {
          add("TIMESTAMP", f.key, `implausible header timestamp ${describeTime(ts)}`, { level });
        } else if (prevTs !== undefined && ts < prevTs) {
          add("TIMESTAMP", f.key, `header timestamp ${describeTime(ts)} is older than the previous file's of level ${level} (${describeTime(prevTs)})`, { level });
        }
        prevTs = ts;
      }
      prev = f;
    }
  }
  return gaps;
}

/**
 * Reachability: a file is usable by some restore when a chain from TXID 1 ends within its range
 * (restore accepts a file whose MinTXID ≤ end + 1 and MaxTXID > end). Ends only grow with MaxTXID,
 * so one pass in MaxTXID order settles it. Reports L0_BEHIND, LEVEL_GAP (naming the files a gap
 * strands) and UNREACHABLE for the rest, except files already reported with an error.
 */
export function checkReachability(levels: readonly FileInfo[][], checks: Map<string, FileCheck>, gaps: readonly LevelGap[], add: AddFinding): void {
  const all = levels.flat();
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
    if (!unreachable.has(f.key) || checks.get(f.key)!.bad) continue;
    add("UNREACHABLE", f.key, `no chain of files from TXID 1 reaches ${name(f)} (level ${f.level}), so no restore can use it`, { level: f.level });
  }
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

/**
 * What a compacted file merged, all sound, or null when that is gone or broken: for a snapshot, the
 * restore plan at its TXID over levels 0..8; for level 1..8, the files of the level below that
 * exactly tile its range.
 */
export function compactionInputs(levels: readonly FileInfo[][], checks: Map<string, FileCheck>, f: FileInfo): FileInfo[] | null {
  return f.level === SNAPSHOT_LEVEL ? snapshotInputs(levels, checks, f) : coverFrom(levels, checks, f);
}

function coverFrom(levels: readonly FileInfo[][], checks: Map<string, FileCheck>, f: FileInfo): FileInfo[] | null {
  const below = levels[f.level - 1]!;
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

function snapshotInputs(levels: readonly FileInfo[][], checks: Map<string, FileCheck>, f: FileInfo): FileInfo[] | null {
  const lower = levels.map((files, l) => (l === SNAPSHOT_LEVEL ? [] : files.filter((g) => !checks.get(g.key)!.bad)));
  try {
    const plan = planFromListings(lower, { txid: f.maxTXID });
    return plan.length > 0 && plan[0]!.minTXID === 1n && plan[plan.length - 1]!.maxTXID === f.maxTXID ? plan : null;
  } catch {
    return null;
  }
}
