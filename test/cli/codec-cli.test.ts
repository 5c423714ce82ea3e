import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it, expect } from "vitest";
import { main } from "../../lib/cli/run.ts";
import { decodeLtx } from "../../lib/ltx/decoder.ts";
import { sqlitePageSize } from "../../lib/capture/page-diff.ts";
import { captureIO } from "./capture-io.ts";

const V = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "conformance", "vectors", "ltx-vectors");
const manifest = JSON.parse(readFileSync(join(V, "manifest.json"), "utf8"));

describe("codec CLI", () => {
  it("dump --json prints the documented shape", async () => {
    const io = captureIO();
    expect(await main(["dump", "--json", join(V, "v3-block/07-litestream-style-nochecksum.ltx")], io)).toBe(0);
    const j = JSON.parse(io.stdout);
    const m = manifest.files.find((f: { path: string }) => f.path === "v3-block/07-litestream-style-nochecksum.ltx");
    expect(j.header).toEqual({
      flags: 2, pageSize: 512, commit: 3, minTXID: "0000000000000005", maxTXID: "0000000000000005", timestamp: m.header.timestamp_ms,
      preApplyChecksum: "0000000000000000", walOffset: 32, walSize: 1072, walSalt1: 0x11223344, walSalt2: 0x55667788, nodeID: "0000000000000000",
    });
    expect(j.pages).toEqual(m.pages.map((p: { pgno: number; offset: number; size: number; data_sha256: string }) => ({ pgno: p.pgno, offset: p.offset, size: p.size, sha256: p.data_sha256 })));
    expect(j.trailer).toEqual({ postApplyChecksum: m.trailer.post_apply, fileChecksum: m.trailer.file_checksum });
    const text = captureIO();
    expect(await main(["dump", join(V, "v3-frame/01-snapshot-1page.ltx")], text)).toBe(0);
    expect(text.stdout).toContain("File Checksum: d9f15e2748e56b61");
  });

  it("verify reports each file and exits non-zero on any bad one", async () => {
    let io = captureIO();
    expect(await main(["verify", join(V, "v3-block/02-snapshot-3pages.ltx"), join(V, "v3-frame/09-64k-around-lockpage.ltx")], io)).toBe(0);
    expect(io.stdout.trim().split("\n").every((l) => l.endsWith(": ok"))).toBe(true);
    io = captureIO();
    expect(await main(["verify", "--json", join(V, "edge/trailing-byte.ltx"), join(V, "edge/out-of-order.ltx")], io)).toBe(1);
    const j = JSON.parse(io.stdout);
    expect(j[0]).toMatchObject({ ok: false, code: "CHECKSUM_MISMATCH" });
    expect(j[1]).toMatchObject({ ok: true });
    io = captureIO();
    expect(await main(["verify", "--strict", join(V, "edge/out-of-order.ltx")], io)).toBe(1);
    expect(io.stdout).toMatch(/out-of-order page numbers: 3,2/);
    io = captureIO();
    expect(await main(["verify", "--format", "v1", join(V, "v1/v1-02-snapshot-3pages-lz4body.ltx")], io)).toBe(0);
  });

  it("encode-db reproduces Go's post-apply checksum and decodes to the database", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-encdb-"));
    for (const enc of ["block", "frame"]) {
      const out = join(dir, `${enc}.ltx`);
      const io = captureIO();
      expect(await main(["encode-db", "--page-encoding", enc, join(V, "sqlite/10-source.db"), "-o", out], io)).toBe(0);
      const d = await decodeLtx(new Uint8Array(readFileSync(out)), { strict: true });
      expect(d.trailer.postApplyChecksum).toBe(0xd946bc72bc62c01cn);
      expect(d.header.commit).toBe(17);
    }
    const io = captureIO();
    expect(await main(["checksum", join(V, "sqlite/10-source.db")], io)).toBe(0);
    expect(io.stdout.trim()).toBe("d946bc72bc62c01c");
    writeFileSync(join(dir, "not.db"), "hello");
    const bad = captureIO();
    expect(await main(["checksum", join(dir, "not.db")], bad)).toBe(2);
    expect(bad.stderr).toMatch(/not a SQLite database/);
    // The page size comes from header bytes 16-17 (1 means 65536) through the one parser, sqlitePageSize.
    const hdr = new Uint8Array(readFileSync(join(V, "sqlite/10-source.db")).subarray(0, 100));
    hdr[16] = 0, hdr[17] = 1;
    expect(sqlitePageSize(hdr)).toBe(65536);
    hdr[16] = 1000 >> 8, hdr[17] = 1000 & 0xff;
    writeFileSync(join(dir, "ps-1000.db"), hdr);
    const o = captureIO();
    expect(await main(["checksum", join(dir, "ps-1000.db")], o)).toBe(2);
    expect(o.stderr).toContain(`${join(dir, "ps-1000.db")}: not a SQLite database image (page size 1000)`);
  });
});
