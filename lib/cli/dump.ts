/** `ltxkit dump`: header, pages, index and trailer of one LTX file. */
import { readFileChunks } from "../adapters/fs-file.ts";
import { LtxError } from "../errors.ts";
import { Decoder, type LtxFormat } from "../ltx/decoder.ts";
import { formatChecksum, formatTXID } from "../ltx/txid.ts";
import { parseArgs, bool, str } from "./args.ts";
import { sha256Hex } from "./codec-commands.ts";
import { printJSON } from "./io.ts";
import type { Command } from "./run.ts";

export const command: Command = {
  summary: "print the header, pages and trailer of an LTX file",
  usage: "usage: ltxkit dump [--json] [--format v3|v2|v1] FILE",
  async run(argv, io) {
    const a = parseArgs(argv, [
      { names: ["json"], type: "boolean" },
      { names: ["format"], type: "string" },
    ]);
    if (a.positionals.length !== 1) throw new LtxError("INVALID_ARGUMENT", "dump takes exactly one FILE");
    const path = a.positionals[0]!;
    const r = new Decoder(readFileChunks(path), { format: (str(a, "format") ?? "v3") as LtxFormat });
    const h = await r.readHeader();
    const pages: { pgno: number; sha256: string }[] = [];
    for (let p; (p = await r.readPageView()); ) pages.push({ pgno: p.pgno, sha256: await sha256Hex(p.data) });
    const { trailer, index } = await r.close();
    const byPgno = new Map(index.map((e) => [e.pgno, e]));
    const header = {
      flags: h.flags,
      pageSize: h.pageSize,
      commit: h.commit,
      minTXID: formatTXID(h.minTXID),
      maxTXID: formatTXID(h.maxTXID),
      timestamp: h.timestamp,
      preApplyChecksum: formatChecksum(h.preApplyChecksum),
      walOffset: h.walOffset,
      walSize: h.walSize,
      walSalt1: h.walSalt1,
      walSalt2: h.walSalt2,
      nodeID: formatTXID(h.nodeID),
    };
    const rows = pages.map((p) => ({ pgno: p.pgno, offset: byPgno.get(p.pgno)?.offset ?? null, size: byPgno.get(p.pgno)?.size ?? null, sha256: p.sha256 }));
    const tr = { postApplyChecksum: formatChecksum(trailer.postApplyChecksum), fileChecksum: formatChecksum(trailer.fileChecksum) };
    if (bool(a, "json")) {
      printJSON(io, { header, pages: rows, trailer: tr });
      return 0;
    }
    const ts = h.timestamp ? `${new Date(h.timestamp).toISOString()} (${h.timestamp})` : "0";
    const lines = [
      "# HEADER",
      `Flags:     0x${h.flags.toString(16).padStart(8, "0")}`,
      `Page size: ${h.pageSize}`,
      `Commit:    ${h.commit}`,
      `Min TXID:  ${header.minTXID} (${h.minTXID})`,
      `Max TXID:  ${header.maxTXID} (${h.maxTXID})`,
      `Timestamp: ${ts}`,
      `Pre-apply: ${header.preApplyChecksum}`,
      `WAL offset: ${h.walOffset}`,
      `WAL size:   ${h.walSize}`,
      `WAL salt:   ${h.walSalt1.toString(16).padStart(8, "0")} ${h.walSalt2.toString(16).padStart(8, "0")}`,
      `Node ID:    ${header.nodeID}`,
      "",
      "# PAGES",
      ...rows.map((p, i) => `Frame #${i}: pgno=${p.pgno} offset=${p.offset} size=${p.size} sha256=${p.sha256}`),
      "",
      "# TRAILER",
      `Post-apply:    ${tr.postApplyChecksum}`,
      `File Checksum: ${tr.fileChecksum}`,
    ];
    io.out(lines.join("\n"));
    return 0;
  },
};
