/**
 * verifyReplica on replicas ltxkit wrote (the staged replica of fixtures.ts: L0 1..40, L1, L2, L3
 * and five snapshots, built by the library's compaction), healthy and damaged in each way the
 * verifier detects. Each damage must yield exactly the expected finding (kind, key, severity) and
 * nothing else. Damaged files are built with the encoder, so their checksums are valid unless the
 * damage is the checksum.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isLtxError } from "../../lib/errors.ts";
import { decodeLtx, verifyLtx } from "../../lib/ltx/decoder.ts";
import { encodeLtxBytes } from "../../lib/ltx/encoder.ts";
import { newHeader } from "../../lib/ltx/header.ts";
import { mergeFiles } from "../../lib/replica/compact.ts";
import { listLevel, writeLtxFile } from "../../lib/replica/list.ts";
import { memoryReplica, type Replica } from "../../lib/replica/replica.ts";
import { verifyReplica, type VerifyOptions, type VerifyReport } from "../../lib/replica/verify.ts";
import { mixedPage } from "../ltx/helpers.ts";
import { writeL0Chain, writeStagedReplica } from "./fixtures.ts";

const START = 1_760_000_000_000;
const EDGE = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "conformance", "fixtures", "edge-ltx");
const MIN = 60_000;
const NOW = new Date(START + 3600_000);

async function staged(pageEncoding: "block" | "frame" = "block"): Promise<Replica> {
  const r = memoryReplica();
  await writeStagedReplica(r, { start: START, interval: MIN, pageEncoding });
  return r;
}
const key = (r: Replica, level: number, min: number, max: number) => r.layout.key(level, BigInt(min), BigInt(max));
const get = async (r: Replica, k: string) => (await r.store.get(k))!;
const put = (r: Replica, k: string, b: Uint8Array) => r.store.put(k, b);
/** The findings as [kind, severity, key], for exact comparison. */
const brief = (rep: VerifyReport) => rep.findings.map((f) => [f.kind, f.severity, f.key]);
const verify = (r: Replica, o: VerifyOptions = {}) => verifyReplica(r, { full: true, now: NOW, ...o });

/** Re-encodes a file with changes to its header and pages (a valid checksum over the new content). */
async function reencode(bytes: Uint8Array, change: { header?: Partial<ReturnType<typeof newHeader>>; pages?: (p: { pgno: number; data: Uint8Array }[]) => { pgno: number; data: Uint8Array }[] }): Promise<Uint8Array> {
  const d = await decodeLtx(bytes);
  const h = { ...d.header, ...change.header };
  return encodeLtxBytes(h, change.pages ? change.pages(d.pages) : d.pages);
}

describe("verifyReplica: healthy replicas written by ltxkit", () => {
  for (const enc of ["block", "frame"] as const) {
    it(`the staged replica (${enc} pages) has no findings, every compacted file compared, the latest restore ok`, async () => {
      const r = await staged(enc);
      const rep = await verify(r);
      expect(rep.findings).toEqual([]);
      expect(rep.ok).toBe(true);
      expect(rep.files).toBe(55);
      expect(rep.pageSize).toBe(4096);
      expect(rep.maxTXID).toBe(40n);
      // L1 6 + L2 3 + L3 1 + L9 5 compacted files, each with its inputs present.
      expect(rep.compactions).toEqual({ comparable: 15, compared: 15, uncomparable: 0 });
      expect(rep.latestRestore).toMatchObject({ status: "ok", txid: 40n, files: 1, integrity: "none" });
      expect(rep.levels.map((l) => [l.level, l.files, l.minTXID, l.maxTXID])).toEqual([
        [0, 40, 1n, 40n],
        [1, 6, 1n, 40n],
        [2, 3, 1n, 40n],
        [3, 1, 1n, 15n],
        [9, 5, 1n, 40n],
      ]);
    });
  }

  it("samples compacted files by default: N per level, the newest included; -sample 0 compares none", async () => {
    const r = await staged();
    const calls: string[] = [];
    const rep = await verifyReplica(r, { now: NOW, sample: 1, onProgress: (p) => calls.push(p.phase) });
    // One per level 1, 2, 3, 9.
    expect(rep.compactions).toEqual({ comparable: 15, compared: 4, uncomparable: 0 });
    expect(new Set(calls)).toEqual(new Set(["list", "files", "compactions", "restore"]));
    expect((await verifyReplica(r, { now: NOW, sample: 0 })).compactions.compared).toBe(0);
    expect((await verifyReplica(r, { now: NOW })).compactions.compared).toBe(12); // min(4, n) per level: 4 + 3 + 1 + 4
  });

  it("an empty replica is NO_BACKUPS", async () => {
    const rep = await verify(memoryReplica());
    expect(brief(rep)).toEqual([["NO_BACKUPS", "error", ""]]);
    expect(rep.ok).toBe(false);
  });
});

