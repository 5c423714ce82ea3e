import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it, expect } from "vitest";
import { Encoder, encodeLtx, encodeLtxBytes, type PageEncoding } from "../../lib/ltx/encoder.ts";
import { literalBlockSize } from "../../lib/ltx/lz4-compress.ts";
import { decodeLtx, verifyLtx } from "../../lib/ltx/decoder.ts";
import { DatabaseChecksum, CHECKSUM_FLAG } from "../../lib/ltx/checksum.ts";
import { HEADER_FLAG_NO_CHECKSUM } from "../../lib/ltx/header.ts";
import { isLtxError } from "../../lib/errors.ts";
import { mustHaveTool, skipWithout } from "../tools.ts";
import { header, mixedPage, snapshotPages, sparsePages } from "./helpers.ts";

const PYLTX = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "conformance", "vectors", "ltx-vectors", "tools");
const skipPython = skipWithout("python3", "encoder output against the independent Python reader");

const SIZES = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

describe("encoder round trips", () => {
  for (const encoding of ["block", "frame"] as PageEncoding[]) {
    for (const noChecksum of [false, true]) {
      it(`all page sizes, ${encoding}, ${noChecksum ? "NoChecksum" : "checksums tracked"}`, async () => {
        for (const ps of SIZES) {
          const pages = snapshotPages(ps, 5, ps);
          const h = header({ pageSize: ps, commit: 5, flags: noChecksum ? HEADER_FLAG_NO_CHECKSUM : 0 });
          const bytes = encodeLtxBytes(h, pages, { pageEncoding: encoding });
          const d = await decodeLtx(bytes, { strict: true });
          expect(d.pages.map((p) => p.pgno)).toEqual(pages.map((p) => p.pgno));
          d.pages.forEach((p, i) => expect(p.data).toEqual(pages[i]!.data));
          if (noChecksum) expect(d.trailer.postApplyChecksum).toBe(0n);
          else {
            const c = new DatabaseChecksum(ps);
            pages.forEach((p) => c.add(p.pgno, p.data));
            expect(d.trailer.postApplyChecksum).toBe(c.value());
          }
          // Incremental file with the pre-apply of the snapshot.
          const inc = sparsePages(ps, 9, ps + 1);
          const ih = header({ pageSize: ps, commit: 9, minTXID: 2n, maxTXID: 3n, flags: noChecksum ? HEADER_FLAG_NO_CHECKSUM : 0, preApplyChecksum: noChecksum ? 0n : d.trailer.postApplyChecksum });
          const ib = encodeLtxBytes(ih, inc, { pageEncoding: encoding, postApplyChecksum: noChecksum ? undefined : CHECKSUM_FLAG | 0x1234n });
          const id = await decodeLtx(ib, { strict: true });
          expect(id.pages.length).toBe(inc.length);
        }
      });
    }
  }

  it("streams the same bytes as the in-memory encoder", async () => {
    const pages = snapshotPages(4096, 20, 3);
    const h = header({ pageSize: 4096, commit: 20 });
    const whole = encodeLtxBytes(h, pages);
    const parts: Uint8Array[] = [];
    const reader = encodeLtx(h, (async function* () { yield* pages; })()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    const streamed = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) (streamed.set(p, o), (o += p.length));
    expect(streamed).toEqual(whole);
    // and decodes from a stream of odd-sized chunks
    const chunks = (async function* () {
      for (let i = 0; i < whole.length; i += 777) yield whole.slice(i, i + 777);
    })();
    const v = await verifyLtx(chunks, { strict: true });
    expect(v.pageCount).toBe(20);
  });

  it.skipIf(skipPython)("is read by the independent Python reader (all sizes, both encodings): its pages, encodings and trailer, with its own file and post-apply checksums", () => {
    mustHaveTool("python3");
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-pyltx-"));
    const made: { path: string; encoding: PageEncoding; nc: boolean; pgnos: number[]; trailer: string[] }[] = [];
    for (const encoding of ["block", "frame"] as PageEncoding[]) for (const ps of SIZES) for (const nc of [false, true]) {
      const p = join(dir, `${encoding}-${ps}-${nc}.ltx`);
      const pages = snapshotPages(ps, 4, ps + 9);
      const bytes = encodeLtxBytes(header({ pageSize: ps, commit: 4, flags: nc ? 2 : 0 }), pages, { pageEncoding: encoding });
      writeFileSync(p, bytes);
      const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      made.push({ path: p, encoding, nc, pgnos: pages.map((x) => x.pgno), trailer: [v.getBigUint64(bytes.length - 16), v.getBigUint64(bytes.length - 8)].map((x) => x.toString(16)) });
    }
    // pyltx fails (non-zero exit) on a bad file checksum, index or, for checksum-tracking snapshots,
    // a post-apply checksum that differs from the one it computes from the pages it decoded.
    const out = execFileSync("python3", [join(PYLTX, "pyltx.py"), ...made.map((m) => m.path)], { cwd: PYLTX, encoding: "utf8" });
    const lines = out.trim().split("\n");
    expect(lines).toHaveLength(made.length);
    lines.forEach((line, i) => {
      const m = made[i]!;
      expect(line.startsWith(`${m.path} `), line).toBe(true);
      const pages = [...line.matchAll(/\((\d+), '([a-z0-9-]+)', \d+, \d+\)/g)].map((x) => [Number(x[1]), x[2]]);
      expect(pages, m.path).toEqual(m.pgnos.map((n) => [n, `lz4-${m.encoding}`]));
      const t = /'post_apply': '0x([0-9a-f]+)', 'file_checksum': '0x([0-9a-f]+)'/.exec(line);
      expect(t?.slice(1), m.path).toEqual(m.trailer);
      if (m.nc) expect(t?.[1]).toBe("0");
    });
  });
});

