/**
 * Verification of single files: decoding one LTX file in full with its checksum and the header and
 * page rules of a Litestream replica, and comparing a compacted file page by page with the merge of
 * its inputs. Files are streamed, one page buffer per open decoder.
 */
import { LtxError, isLtxError, type ErrorCode } from "../errors.ts";
import { lockPgno } from "../ltx/checksum.ts";
import { Compactor } from "../ltx/compactor.ts";
import { Decoder } from "../ltx/decoder.ts";
import { HEADER_FLAG_NO_CHECKSUM, isNoChecksum, type Header } from "../ltx/header.ts";
import { pageOrderError, snapshotEndError } from "../ltx/page-rules.ts";
import { formatTXID } from "../ltx/txid.ts";
import { SNAPSHOT_LEVEL, type FileInfo } from "./file-info.ts";
import type { Replica } from "./replica.ts";
import type { VerifyFindingKind, VerifyProgress } from "./verify-types.ts";

/** A file's TXID range as its name spells it. */
export function name(f: FileInfo): string {
  return `${formatTXID(f.minTXID)}-${formatTXID(f.maxTXID)}`;
}

/** A header timestamp as an ISO date (the raw number when it is not a valid date). */
export function describeTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms` : d.toISOString();
}

async function openStream(replica: Replica, f: FileInfo, progress: VerifyProgress, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
  const s = await replica.store.getStream(f.key, undefined, { signal });
  if (!s) throw new LtxError("NOT_FOUND", `${f.key} disappeared while verifying`);
  return counted(s, progress);
}

async function* counted(s: ReadableStream<Uint8Array>, progress: VerifyProgress): AsyncGenerator<Uint8Array> {
  const r = s.getReader();
  try {
    for (;;) {
      const { done, value } = await r.read();
      if (done) return;
      progress.bytes += value.length;
      yield value;
    }
  } finally {
    await r.cancel().catch(() => {});
  }
}

/** Decodes one file in full; the findings it yields (kinds and messages) and its header. */
export async function checkFile(
  replica: Replica,
  f: FileInfo,
  maxFileBytes: number,
  progress: VerifyProgress,
  signal?: AbortSignal,
): Promise<{ header?: Header; findings: { kind: VerifyFindingKind; message: string; code?: ErrorCode }[] }> {
  const out: { kind: VerifyFindingKind; message: string; code?: ErrorCode }[] = [];
  if (f.size > maxFileBytes) return { findings: [{ kind: "CORRUPT_FILE", message: `${f.size} bytes exceeds the bound of ${maxFileBytes}`, code: "LIMIT_EXCEEDED" }] };
  let header: Header | undefined;
  let order: LtxError | null = null;
  let dec: Decoder | undefined;
  try {
    dec = new Decoder(await openStream(replica, f, progress, signal), { maxFileBytes });
    header = await dec.readHeader();
    const lock = lockPgno(header.pageSize);
    let prev = 0;
    for (;;) {
      let p = dec.tryReadPageView();
      if (p === undefined) p = await dec.readPageView();
      if (!p) break;
      if (!order) order = pageOrderError(header, lock, prev, p.pgno);
      prev = p.pgno;
    }
    if (!order) order = snapshotEndError(header, lock, prev);
    const { trailer } = await dec.close();
    if (header.minTXID !== f.minTXID || header.maxTXID !== f.maxTXID) {
      out.push({ kind: "NAME_MISMATCH", message: `the name says TXIDs ${name(f)}, the header ${formatTXID(header.minTXID)}-${formatTXID(header.maxTXID)}` });
    }
    if (!isNoChecksum(header)) out.push({ kind: "CHECKSUM_FLAGS", message: `header flags 0x${header.flags.toString(16)} lack NoChecksum (0x2): Go's restore and compaction reject checksum-tracked files` });
    if (isNoChecksum(header) && trailer.postApplyChecksum !== 0n) out.push({ kind: "CHECKSUM_FLAGS", message: "a NoChecksum file carries a post-apply checksum" });
    if (order) {
      const snapshot = header.minTXID === 1n && /snapshot/.test(order.message);
      out.push({ kind: snapshot ? "SNAPSHOT_INCOMPLETE" : "PAGE_ORDER", message: order.message });
    }
  } catch (e) {
    await dec?.cancel().catch(() => {});
    if (!isLtxError(e) || e.code === "ABORTED") throw e;
    if (e.code === "STORE_ERROR" || e.code === "STORE_AUTH" || e.code === "TIMEOUT") throw e;
    if (e.code === "NOT_FOUND" && !header) return { findings: [{ kind: "VANISHED", message: "listed, but gone when read (deleted meanwhile)" }] };
    out.push({ kind: "CORRUPT_FILE", message: e.message, code: e.code });
    return { findings: out };
  }
  return header ? { header, findings: out } : { findings: out };
}

/** What compareCompaction returns when a file was deleted meanwhile. */
export const VANISHED = "\0vanished";

/** Merges `inputs` and compares with `file`: null when equal, else what differs first (or VANISHED). */
export async function compareCompaction(replica: Replica, file: FileInfo, inputs: readonly FileInfo[], progress: VerifyProgress, signal?: AbortSignal): Promise<string | null> {
  const readers: Decoder[] = [];
  let dec: Decoder | undefined;
  try {
    for (const i of inputs) readers.push(new Decoder(await openStream(replica, i, progress, signal)));
    dec = new Decoder(await openStream(replica, file, progress, signal));
    const c = new Compactor(readers, { headerFlags: HEADER_FLAG_NO_CHECKSUM });
    const want = await c.open();
    const got = await dec.readHeader();
    for (const field of ["pageSize", "commit", "minTXID", "maxTXID"] as const) {
      if (want[field] !== got[field]) return `header ${field} is ${String(got[field])}, the merge gives ${String(want[field])}`;
    }
    // Compacted files carry the last input's timestamp; snapshots the time they were taken.
    if (file.level !== SNAPSHOT_LEVEL && want.timestamp !== got.timestamp) return `header timestamp is ${describeTime(got.timestamp)}, the last input's is ${describeTime(want.timestamp)}`;
    for await (const p of c.pages()) {
      let q = dec.tryReadPageView();
      if (q === undefined) q = await dec.readPageView();
      if (!q) return `page ${p.pgno} is missing`;
      if (q.pgno !== p.pgno) return q.pgno < p.pgno ? `page ${q.pgno} is not in the merge` : `page ${p.pgno} is missing`;
      if (!equalBytes(p.data, q.data)) return `page ${p.pgno} differs from the merge`;
    }
    let q = dec.tryReadPageView();
    if (q === undefined) q = await dec.readPageView();
    if (q) return `page ${q.pgno} is not in the merge`;
    await dec.close();
    return null;
  } catch (e) {
    if (!isLtxError(e) || e.code === "ABORTED" || e.code === "STORE_ERROR" || e.code === "STORE_AUTH" || e.code === "TIMEOUT") throw e;
    if (e.code === "NOT_FOUND") return VANISHED;
    return `cannot be compared: ${e.message}`;
  } finally {
    await Promise.all([...readers, ...(dec ? [dec] : [])].map((r) => r.cancel().catch(() => {})));
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
