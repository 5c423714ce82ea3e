/** Go-written fixtures (conformance/fixtures/go-ltx) decode in ltxkit to what Go decodes. Needs no Go. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it, expect } from "vitest";
import { decodeLtx } from "../lib/ltx/decoder.ts";
import { formatChecksum, formatTXID } from "../lib/ltx/txid.ts";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "go-ltx");
const manifest = JSON.parse(readFileSync(join(DIR, "manifest.json"), "utf8")) as {
  file: string; header: Record<string, string | number>; pages: { pgno: number; sha256: string }[]; trailer: Record<string, string>; db_sha256?: string;
}[];
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("Go-written fixtures decode identically", () => {
  for (const m of manifest) {
    it(m.file, async () => {
      const d = await decodeLtx(new Uint8Array(readFileSync(join(DIR, m.file))), { strict: true });
      expect(formatTXID(d.header.minTXID)).toBe(m.header.minTXID);
      expect(formatTXID(d.header.maxTXID)).toBe(m.header.maxTXID);
      expect(d.header.pageSize).toBe(m.header.pageSize);
      expect(d.header.commit).toBe(m.header.commit);
      expect(d.pages.map((p) => ({ pgno: p.pgno, sha256: sha(p.data) }))).toEqual(m.pages);
      expect(formatChecksum(d.trailer.fileChecksum)).toBe(m.trailer.fileChecksum);
      if (m.db_sha256) {
        const img = new Uint8Array(d.header.commit * d.header.pageSize);
        for (const p of d.pages) img.set(p.data, (p.pgno - 1) * d.header.pageSize);
        expect(sha(img)).toBe(m.db_sha256);
      }
    });
  }
});
