/** `ltxkit verify`: full decode and checksum verification of LTX files. */
import { readFileChunks } from "../adapters/fs-file.ts";
import { LtxError, isLtxError } from "../errors.ts";
import { verifyLtx, type LtxFormat } from "../ltx/decoder.ts";
import { parseArgs, bool, str } from "./args.ts";
import { printJSON } from "./io.ts";
import type { Command } from "./run.ts";

export const command: Command = {
  summary: "verify LTX files (exit 0 only if every file is valid)",
  usage: "usage: ltxkit verify [--json] [--strict] [--format v3|v2|v1] FILE...\n\n--strict also rejects what Go's decoder lets through (unsorted or duplicate pages, the lock page, short pages, incomplete snapshots, a wrong index, trailing bytes).",
  async run(argv, io) {
    const a = parseArgs(argv, [
      { names: ["json"], type: "boolean" },
      { names: ["strict"], type: "boolean" },
      { names: ["format"], type: "string" },
    ]);
    if (a.positionals.length === 0) throw new LtxError("INVALID_ARGUMENT", "verify needs at least one FILE");
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
  },
};
