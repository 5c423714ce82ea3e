/** `ltxkit checksum`: the rolling LTX checksum of a SQLite file (lock page excluded). */
import { LtxError } from "../errors.ts";
import { DatabaseChecksum } from "../ltx/checksum.ts";
import { formatChecksum } from "../ltx/txid.ts";
import { parseArgs } from "./args.ts";
import { readPages, sqliteGeometry } from "./codec-commands.ts";
import type { Command } from "./run.ts";

export const command: Command = {
  summary: "print the rolling LTX checksum of a SQLite database",
  usage: "usage: ltxkit checksum DB",
  async run(argv, io) {
    const a = parseArgs(argv, []);
    if (a.positionals.length !== 1) throw new LtxError("INVALID_ARGUMENT", "checksum takes exactly one DB");
    const db = a.positionals[0]!;
    const { pageSize, fileSize } = await sqliteGeometry(db);
    const c = new DatabaseChecksum(pageSize);
    for await (const p of readPages(db, pageSize, Math.floor(fileSize / pageSize))) c.add(p.pgno, p.data);
    io.out(formatChecksum(c.value()));
    return 0;
  },
};
