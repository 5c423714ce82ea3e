/**
 * `ltxkit verify`: LTX files (full decode and checksum of each), or a whole replica (verifyReplica).
 * One argument that is a URL with a scheme (`file://`, `s3://`) or a directory holding `ltx/` is a
 * replica; anything else is a list of LTX files, as before.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { readFileChunks } from "../adapters/fs-file.ts";
import { openReplicaFromEnv } from "../adapters/replica-node.ts";
import { loadSqliteWasm } from "../adapters/sqlite-wasm.ts";
import { LtxError, isLtxError } from "../errors.ts";
import { verifyLtx, type LtxFormat } from "../ltx/decoder.ts";
import { formatTXID } from "../ltx/txid.ts";
import type { IntegrityMode } from "../replica/integrity.ts";
import { redact } from "../replica/url.ts";
import { verifyReplica, type VerifyReport } from "../replica/verify.ts";
import { parseArgs, bool, int, str, type ParsedArgs } from "./args.ts";
import { printJSON, progressBar, type CliIO } from "./io.ts";
import type { Command } from "./run.ts";

const USAGE = `usage: ltxkit verify [--json] [--strict] [--format v3|v2|v1] FILE...
       ltxkit verify [--json] [--full | --sample N] [--integrity-check M] REPLICA_URL

One argument that is a URL with a scheme (file:///dir, s3://bucket/prefix) or a directory holding
an ltx/ directory (a file replica) verifies the whole replica; anything else is a list of LTX files.

LTX files (exit 0 only if every file is valid):
  --strict             also reject what Go's decoder lets through (unsorted or duplicate pages, the
                       lock page, short pages, incomplete snapshots, a wrong index, trailing bytes)
  --format F           v3 (default), v2 or v1

A replica: every file decoded with its checksum; header rules (one page size, NoChecksum, timestamps,
file names equal to header TXIDs); TXID contiguity within and across levels; compacted files compared
with the merge of their inputs; snapshots complete; the latest restore run with an integrity check;
.tmp orphans and files no restore can reach reported.
  --full               compare every compacted file with its inputs (default: a sample)
  --sample N           compacted files compared per level without --full (default 4)
  --integrity-check M  full (default: PRAGMA integrity_check), quick or none, on the latest restore
                       (held in memory; databases over 1 GiB are restored without it)
  --json               the report as JSON
Exit codes: 0 sound (warnings allowed), 1 findings with errors, 2 usage error or the replica could
not be read (bad URL, store error). Progress goes to stderr on a terminal.`;

const FILE_FLAGS = ["strict", "format"];
const REPLICA_FLAGS = ["full", "sample", "integrity-check"];

export const command: Command = {
  summary: "verify LTX files, or a whole replica (exit 0 only if sound)",
  usage: USAGE,
  async run(argv, io) {
    const a = parseArgs(argv, [
      { names: ["json"], type: "boolean" },
      { names: ["strict"], type: "boolean" },
      { names: ["format"], type: "string" },
      { names: ["full"], type: "boolean" },
      { names: ["sample"], type: "string" },
      { names: ["integrity-check"], type: "string" },
    ]);
    if (a.positionals.length === 0) throw new LtxError("INVALID_ARGUMENT", "verify needs a REPLICA_URL or at least one FILE");
    if (a.positionals.length === 1 && isReplicaArgument(a.positionals[0]!)) {
      const used = FILE_FLAGS.filter((f) => a.flags[f] !== undefined);
      if (used.length) throw new LtxError("INVALID_ARGUMENT", `--${used[0]} applies to LTX files, not to a replica`);
      return verifyReplicaCommand(a, a.positionals[0]!, io);
    }
    const used = REPLICA_FLAGS.filter((f) => a.flags[f] !== undefined);
    if (used.length) throw new LtxError("INVALID_ARGUMENT", `--${used[0]} applies to a replica (one URL or replica directory), not to LTX files`);
    return verifyFiles(a, io);
  },
};

/** A URL with a scheme, or a directory holding `ltx/` (Litestream's file replica layout). */
export function isReplicaArgument(arg: string): boolean {
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(arg)) return true;
  try {
    return statSync(arg).isDirectory() && statSync(join(arg, "ltx")).isDirectory();
  } catch {
    return false;
  }
}

async function verifyFiles(a: ParsedArgs, io: CliIO): Promise<number> {
  const format = (str(a, "format") ?? "v3") as LtxFormat;
  const results: { path: string; ok: boolean; error?: string; code?: string; pages?: number }[] = [];
  for (const path of a.positionals) {
    try {
      const v = await verifyLtx(readFileChunks(path), { strict: bool(a, "strict"), format });
      results.push({ path, ok: true, pages: v.pageCount });
    } catch (e) {
      if (!isLtxError(e)) throw e;
      results.push({ path, ok: false, error: e.message, code: e.code });
    }
  }
  if (bool(a, "json")) printJSON(io, results);
  else io.out(results.map((r) => `${r.path}: ${r.ok ? "ok" : r.error}`).join("\n"));
  return results.every((r) => r.ok) ? 0 : 1;
}

