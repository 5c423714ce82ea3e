/** `ltxkit restore`: point-in-time restore, with the flags and JSON of `litestream restore`. */
import { promises as fsp } from "node:fs";
import v8 from "node:v8";
import { openReplicaFromEnv } from "../adapters/replica-node.ts";
import { FileSink } from "../adapters/fs-sink.ts";
import { exists } from "../adapters/fs-file.ts";
import { LtxError, isLtxError } from "../errors.ts";
import { formatFilename, formatRFC3339, formatTXID, parseTXID } from "../ltx/txid.ts";
import { integrityCheck, type IntegrityMode } from "../replica/integrity.ts";
import { loadSqliteWasm } from "../adapters/sqlite-wasm.ts";
import type { FileInfo } from "../replica/file-info.ts";
import { calcRestorePlan, checkTimestampBounds } from "../replica/plan.ts";
import { restore } from "../replica/restore.ts";
import { redact } from "../replica/url.ts";
import { parseArgs, bool, int, str } from "./args.ts";
import { printJSON, progressBar, type CliIO } from "./io.ts";
import type { Command } from "./run.ts";

const USAGE = `usage: ltxkit restore -o OUT [-txid HEX16 | -timestamp RFC3339] [flags] REPLICA_URL

  -o PATH               output database path (required)
  -txid HEX16           restore to this TXID (must end on a file boundary)
  -timestamp RFC3339    restore to the last state before this time
  -if-replica-exists    exit 0 when the replica has no backup
  -if-db-not-exists     exit 0 when the output already exists
  -force                replace an existing output (and its -wal, -shm, -journal)
  -dry-run              print the restore plan without writing
  -json                 JSON output (same shape as litestream restore -json)
  -integrity-check M    none (default), quick or full, with sqlite-wasm; failure removes the output
  -parallelism N        ranged GETs open at once (default 8; each planned file's current one is always open)
  -part-size BYTES      bytes per ranged GET (default 16777216); bodies stream into the decoders, so memory does not grow with it
  -memory-budget BYTES  bytes read ahead of the decoders across all files (default 0)`;

boundYoungGeneration();

export const command: Command = {
  summary: "restore a database from a replica at the latest point, a TXID or a timestamp",
  usage: USAGE,
  async run(argv, io) {
    const a = parseArgs(argv, [
      { names: ["o", "output"], type: "string" },
      { names: ["txid"], type: "string" },
      { names: ["timestamp"], type: "string" },
      { names: ["if-replica-exists"], type: "boolean" },
      { names: ["if-db-not-exists"], type: "boolean" },
      { names: ["force"], type: "boolean" },
      { names: ["dry-run"], type: "boolean" },
      { names: ["json"], type: "boolean" },
      { names: ["integrity-check"], type: "string" },
      { names: ["parallelism"], type: "string" },
      { names: ["part-size"], type: "string" },
      { names: ["memory-budget"], type: "string" },
    ]);
    if (a.positionals.length !== 1) throw new LtxError("INVALID_ARGUMENT", "database path or replica URL required");
    const url = a.positionals[0]!;
    const out = str(a, "o");
    if (!out && !bool(a, "dry-run")) throw new LtxError("INVALID_ARGUMENT", "output path required (-o)");
    const mode = (str(a, "integrity-check") ?? "none") as IntegrityMode;
    if (!["none", "quick", "full"].includes(mode)) throw new LtxError("INVALID_ARGUMENT", `invalid -integrity-check value: ${mode}`);
    const target = restoreTarget(str(a, "txid"), str(a, "timestamp"));
    if (out && bool(a, "if-db-not-exists") && (await exists(out))) {
      io.err(`database already exists, skipping: ${out}`);
      return 0;
    }
    const replica = openReplicaFromEnv(url, await leanS3(url));
    let plan;
    if (target.timestamp) await checkTimestampBounds(replica, target.timestamp);
    try {
      plan = await calcRestorePlan(replica, target);
    } catch (e) {
      if (isLtxError(e, "TX_NOT_AVAILABLE")) {
        if (bool(a, "if-replica-exists")) {
          io.err("no matching backups found, skipping");
          return 0;
        }
        throw new LtxError("TX_NOT_AVAILABLE", "no matching backup files available");
      }
      throw e;
    }
    if (bool(a, "dry-run")) {
      printPlan(io, url, out, replica.kind, plan, bool(a, "json"));
      return 0;
    }
    const t0 = Date.now();
    const bar = progressBar(io, "restore");
    const res = await restore(replica, {
      plan,
      sink: new FileSink(out!, { force: bool(a, "force") }),
      parallelism: int(a, "parallelism", 8, 1, 1024),
      ...(str(a, "part-size") ? { partSize: int(a, "part-size", 16 << 20, 64 << 10, 1 << 30) } : {}),
      ...(str(a, "memory-budget") ? { memoryBudget: int(a, "memory-budget", 0, 0, 1 << 30) } : {}),
      onProgress: (p) => bar.update(p.pages, p.pagesTotal, `${p.pages}/${p.pagesTotal} pages, ${(p.bytes / 1048576).toFixed(1)} MiB`),
    });
    bar.done();
    if (mode !== "none") {
      const problems = await integrityCheck(new Uint8Array(await fsp.readFile(out!)), mode, await loadSqliteWasm());
      if (problems.length) {
        await fsp.rm(out!, { force: true });
        throw new LtxError("INTEGRITY_CHECK_FAILED", `integrity check (${mode}) failed, output removed: ${problems.slice(0, 5).join("; ")}`);
      }
    }
    const result = { db_path: out!, replica: replica.kind, txid: formatTXID(res.txid), duration_ms: Date.now() - t0, integrity_check: mode };
    if (bool(a, "json")) printJSON(io, result);
    else io.err(`restored ${out} to TXID ${result.txid} from ${plan.length} files in ${result.duration_ms} ms`);
    return 0;
  },
};