describe("encoder rules (Go's messages)", () => {
  const h = header({ pageSize: 512, commit: 3 });
  const page = mixedPage(512, 1);
  const fails = (fn: (e: Encoder) => void, re: RegExp, code = "INVALID_PAGE") => {
    const e = new Encoder();
    let err: unknown;
    try {
      fn(e);
    } catch (x) {
      err = x;
    }
    expect(isLtxError(err, code as never), String(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(re);
  };
  it("enforces page order, bounds, size and the lock page", () => {
    fails((e) => (e.encodeHeader(h), e.encodePage(2, page)), /snapshot transaction file must start with page number 1/);
    fails((e) => (e.encodeHeader(h), e.encodePage(1, page), e.encodePage(3, page)), /nonsequential page numbers in snapshot transaction: 1,3/);
    fails((e) => (e.encodeHeader(h), e.encodePage(4, page)), /page number 4 out-of-bounds for commit size 3/);
    fails((e) => (e.encodeHeader(h), e.encodePage(1, page.subarray(1))), /invalid page buffer size: 511, expecting 512/);
    const inc = header({ pageSize: 512, commit: 3, minTXID: 2n, maxTXID: 2n, flags: 2 });
    fails((e) => (e.encodeHeader(inc), e.encodePage(2, page), e.encodePage(2, page)), /out-of-order page numbers: 2,2/);
    const big = header({ pageSize: 512, commit: 2097155, minTXID: 2n, maxTXID: 2n, flags: 2 });
    fails((e) => (e.encodeHeader(big), e.encodePage(2097153, page)), /cannot encode lock page: pgno=2097153/);
    fails((e) => e.encodePage(1, page), /header not written/, "INVALID_STATE");
    fails((e) => (e.encodeHeader(h), e.encodePage(1, page), e.close()), /snapshot incomplete/);
  });
  it("enforces header and trailer rules", () => {
    fails((e) => e.encodeHeader(header({ pageSize: 1000, commit: 1 })), /invalid page size: 1000/, "INVALID_HEADER");
    fails((e) => e.encodeHeader(header({ pageSize: 512, commit: 1, flags: 1 })), /invalid flags: 0x00000001/, "INVALID_HEADER");
    fails((e) => e.encodeHeader(header({ pageSize: 512, commit: 1, minTXID: 2n, maxTXID: 2n })), /pre-apply checksum required on non-snapshot files/, "INVALID_HEADER");
    fails((e) => e.encodeHeader(header({ pageSize: 512, commit: 1, walSalt1: 5 })), /wal offset required if salt exists/, "INVALID_HEADER");
    fails((e) => (e.encodeHeader(header({ pageSize: 512, commit: 0, flags: 2, minTXID: 2n, maxTXID: 2n })), e.close()), /post-apply checksum must be empty for zero-length database/, "INVALID_TRAILER");
    fails((e) => (e.encodeHeader(header({ pageSize: 512, commit: 1, flags: 2, minTXID: 2n, maxTXID: 2n })), e.encodePage(1, page), e.close(CHECKSUM_FLAG | 5n)), /post-apply checksum not allowed/, "INVALID_TRAILER");
  });
  it("writes a zero-page deletion file of 131 bytes", async () => {
    const b = encodeLtxBytes(header({ pageSize: 512, commit: 0, minTXID: 6n, maxTXID: 6n, preApplyChecksum: CHECKSUM_FLAG | 0x1234n }), [], { postApplyChecksum: CHECKSUM_FLAG });
    expect(b.length).toBe(131);
    expect((await verifyLtx(b, { strict: true })).pageCount).toBe(0);
  });
  it("skips the lock page in snapshots", async () => {
    const ps = 65536;
    const commit = 16387;
    const e = new Encoder();
    const parts: Uint8Array[] = [e.encodeHeader(header({ pageSize: ps, commit, flags: 2 }))];
    const zero = new Uint8Array(ps);
    for (let p = 1; p <= commit; p++) if (p !== 16385) parts.push(e.encodePage(p, zero));
    parts.push(e.close());
    expect(e.pageIndex.length).toBe(commit - 1);
    const v = await verifyLtx((async function* () { yield* parts; })(), { strict: true });
    expect(v.pageCount).toBe(commit - 1);
  });
});

describe("stored pages (compress: false)", () => {
  it("each encoding-A page is one literal-only LZ4 block: token 0xF0, (n-15)/255 bytes 0xFF, (n-15)%255, the page (4114 bytes for 4096)", () => {
    expect([512, 4096, 65536].map(literalBlockSize)).toEqual([515, 4114, 65794]);
    for (const ps of SIZES) {
      const pages = sparsePages(ps, 9, ps + 3);
      const b = encodeLtxBytes(header({ pageSize: ps, commit: 9, minTXID: 2n, maxTXID: 2n, flags: HEADER_FLAG_NO_CHECKSUM }), pages, { compress: false });
      const v = new DataView(b.buffer, b.byteOffset, b.length);
      let o = 100;
      for (const p of pages) {
        expect(v.getUint32(o)).toBe(p.pgno);
        expect(v.getUint16(o + 4)).toBe(1);
        expect(v.getUint32(o + 6)).toBe(literalBlockSize(ps));
        const rest = ps - 15;
        const lens = [0xf0, ...new Array(Math.floor(rest / 255)).fill(0xff), rest % 255];
        expect([...b.subarray(o + 10, o + 10 + lens.length)]).toEqual(lens);
        expect(b.subarray(o + 10 + lens.length, o + 10 + literalBlockSize(ps))).toEqual(p.data);
        o += 10 + literalBlockSize(ps);
      }
      expect([...b.subarray(o, o + 6)]).toEqual([0, 0, 0, 0, 0, 0]);
    }
  });

  it("encodeLtxBytes (one buffer) and the streaming Encoder write the same bytes, and they decode strictly to the pages, checksums tracked or not", async () => {
    for (const encoding of ["block", "frame"] as PageEncoding[]) {
      for (const ps of [512, 4096]) {
        for (const nc of [false, true]) {
          const snap = snapshotPages(ps, 5, ps + 7);
          const h = header({ pageSize: ps, commit: 5, flags: nc ? HEADER_FLAG_NO_CHECKSUM : 0 });
          const one = encodeLtxBytes(h, snap, { pageEncoding: encoding, compress: false });
          const e = new Encoder({ pageEncoding: encoding, compress: false });
          const parts = [e.encodeHeader(h), ...snap.map((p) => e.encodePage(p.pgno, p.data)), e.close()];
          const streamed = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
          parts.reduce((o, p) => (streamed.set(p, o), o + p.length), 0);
          expect(one).toEqual(streamed);
          const d = await decodeLtx(one, { strict: true });
          expect(d.pages.map((p) => p.pgno)).toEqual(snap.map((p) => p.pgno));
          d.pages.forEach((p, i) => expect(p.data).toEqual(snap[i]!.data));
          const c = new DatabaseChecksum(ps);
          snap.forEach((p) => c.add(p.pgno, p.data));
          expect(d.trailer.postApplyChecksum).toBe(nc ? 0n : c.value());
          expect((await verifyLtx(one)).pageCount).toBe(snap.length);
        }
      }
    }
  });

  it("the one-buffer path enforces the Encoder's rules with the same codes (order, lock page, page size, incomplete snapshot)", () => {
    const h = header({ pageSize: 512, commit: 3, flags: HEADER_FLAG_NO_CHECKSUM });
    const p = (pgno: number, n = 512) => ({ pgno, data: mixedPage(n, pgno) });
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return isLtxError(e) ? `${e.code}: ${e.message}` : String(e);
      }
      return "ok";
    };
    const inc = header({ pageSize: 512, commit: 9, minTXID: 2n, maxTXID: 2n, flags: HEADER_FLAG_NO_CHECKSUM });
    expect(code(() => encodeLtxBytes(inc, [p(3), p(2)], { compress: false }))).toMatch(/^INVALID_PAGE: out-of-order page numbers: 3,2/);
    expect(code(() => encodeLtxBytes(inc, [p(2), p(10)], { compress: false }))).toMatch(/^INVALID_PAGE: page number 10 out-of-bounds/);
    expect(code(() => encodeLtxBytes(inc, [p(2, 1024)], { compress: false }))).toMatch(/^INVALID_PAGE: invalid page buffer size: 1024, expecting 512/);
    expect(code(() => encodeLtxBytes(inc, [p(0)], { compress: false }))).toMatch(/^INVALID_PAGE_HEADER/);
    expect(code(() => encodeLtxBytes(h, [p(1), p(2)], { compress: false }))).toMatch(/^INVALID_PAGE: snapshot incomplete/);
    const big = header({ pageSize: 4096, commit: 262145, minTXID: 2n, maxTXID: 2n, flags: HEADER_FLAG_NO_CHECKSUM });
    expect(code(() => encodeLtxBytes(big, [p(262145, 4096)], { compress: false }))).toMatch(/^INVALID_PAGE: cannot encode lock page: pgno=262145/);
    // The same inputs through the Encoder fail alike.
    expect(code(() => encodeLtxBytes(inc, [p(3), p(2)]))).toMatch(/^INVALID_PAGE: out-of-order page numbers: 3,2/);
  });
});