async function verifyReplicaCommand(a: ParsedArgs, url: string, io: CliIO): Promise<number> {
  const mode = (str(a, "integrity-check") ?? "full") as IntegrityMode;
  if (!["none", "quick", "full"].includes(mode)) throw new LtxError("INVALID_ARGUMENT", `invalid --integrity-check value: ${mode} (none, quick, full)`);
  if (bool(a, "full") && str(a, "sample") !== undefined) throw new LtxError("INVALID_ARGUMENT", "--full and --sample exclude each other");
  const sample = int(a, "sample", 4, 0, 1_000_000);
  const bar = progressBar(io, "verify");
  let rep: VerifyReport;
  try {
    const replica = openReplicaFromEnv(url, await leanS3(url));
    rep = await verifyReplica(replica, {
      full: bool(a, "full"),
      sample,
      integrity: mode,
      ...(mode !== "none" ? { sqlite3: await loadSqliteWasm() } : {}),
      onProgress: (p) => bar.update(p.done, p.total, `${p.phase} ${p.done}/${p.total}, ${(p.bytes / 1048576).toFixed(1)} MiB`),
    });
  } catch (e) {
    bar.done();
    if (!isLtxError(e) || e.code === "INVALID_ARGUMENT") throw e;
    io.err(`ltxkit verify: cannot verify ${redact(url)}: ${e.message} [${e.code}]`);
    return 2;
  }
  bar.done();
  if (bool(a, "json")) printJSON(io, reportJSON(rep));
  else io.out(reportText(rep));
  return rep.ok ? 0 : 1;
}

/** The report with TXIDs as 16-hex strings and snake_case keys, as the other `--json` outputs. */
export function reportJSON(r: VerifyReport): Record<string, unknown> {
  const lr = r.latestRestore;
  return {
    url: redact(r.url),
    ok: r.ok,
    errors: r.errors,
    warnings: r.warnings,
    files: r.files,
    bytes: r.bytes,
    page_size: r.pageSize,
    max_txid: formatTXID(r.maxTXID),
    levels: r.levels.map((l) => ({ level: l.level, files: l.files, bytes: l.bytes, min_txid: formatTXID(l.minTXID), max_txid: formatTXID(l.maxTXID) })),
    compactions: r.compactions,
    latest_restore: { status: lr.status, ...(lr.txid !== undefined ? { txid: formatTXID(lr.txid) } : {}), ...(lr.files !== undefined ? { files: lr.files } : {}), integrity_check: lr.integrity, ...(lr.note ? { note: lr.note } : {}) },
    findings: r.findings.map((f) => ({ kind: f.kind, severity: f.severity, key: f.key, ...(f.level !== undefined ? { level: f.level } : {}), message: f.message, ...(f.code ? { code: f.code } : {}) })),
  };
}

function reportText(r: VerifyReport): string {
  const lines = [`replica ${redact(r.url)}: ${r.files} files, ${(r.bytes / 1048576).toFixed(1)} MiB, page size ${r.pageSize}, TXIDs up to ${formatTXID(r.maxTXID)}`];
  for (const l of r.levels) lines.push(`  level ${l.level}: ${String(l.files).padStart(5)} files  ${formatTXID(l.minTXID)}..${formatTXID(l.maxTXID)}`);
  const c = r.compactions;
  lines.push(`compacted files compared with their inputs: ${c.compared} of ${c.comparable}${c.uncomparable ? ` (${c.uncomparable} without their inputs)` : ""}`);
  const lr = r.latestRestore;
  lines.push(`latest restore: ${lr.status}${lr.txid !== undefined ? ` to TXID ${formatTXID(lr.txid)} from ${lr.files} file${lr.files === 1 ? "" : "s"}` : ""}${lr.integrity !== "none" && lr.status === "ok" ? `, ${lr.integrity === "quick" ? "quick_check" : "integrity_check"} ok` : ""}${lr.note ? ` (${lr.note})` : ""}`);
  for (const f of r.findings) lines.push(`${f.severity === "error" ? "ERROR" : "WARN "} ${f.kind} ${f.key || "(replica)"}: ${f.message}`);
  lines.push(r.ok ? `sound: ${r.errors} errors, ${r.warnings} warnings` : `UNSOUND: ${r.errors} errors, ${r.warnings} warnings`);
  return lines.join("\n");
}

/** Under Node, S3 requests go through node:http (see restore.ts); Bun and Deno keep their fetch. */
async function leanS3(url: string): Promise<{ s3?: { fetch: (r: Request) => Promise<Response> } }> {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun || g.Deno || !url.startsWith("s3://")) return {};
  const { httpFetch } = await import("../adapters/http-fetch.ts");
  return { s3: { fetch: httpFetch } };
}