/** The point to restore to: -txid or -timestamp (ISO 8601), not both; neither means latest. */
function restoreTarget(txidStr: string | undefined, tsStr: string | undefined): { txid?: bigint; timestamp?: Date } {
  if (txidStr && tsStr) throw new LtxError("INVALID_ARGUMENT", "cannot specify both TXID & timestamp to restore");
  const target: { txid?: bigint; timestamp?: Date } = {};
  if (txidStr) target.txid = parseTXID(txidStr);
  if (tsStr) {
    const d = new Date(tsStr);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(tsStr) || Number.isNaN(d.getTime())) {
      throw new LtxError("INVALID_ARGUMENT", "invalid -timestamp, must specify in ISO 8601 format (e.g. 2000-01-01T00:00:00Z)");
    }
    target.timestamp = d;
  }
  return target;
}

/** -dry-run: the restore plan, as text or JSON. */
function printPlan(io: CliIO, url: string, out: string | undefined, kind: string, plan: FileInfo[], json: boolean): void {
  const p = {
    source: url,
    target_path: out ?? "",
    replica: kind,
    min_txid: formatTXID(plan[0]!.minTXID),
    max_txid: formatTXID(plan[plan.length - 1]!.maxTXID),
    files: plan.map((f) => ({ level: f.level, name: formatFilename(f.minTXID, f.maxTXID), min_txid: formatTXID(f.minTXID), max_txid: formatTXID(f.maxTXID), size: f.size, timestamp: formatRFC3339(f.createdAt.getTime()) })),
  };
  if (json) printJSON(io, p);
  else io.out([`restore plan for ${redact(url)} → ${out ?? "(dry run)"} (TXID ${p.min_txid}..${p.max_txid})`, ...p.files.map((f) => `  level ${f.level}  ${f.name}  ${f.size} bytes  ${f.timestamp}`)].join("\n"));
}

/**
 * V8 grows the young generation by the bytes that survived scavenges since it last grew, not by
 * live data, so on a long restore (hundreds of thousands of short-lived page objects) it climbs to
 * 16 MiB and more although almost nothing survives, and peak RSS grows with the database. A growth
 * factor of 1 keeps it at its initial size. This is the CLI's own process; the library sets no
 * flags. Measured on bench/restore: peak RSS flat from 265 to 512 MiB databases, no time cost.
 */
function boundYoungGeneration(): void {
  try {
    v8.setFlagsFromString("--semi-space-growth-factor=1");
  } catch {
    // a runtime without V8 flags: nothing to bound
  }
}

/**
 * Under Node, S3 requests go through node:http: the built-in fetch costs about 30 MiB of peak RSS
 * on first use (it compiles a WebAssembly HTTP parser), more than the rest of a restore. Bun and
 * Deno keep their native fetch.
 */
async function leanS3(url: string): Promise<{ s3?: { fetch: (r: Request) => Promise<Response> } }> {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun || g.Deno || !url.startsWith("s3://")) return {};
  // Loaded only for S3 replicas: node:http costs a file restore a few MiB of RSS for nothing.
  const { httpFetch } = await import("../adapters/http-fetch.ts");
  return { s3: { fetch: httpFetch } };
}
