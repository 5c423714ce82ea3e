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
import { isLtxError } from "../errors.ts";
import { formatTXID } from "../ltx/txid.ts";
import { compareFileInfo, SNAPSHOT_LEVEL, type FileInfo } from "./file-info.ts";
import { integrityCheck, type IntegrityMode } from "./integrity.ts";
import { planFromListings } from "./plan.ts";
import type { Replica } from "./replica.ts";
import { restore } from "./restore.ts";
import { BytesSink, type PageSink } from "./sinks.ts";
import { checkRanges, checkReachability, compactionInputs, type AddFinding, type FileCheck } from "./verify-chain.ts";
import { checkFile, compareCompaction, name, VANISHED } from "./verify-files.ts";
import { VERIFY_FINDING_SEVERITY, type VerifyFinding, type VerifyOptions, type VerifyReport, type VerifyProgress } from "./verify-types.ts";

export { VERIFY_FINDING_SEVERITY, type VerifyFinding, type VerifyFindingKind, type VerifyLevelSummary, type VerifyOptions, type VerifyProgress, type VerifyReport } from "./verify-types.ts";

const DEFAULT_SAMPLE = 4;
/** Inputs read at once to compare one compacted file (each an open stream); more are not compared. */
const MAX_COMPARE_INPUTS = 256;
const DEFAULT_MAX_FILE_BYTES = 2 ** 40;

/** Verifies a whole replica; see VerifyFindingKind for what is checked. Never throws for what it finds (only for a store that cannot be listed or an abort). */
export async function verifyReplica(replica: Replica, options: VerifyOptions = {}): Promise<VerifyReport> {
  const v = new Verification(replica, options);
  await v.list();
  await v.checkFiles();
  v.checkPageSizes();
  const gaps = checkRanges(v.levels, v.checks, (options.now ?? new Date()).getTime(), v.add);
  if (v.all.length === 0) v.add("NO_BACKUPS", "", "the replica holds no LTX files");
  checkReachability(v.levels, v.checks, gaps, v.add);
  await v.compareCompactions();
  await v.restoreLatest();
  return v.result();
}

/** One verification's state, its passes in the order verifyReplica runs them. */
class Verification {
  readonly replica: Replica;
  readonly o: VerifyOptions;
  readonly findings: VerifyFinding[] = [];
  readonly progress: VerifyProgress = { phase: "list", done: 0, total: SNAPSHOT_LEVEL + 1, bytes: 0 };
  /** The LTX files of each level, sorted. */
  readonly levels: FileInfo[][] = [];
  all: FileInfo[] = [];
  checks = new Map<string, FileCheck>();
  pageSize = 0;
  compactions: VerifyReport["compactions"] = { comparable: 0, compared: 0, uncomparable: 0 };
  latest: VerifyReport["latestRestore"] = { status: "skipped", integrity: "none" };

  constructor(replica: Replica, options: VerifyOptions) {
    this.replica = replica;
    this.o = options;
  }

  add: AddFinding = (kind, key, message, extra = {}) => {
    const f: VerifyFinding = { kind, severity: VERIFY_FINDING_SEVERITY[kind], key, message };
    if (extra.level !== undefined) f.level = extra.level;
    if (extra.code !== undefined) f.code = extra.code;
    this.findings.push(f);
  };

