/** `ltxkit ls`: lists the LTX files of a replica like `litestream ltx`. */
import { openReplicaFromEnv } from "../adapters/replica-node.ts";
import { LtxError } from "../errors.ts";
import { formatRFC3339, formatTXID } from "../ltx/txid.ts";
import { listAll, listLevel } from "../replica/list.ts";
import { parseArgs, bool, str } from "./args.ts";
import { printJSON } from "./io.ts";
import type { Command } from "./run.ts";

export const command: Command = {
  summary: "list the LTX files of a replica (like `litestream ltx`)",
  usage: "usage: ltxkit ls [--level N|all] [--json] REPLICA_URL\n\nLists LTX files at one level (default 0) or all levels.",
  async run(argv, io) {
    const a = parseArgs(argv, [
      { names: ["level"], type: "string" },
      { names: ["json"], type: "boolean" },
    ]);
    if (a.positionals.length !== 1) throw new LtxError("INVALID_ARGUMENT", "ls takes exactly one REPLICA_URL");
    const levelArg = str(a, "level") ?? "0";
    const replica = openReplicaFromEnv(a.positionals[0]!);
    let files;
    if (levelArg === "all") files = await listAll(replica);
    else {
      if (!/^\d$/.test(levelArg)) throw new LtxError("INVALID_ARGUMENT", `invalid level: ${levelArg} (0..9 or all)`);
      files = await listLevel(replica, Number(levelArg));
    }
    if (bool(a, "json")) {
      printJSON(io, files.map((f) => ({ level: f.level, min_txid: formatTXID(f.minTXID), max_txid: formatTXID(f.maxTXID), size: f.size, timestamp: formatRFC3339(f.createdAt.getTime()) })));
      return 0;
    }
    const rows = [["level", "min_txid", "max_txid", "size", "created"], ...files.map((f) => [String(f.level), formatTXID(f.minTXID), formatTXID(f.maxTXID), String(f.size), formatRFC3339(f.createdAt.getTime())])];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    io.out(rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n"));
    return 0;
  },
};