describe("verifyReplica: each damage yields exactly its finding", () => {
  it("a flipped header byte: CORRUPT_FILE (CHECKSUM_MISMATCH) at that file", async () => {
    const r = await staged();
    const k = key(r, 0, 10, 10);
    const b = (await get(r, k)).slice();
    b[60] ^= 0x01; // walSize: still a valid header, so only the checksum tells
    await put(r, k, b);
    const rep = await verify(r);
    expect(brief(rep)).toEqual([["CORRUPT_FILE", "error", k]]);
    expect(rep.findings[0]!.code).toBe("CHECKSUM_MISMATCH");
    // Its L1 (9-15) can no longer be compared with it.
    expect(rep.compactions.uncomparable).toBe(1);
  });

  it("the latest snapshot corrupt: CORRUPT_FILE at it, and the latest restore runs around it (older snapshot and levels below)", async () => {
    const r = await staged();
    const k = key(r, 9, 1, 40);
    const b = (await get(r, k)).slice();
    b[60] ^= 0x01;
    await put(r, k, b);
    const rep = await verify(r);
    expect(brief(rep)).toEqual([["CORRUPT_FILE", "error", k]]);
    // Snapshot 1-36, then L2 31-40 (the plan at TXID 40 without the reported file).
    expect(rep.latestRestore).toMatchObject({ status: "ok", txid: 40n, files: 2 });
    expect(rep.latestRestore.note).toContain("restore's plan uses 1 file reported above (0000000000000001-0000000000000028); restored around it");
  });

  it("a flipped byte inside the pages: CORRUPT_FILE at that file", async () => {
    const r = await staged();
    const k = key(r, 0, 3, 3);
    const b = (await get(r, k)).slice();
    b[Math.floor(b.length / 2)] ^= 0x40;
    await put(r, k, b);
    expect(brief(await verify(r))).toEqual([["CORRUPT_FILE", "error", k]]);
  });

  it("a deleted middle L0 file: LEVEL_GAP at the next L0 file, naming the files it strands", async () => {
    const r = await staged();
    await r.store.delete([key(r, 0, 12, 12)]);
    const rep = await verify(r);
    expect(brief(rep)).toEqual([["LEVEL_GAP", "error", key(r, 0, 13, 13)]]);
    expect(rep.findings[0]!.message).toContain("TXIDs 000000000000000c..000000000000000c missing from level 0");
    // 13, 14 and 15 follow the gap and nothing else ends at 12..14; 16 continues L1 9-15.
    expect(rep.findings[0]!.message).toContain("000000000000000d-000000000000000d, 000000000000000e-000000000000000e, 000000000000000f-000000000000000f unreachable");
  });

  it("a compacted file whose pages differ from its inputs (valid checksum): COMPACTION_MISMATCH; unsampled, not found", async () => {
    const r = await staged();
    const k = key(r, 1, 9, 15);
    const bad = await reencode(await get(r, k), { pages: (ps) => ps.map((p, i) => (i === 1 ? { pgno: p.pgno, data: mixedPage(4096, 999) } : p)) });
    await verifyLtx(bad); // a sound file on its own
    await put(r, k, bad);
    const rep = await verify(r);
    expect(brief(rep)).toEqual([["COMPACTION_MISMATCH", "error", k]]);
    expect(rep.findings[0]!.message).toMatch(/^page \d+ differs from the merge/);
    expect((await verifyReplica(r, { now: NOW, sample: 0 })).findings).toEqual([]);
  });

  it("a compacted file missing a page of its inputs: COMPACTION_MISMATCH", async () => {
    const r = await staged();
    const k = key(r, 2, 16, 30);
    await put(r, k, await reencode(await get(r, k), { pages: (ps) => ps.filter((_, i) => i !== 2) }));
    expect(brief(await verify(r))).toEqual([["COMPACTION_MISMATCH", "error", k]]);
  });

  it("one file with another page size: PAGE_SIZE_MISMATCH at that file", async () => {
    const r = await staged();
    const k = key(r, 0, 20, 20);
    const d = await decodeLtx(await get(r, k));
    const small = encodeLtxBytes({ ...d.header, pageSize: 1024, commit: 3 }, [1, 2, 3].map((pgno) => ({ pgno, data: mixedPage(1024, pgno) })));
    await put(r, k, small);
    expect(brief(await verify(r))).toEqual([["PAGE_SIZE_MISMATCH", "error", k]]);
  });

  it("a file whose name and header TXIDs differ: NAME_MISMATCH at that file", async () => {
    const r = await staged();
    const k = key(r, 0, 7, 7);
    await put(r, k, await get(r, key(r, 0, 6, 6)));
    const rep = await verify(r);
    expect(brief(rep)).toEqual([["NAME_MISMATCH", "error", k]]);
    expect(rep.findings[0]!.message).toBe("the name says TXIDs 0000000000000007-0000000000000007, the header 0000000000000006-0000000000000006");
  });

  it("a .tmp object left in a level directory: ORPHAN_TMP (a warning: the replica stays ok)", async () => {
    const r = await staged();
    const k = key(r, 0, 41, 41) + ".tmp";
    await put(r, k, new Uint8Array(10));
    const rep = await verify(r);
    expect(brief(rep)).toEqual([["ORPHAN_TMP", "warning", k]]);
    expect(rep.ok).toBe(true);
  });

  it("another object in a level directory: STRAY_OBJECT", async () => {
    const r = await staged();
    await put(r, "ltx/2/notes.txt", new Uint8Array(3));
    expect(brief(await verify(r))).toEqual([["STRAY_OBJECT", "warning", "ltx/2/notes.txt"]]);
  });

  it("a file below the snapshot floor (retention kept it, no snapshot reaches it): UNREACHABLE", async () => {
    const r = await staged();
    // As after retention deleted the snapshots 1-8 and 1-22 and what lies before the newest kept
    // snapshot (1-30), except L1 23-30 (Go keeps level files ending at or past the floor): no chain
    // from TXID 1 ends at 22..29 any more, so nothing can use it.
    const gone: string[] = [];
    for (let t = 1; t <= 30; t++) gone.push(key(r, 0, t, t));
    gone.push(key(r, 1, 1, 8), key(r, 1, 9, 15), key(r, 1, 16, 22), key(r, 2, 1, 15), key(r, 2, 16, 30), key(r, 3, 1, 15), key(r, 9, 1, 8), key(r, 9, 1, 22));
    await r.store.delete(gone);
    const rep = await verify(r);
    expect(brief(rep)).toEqual([["UNREACHABLE", "warning", key(r, 1, 23, 30)]]);
    expect(rep.ok).toBe(true);
  });

  it("an L1 file overlapping its neighbour: LEVEL_OVERLAP at it (its content matches its inputs)", async () => {
    const r = await staged();
    const l0 = (await listLevel(r, 0)).filter((f) => f.minTXID >= 10n && f.maxTXID <= 12n);
    const f = await mergeFiles(r, 1, l0);
    expect(f.key).toBe(key(r, 1, 10, 12));
    expect(brief(await verify(r))).toEqual([["LEVEL_OVERLAP", "error", f.key]]);
  });

  it("a snapshot that is not complete (a page missing, valid checksum): SNAPSHOT_INCOMPLETE", async () => {
    const r = await staged();
    const k = key(r, 9, 1, 22);
    const d = await decodeLtx(await get(r, k));
    // Encoded as an incremental file (TXIDs 2..22, which may skip pages), then the header says 1..22.
    const b = encodeLtxBytes({ ...d.header, minTXID: 2n }, d.pages.filter((p) => p.pgno !== 3));
    b[23] = 1;
    await put(r, k, await resealed(b));
    const rep = await verify(r);
    expect(brief(rep)).toEqual([["SNAPSHOT_INCOMPLETE", "error", k]]);
    expect(rep.findings[0]!.message).toBe("nonsequential page numbers in snapshot transaction: 2,4");
  });

  it("a snapshot that does not start at TXID 1: BAD_RANGE", async () => {
    const r = await staged();
    const k = key(r, 9, 9, 15);
    await put(r, k, await get(r, key(r, 1, 9, 15)));
    expect(brief(await verify(r))).toEqual([["BAD_RANGE", "error", k]]);
  });

  it("a checksum-tracked file (flags 0): CHECKSUM_FLAGS", async () => {
    const r = await staged();
    const k = key(r, 0, 1, 1);
    await put(r, k, await reencode(await get(r, k), { header: { flags: 0 } }));
    const rep = await verify(r);
    expect(brief(rep)).toEqual([["CHECKSUM_FLAGS", "error", k]]);
    expect(rep.findings[0]!.message).toBe("header flags 0x0 lack NoChecksum (0x2): Go's restore and compaction reject checksum-tracked files");
  });

  // Go-verdicted edge vectors (conformance/fixtures/edge-ltx: valid checksums, one rule broken, TXID
  // 2, 512-byte pages) after a snapshot at TXID 1.
  for (const [vector, kind, message] of [
    ["block-nochecksum-with-post", "CHECKSUM_FLAGS", "a NoChecksum file carries a post-apply checksum"],
    ["block-out-of-order", "PAGE_ORDER", "out-of-order page numbers: 3,2"],
    ["block-pgno-above-commit", "PAGE_ORDER", "page number 5 out-of-bounds for commit size 4"],
    ["block-lock-page", "PAGE_ORDER", "lock page present"],
  ] as const) {
    it(`the edge vector ${vector}: ${kind} at it`, async () => {
      const r = memoryReplica();
      const ts = 1_700_000_000_000;
      const snap = encodeLtxBytes(newHeader({ flags: 2, pageSize: 512, commit: 4, minTXID: 1n, maxTXID: 1n, timestamp: ts - 1000 }), [1, 2, 3, 4].map((pgno) => ({ pgno, data: mixedPage(512, pgno) })));
      await writeLtxFile(r, 0, 1n, 1n, snap, ts - 1000);
      const bytes = new Uint8Array(readFileSync(join(EDGE, `${vector}.ltx`)));
      const h = (await decodeLtx(bytes)).header;
      await writeLtxFile(r, 0, h.minTXID, h.maxTXID, bytes, h.timestamp);
      const rep = await verify(r);
      expect(brief(rep)).toEqual([[kind, "error", key(r, 0, Number(h.minTXID), Number(h.maxTXID))]]);
      expect(rep.findings[0]!.message).toContain(message);
      // The latest restore would use the file reported: not run, with a note saying why.
      expect(rep.latestRestore.status).toBe("skipped");
    });
  }

  it("several damages at once: each found, in listing order (level, then TXIDs), whatever the decode concurrency", async () => {
    const r = await staged();
    const flips = [key(r, 0, 3, 3), key(r, 0, 30, 30), key(r, 1, 23, 30), key(r, 9, 1, 8)];
    for (const k of flips) {
      const b = (await get(r, k)).slice();
      b[60] ^= 1;
      await put(r, k, b);
    }
    for (const concurrency of [1, 3, 16]) {
      const rep = await verify(r, { concurrency });
      expect(brief(rep), `concurrency ${concurrency}`).toEqual(flips.map((k) => ["CORRUPT_FILE", "error", k]));
    }
  });

  it("the newest L0 file deleted (retention always keeps it): L0_BEHIND at the file holding the newest TXID", async () => {
    const r = await staged();
    await r.store.delete([key(r, 0, 40, 40)]);
    const rep = await verify(r);
    // L1 37-40 is listed before L2 31-40 and the snapshot 1-40 in the reduce: the first to reach 40.
    expect(brief(rep)).toEqual([["L0_BEHIND", "warning", key(r, 1, 37, 40)]]);
    expect(rep.findings[0]!.message).toContain("level 0 ends at TXID 0000000000000027");
  });

  it("a file deleted between the listing and its read (a live writer's retention): VANISHED, a warning", async () => {
    const r = await staged();
    const k = key(r, 0, 4, 4);
    const store = r.store;
    const racing: Replica = {
      ...r,
      store: {
        kind: store.kind,
        get: (kk, range, o) => store.get(kk, range, o),
        getStream: async (kk, range, o) => (kk === k ? null : store.getStream(kk, range, o)),
        put: (kk, body, o) => store.put(kk, body, o),
        list: (prefix, o) => store.list(prefix, o),
        delete: (keys, o) => store.delete(keys, o),
        head: (kk, o) => store.head(kk, o),
      },
    };
    const rep = await verify(racing);
    expect(brief(rep)).toEqual([["VANISHED", "warning", k]]);
    expect(rep.ok).toBe(true);
    // Its L1 (1-8) is not compared, the other 14 compacted files are.
    expect(rep.compactions.compared).toBe(14);
  });

  it("a header timestamp older than the previous file's of its level: TIMESTAMP (a warning)", async () => {
    const r = memoryReplica();
    await writeL0Chain(r, 5, { start: START });
    const k = key(r, 0, 3, 3);
    await put(r, k, await reencode(await get(r, k), { header: { timestamp: START + 500 } }));
    const rep = await verify(r);
    expect(brief(rep)).toEqual([["TIMESTAMP", "warning", k]]);
    expect(rep.findings[0]!.message).toContain("is older than the previous file's of level 0");
    const future = await verify(r, { now: new Date(START - 3 * 86400_000) });
    expect(future.findings.filter((f) => /implausible/.test(f.message)).length).toBe(5);
  });

  it("a disconnected range above the newest TXID: UNREACHABLE for it and RESTORE_FAILED for the latest restore", async () => {
    const r = await staged();
    const h = newHeader({ flags: 2, pageSize: 4096, commit: 1, minTXID: 50n, maxTXID: 50n, timestamp: START + 50 * MIN });
    const k = key(r, 5, 50, 50);
    await writeLtxFile(r, 5, 50n, 50n, encodeLtxBytes(h, [{ pgno: 1, data: mixedPage(4096, 1) }]), h.timestamp);
    const rep = await verify(r);
    expect(brief(rep)).toEqual([
      ["UNREACHABLE", "warning", k],
      ["RESTORE_FAILED", "error", ""],
    ]);
    expect(rep.findings[1]!.code).toBe("NON_CONTIGUOUS");
    expect(rep.latestRestore.status).toBe("failed");
  });
});

/**
 * The file checksum the decoder computes for `b`, written into its trailer (the decoder reports the
 * value it computed when they differ).
 */
async function resealed(b: Uint8Array): Promise<Uint8Array> {
  try {
    await verifyLtx(b);
    return b;
  } catch (e) {
    if (!isLtxError(e, "CHECKSUM_MISMATCH")) throw e;
    const computed = BigInt("0x" + String(e.details!.computed));
    const out = b.slice();
    new DataView(out.buffer).setBigUint64(out.length - 8, computed);
    return out;
  }
}
