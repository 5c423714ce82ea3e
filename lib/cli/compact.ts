/** `ltxkit compact`: one compaction + snapshot + retention pass, for cron-driven deployments. */
import { openReplicaFromEnv } from "../adapters/replica-node.ts";
import { LtxError } from "../errors.ts";
import { formatTXID } from "../ltx/txid.ts";
import { compactReplica } from "../replica/compact.ts";
import { DEFAULT_COMPACTION_CONFIG } from "../replica/schedule.ts";
import { parseArgs, bool, str } from "./args.ts";
import { printJSON } from "./io.ts";
import type { Command } from "./run.ts";

function duration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
  if (!m) throw new LtxError("INVALID_ARGUMENT", `invalid duration: ${s} (e.g. 30s, 5m, 1h)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms"];
}

export const command: Command = {
  summary: "run one compaction pass (levels, snapshot, retention) on a replica",
  usage: `usage: ltxkit compact [flags] REPLICA_URL

  --level N            only this level (1..3, or 9 for the snapshot)
  --force              ignore the interval windows
  --no-retention       do not delete anything
  --levels 30s,5m,1h   level intervals (Litestream's defaults)
  --snapshot-interval 24h --snapshot-retention 24h --l0-retention 5m
  --page-encoding block|frame   (frame: readable by Litestream <= v0.5.15)
  --json               print the report as JSON`,
  async run(argv, io) {
    const a = parseArgs(argv, [
      { names: ["level"], type: "string" },
      { names: ["force"], type: "boolean" },
      { names: ["no-retention"], type: "boolean" },
      { names: ["levels"], type: "string" },
      { names: ["snapshot-interval"], type: "string" },
      { names: ["snapshot-retention"], type: "string" },
      { names: ["l0-retention"], type: "string" },
      { names: ["page-encoding"], type: "string" },
      { names: ["json"], type: "boolean" },
    ]);
    if (a.positionals.length !== 1) throw new LtxError("INVALID_ARGUMENT", "compact takes exactly one REPLICA_URL");
    const config: Record<string, unknown> = {};
    if (str(a, "levels")) config.levels = str(a, "levels")!.split(",").map(duration);
    if (str(a, "snapshot-interval")) config.snapshotInterval = duration(str(a, "snapshot-interval")!);
    if (str(a, "snapshot-retention")) config.snapshotRetention = duration(str(a, "snapshot-retention")!);
    if (str(a, "l0-retention")) config.l0Retention = duration(str(a, "l0-retention")!);
    const enc = str(a, "page-encoding");
    if (enc && enc !== "block" && enc !== "frame") throw new LtxError("INVALID_ARGUMENT", `invalid page encoding: ${enc}`);
    if (enc) config.pageEncoding = enc;
    const levelStr = str(a, "level");
    if (levelStr !== undefined && !/^[1-9]$/.test(levelStr)) throw new LtxError("INVALID_ARGUMENT", `invalid level: ${levelStr}`);
    // A level past the configured ones would silently do nothing.
    const nLevels = (config.levels as number[] | undefined)?.length ?? DEFAULT_COMPACTION_CONFIG.levels.length;
    if (levelStr !== undefined && levelStr !== "9" && Number(levelStr) > nLevels) throw new LtxError("INVALID_ARGUMENT", `invalid level: ${levelStr} (1..${nLevels} or 9)`);
    const replica = openReplicaFromEnv(a.positionals[0]!);
    const opts: Parameters<typeof compactReplica>[1] = { force: bool(a, "force"), retention: !bool(a, "no-retention"), config };
    if (levelStr) opts.level = Number(levelStr);
    const rep = await compactReplica(replica, opts);
    const show = (f: { level: number; minTXID: bigint; maxTXID: bigint; size: number }) => ({ level: f.level, min_txid: formatTXID(f.minTXID), max_txid: formatTXID(f.maxTXID), size: f.size });
    if (bool(a, "json")) printJSON(io, { written: rep.written.map(show), deleted: rep.deleted.map(show) });
    else {
      const lines = [...rep.written.map((f) => `wrote   level ${f.level} ${formatTXID(f.minTXID)}-${formatTXID(f.maxTXID)} (${f.size} bytes)`), ...rep.deleted.map((f) => `deleted level ${f.level} ${formatTXID(f.minTXID)}-${formatTXID(f.maxTXID)}`)];
      io.out(lines.length ? lines.join("\n") : "nothing to do");
    }
    return 0;
  },
};