  #report(): void {
    this.o.onProgress?.({ ...this.progress });
  }

  #bad(key: string): boolean {
    return this.checks.get(key)!.bad;
  }

  /** 1. Listing, level by level; objects that are not LTX files are classified. */
  async list(): Promise<void> {
    const { replica, o } = this;
    for (let level = 0; level <= SNAPSHOT_LEVEL; level++) {
      const files: FileInfo[] = [];
      for await (const b of replica.store.list(replica.layout.levelPrefix(level), { signal: o.signal })) {
        const k = replica.layout.parseKey(b.key);
        if (k && k.level === level) {
          files.push({ level, minTXID: k.minTXID, maxTXID: k.maxTXID, size: b.size, createdAt: b.lastModified, key: b.key });
          continue;
        }
        const name = b.key.slice(b.key.lastIndexOf("/") + 1);
        if (name.endsWith(".tmp") || name.includes(".ltxkit-tmp-")) this.add("ORPHAN_TMP", b.key, `temporary object left by an interrupted write (${b.size} bytes)`, { level });
        else this.add("STRAY_OBJECT", b.key, "object in a level directory whose name is not <min>-<max>.ltx", { level });
      }
      files.sort(compareFileInfo);
      this.levels.push(files);
      this.progress.done = level + 1;
      this.#report();
    }
    this.all = this.levels.flat();
    this.checks = new Map(this.all.map((f) => [f.key, { info: f, bad: false }]));
  }

  /** 2. Every file decoded in full: checksum, header rules, page order, snapshot completeness. */
  async checkFiles(): Promise<void> {
    const { all, o, progress } = this;
    progress.phase = "files";
    progress.done = 0;
    progress.total = all.length;
    this.#report();
    const maxFileBytes = o.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    let next = 0;
    const perFile: Awaited<ReturnType<typeof checkFile>>["findings"][] = new Array(all.length);
    const worker = async () => {
      while (next < all.length) {
        const i = next++;
        const f = all[i]!;
        const problems = await checkFile(this.replica, f, maxFileBytes, progress, o.signal);
        if (problems.header) this.checks.get(f.key)!.header = problems.header;
        perFile[i] = problems.findings;
        progress.done++;
        this.#report();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 4, all.length)) }, worker));
    o.signal?.throwIfAborted();
    // In listing order, whatever order the workers finished in.
    for (const [i, f] of all.entries()) {
      for (const p of perFile[i]!) {
        this.add(p.kind, f.key, p.message, { level: f.level, ...(p.code ? { code: p.code } : {}) });
        if (VERIFY_FINDING_SEVERITY[p.kind] === "error" || p.kind === "VANISHED") this.checks.get(f.key)!.bad = true;
      }
    }
  }

  /** The page size: the most common one; files with another are flagged. */
  checkPageSizes(): void {
    const sizes = new Map<number, number>();
    for (const c of this.checks.values()) if (c.header) sizes.set(c.header.pageSize, (sizes.get(c.header.pageSize) ?? 0) + 1);
    let pageSize = 0;
    for (const [ps, n] of sizes) if (n > (sizes.get(pageSize) ?? 0)) pageSize = ps;
    this.pageSize = pageSize;
    for (const f of this.all) {
      const c = this.checks.get(f.key)!;
      if (c.header && c.header.pageSize !== pageSize) {
        this.add("PAGE_SIZE_MISMATCH", f.key, `page size ${c.header.pageSize}, the rest of the replica has ${pageSize}`, { level: f.level });
        c.bad = true;
      }
    }
  }

  /** 5. Compacted files against the merge of their inputs (a sample per level unless `full`). */
  async compareCompactions(): Promise<void> {
    const { levels, o, progress } = this;
    progress.phase = "compactions";
    progress.done = 0;
    const comparable: { file: FileInfo; inputs: FileInfo[] }[][] = [];
    let uncomparable = 0;
    for (let level = 1; level <= SNAPSHOT_LEVEL; level++) {
      const rows: { file: FileInfo; inputs: FileInfo[] }[] = [];
      // Inputs must be settled before a file uses them, so flags of lower levels are final here.
      for (const f of levels[level]!) {
        if (this.#bad(f.key)) continue;
        const inputs = compactionInputs(levels, this.checks, f);
        if (inputs && inputs.length <= MAX_COMPARE_INPUTS) rows.push({ file: f, inputs });
        else uncomparable++;
      }
      comparable.push(rows);
    }
    const chosen = comparable.flatMap((rows) => (o.full ? rows : spread(rows, Math.max(0, o.sample ?? DEFAULT_SAMPLE))));
    progress.total = chosen.length;
    let compared = chosen.length;
    this.#report();
    // Lower levels first: a mismatch found in level N is known before level N+1 picks its inputs.
    for (const { file, inputs } of chosen) {
      let usable = inputs;
      if (inputs.some((i) => this.#bad(i.key))) {
        const again = compactionInputs(levels, this.checks, file);
        if (!again || again.length > MAX_COMPARE_INPUTS) {
          uncomparable++;
          compared--;
          progress.done++;
          continue;
        }
        usable = again;
      }
      const diff = await compareCompaction(this.replica, file, usable, progress, o.signal);
      if (diff === VANISHED) {
        compared--;
        uncomparable++;
      } else if (diff) {
        this.add("COMPACTION_MISMATCH", file.key, `${diff} (compared with the merge of ${usable.length} file${usable.length === 1 ? "" : "s"} from level ${usable.map((i) => i.level).filter((l, i, a) => a.indexOf(l) === i).join(",")})`, { level: file.level });
        this.checks.get(file.key)!.bad = true;
      }
      progress.done++;
      this.#report();
    }
    this.compactions = { comparable: comparable.reduce((s, r) => s + r.length, 0), compared, uncomparable };
  }

  /** 6. The latest restore, with an integrity check when sqlite-wasm is given. */
  async restoreLatest(): Promise<void> {
    const { levels, o, progress, latest } = this;
    progress.phase = "restore";
    progress.done = 0;
    progress.total = 1;
    this.#report();
    if (this.all.length > 0) {
      let plan: FileInfo[] | undefined;
      try {
        plan = planFromListings(levels);
      } catch (e) {
        if (!isLtxError(e)) throw e;
        latest.status = "failed";
        this.add("RESTORE_FAILED", "", `the latest restore cannot be planned: ${e.message}`, { code: e.code });
      }
      if (plan) {
        const broken = plan.filter((f) => this.#bad(f.key));
        if (broken.length === 0) {
          await this.#restore(plan);
        } else {
          // Restore's own plan uses a file reported above; the latest point may still be reachable
          // around it (an older snapshot and the levels below).
          const uses = `${broken.length} file${broken.length === 1 ? "" : "s"} reported above (${broken.map(name).join(", ")})`;
          const end = plan[plan.length - 1]!.maxTXID;
          let around: FileInfo[] | undefined;
          try {
            around = planFromListings(
              levels.map((files) => files.filter((f) => !this.#bad(f.key))),
              { txid: end },
            );
          } catch {
            around = undefined;
          }
          if (around && around[0]!.minTXID === 1n && around[around.length - 1]!.maxTXID === end) {
            await this.#restore(around);
            latest.note = `restore's plan uses ${uses}; restored around ${broken.length === 1 ? "it" : "them"}${latest.note ? `; ${latest.note}` : ""}`;
          } else {
            latest.note = `not run: the plan uses ${uses}, and no chain of sound files reaches TXID ${formatTXID(end)}`;
          }
        }
      }
    }
    progress.done = 1;
    this.#report();
  }

  /** Restores `plan` into a sink that keeps the database only for an integrity check. */
  async #restore(plan: FileInfo[]): Promise<void> {
    const { o, latest } = this;
    const mode: IntegrityMode = o.sqlite3 ? (o.integrity ?? "full") : "none";
    const last = this.checks.get(plan[plan.length - 1]!.key)!.header;
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
      const r = await restore(this.replica, { plan, sink, ...(o.signal ? { signal: o.signal } : {}) });
      latest.txid = r.txid;
    } catch (e) {
      if (!isLtxError(e) || e.code === "ABORTED") throw e;
      latest.status = "failed";
      this.add("RESTORE_FAILED", "", `the latest restore (${plan.length} files, to TXID ${formatTXID(plan[plan.length - 1]!.maxTXID)}) failed: ${e.message}`, { code: e.code });
      return;
    }
    latest.status = "ok";
    if (run === "none" || !(sink instanceof BytesSink)) return;
    latest.integrity = run;
    const problems = await integrityCheck(sink.bytes(), run, o.sqlite3!);
    if (problems.length) {
      latest.status = "failed";
      this.add("INTEGRITY_FAILED", "", `PRAGMA ${run === "quick" ? "quick_check" : "integrity_check"} of the latest restore (TXID ${formatTXID(latest.txid!)}): ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? ` (${problems.length} problems)` : ""}`);
    }
  }

  result(): VerifyReport {
    const { all, levels, findings } = this;
    let bytes = 0;
    for (const f of all) bytes += f.size;
    const errors = findings.filter((f) => f.severity === "error").length;
    return {
      url: this.replica.url,
      ok: errors === 0,
      findings,
      errors,
      warnings: findings.length - errors,
      files: all.length,
      bytes,
      levels: levels
        .map((files, level) => ({ level, files: files.length, bytes: files.reduce((s, f) => s + f.size, 0), minTXID: files.reduce((m, f) => (m === 0n || f.minTXID < m ? f.minTXID : m), 0n), maxTXID: files.reduce((m, f) => (f.maxTXID > m ? f.maxTXID : m), 0n) }))
        .filter((l) => l.files > 0),
      pageSize: this.pageSize,
      maxTXID: all.reduce((m, f) => (f.maxTXID > m ? f.maxTXID : m), 0n),
      compactions: this.compactions,
      latestRestore: this.latest,
    };
  }
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

/** A sink that keeps nothing (the restore itself checks page order and completeness). */
class DiscardSink implements PageSink {
  async open(): Promise<void> {}
  async write(): Promise<void> {}
  async commit(): Promise<void> {}
  async abort(): Promise<void> {}
}
