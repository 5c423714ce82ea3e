/** `ltxkit encode-db`: a snapshot LTX of a SQLite file (like `ltx encode-db` on superfly/ltx main). */
import { writeFileAtomic } from "../adapters/fs-file.ts";
import { LtxError } from "../errors.ts";
import { lockPgno } from "../ltx/checksum.ts";
import { encodeLtx, type PageEncoding } from "../ltx/encoder.ts";
import { newHeader } from "../ltx/header.ts";
import { parseArgs, str } from "./args.ts";
import { readPages, sqliteGeometry } from "./codec-commands.ts";
import type { Command } from "./run.ts";

export const command: Command = {
  summary: "encode a SQLite database as a snapshot LTX file",
  usage: "usage: ltxkit encode-db [--page-encoding block|frame] DB -o FILE\n\nTXID 1-1, checksums tracked, post-apply computed, lock page skipped; written atomically.",
  async run(argv, io) {
    const a = parseArgs(argv, [
      { names: ["o", "output"], type: "string" },
      { names: ["page-encoding"], type: "string" },
    ]);
    const out = str(a, "o");
    if (a.positionals.length !== 1 || !out) throw new LtxError("INVALID_ARGUMENT", "usage: ltxkit encode-db DB -o FILE");
    const enc = (str(a, "page-encoding") ?? "block") as PageEncoding;
    if (enc !== "block" && enc !== "frame") throw new LtxError("INVALID_ARGUMENT", `invalid page encoding: ${enc} (block or frame)`);
    const db = a.positionals[0]!;
    const { pageSize, commit } = await sqliteGeometry(db);
    const lock = lockPgno(pageSize);
    const pages = (async function* () {
      for await (const p of readPages(db, pageSize, commit)) if (p.pgno !== lock) yield p;
    })();
    const header = newHeader({ pageSize, commit, minTXID: 1n, maxTXID: 1n, timestamp: Date.now() });
    const n = await writeFileAtomic(out, encodeLtx(header, pages, { pageEncoding: enc }));
    io.err(`wrote ${out}: ${commit} pages of ${pageSize} bytes, ${n} bytes`);
    return 0;
  },
};
