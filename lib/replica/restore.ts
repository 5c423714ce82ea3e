/**
 * Point-in-time restore: plan as Go does, fetch the planned files in parallel, merge them with the
 * compactor and write pages 1..commit to a sink (the lock page as zeros), as Go's
 * `Compactor → Decoder.DecodeDatabaseTo` pipeline does. A failed restore aborts the sink, so a
 * file output never appears half-written. The sinks in memory are in sinks.ts, the file sink in the
 * runtime adapters.
 */
import { LtxError, isLtxError, wrapError } from "../errors.ts";
import { lockPgno } from "../ltx/checksum.ts";
import { Compactor } from "../ltx/compactor.ts";
import { Decoder } from "../ltx/decoder.ts";
import { HEADER_FLAG_NO_CHECKSUM, type Header } from "../ltx/header.ts";
import type { FileInfo } from "./file-info.ts";
import { DEFAULT_MEMORY_BUDGET, fetchFile, type FetchOptions } from "./fetch.ts";
import { Budget, PermitCounter } from "./permits.ts";
import { calcRestorePlan, type RestoreTarget } from "./plan.ts";
import type { Replica } from "./replica.ts";
import type { PageSink } from "./sinks.ts";

/** Progress of a restore: files, bytes fetched and pages written so far. */
export interface RestoreProgress {
  files: number;
  bytes: number;
  bytesTotal: number;
  pages: number;
  pagesTotal: number;
}

/** Options of restore: the target point, the sink, the fetch settings and a progress callback. */
export interface RestoreOptions extends RestoreTarget, Omit<FetchOptions, "onBytes"> {
  sink: PageSink;
  /** A plan computed earlier (skips listing). */
  plan?: FileInfo[];
  onProgress?: (p: RestoreProgress) => void;
}

/** What a restore did: the plan it followed, the merged header and the TXID restored to. */
export interface RestoreResult {
  plan: FileInfo[];
  header: Header;
  txid: bigint;
}

/** Restores a replica into `sink`. */
export async function restore(replica: Replica, opts: RestoreOptions): Promise<RestoreResult> {
  const target: RestoreTarget = {};
  if (opts.txid !== undefined) target.txid = opts.txid;
  if (opts.timestamp) target.timestamp = opts.timestamp;
  const plan = opts.plan ?? (await calcRestorePlan(replica, target, opts.signal));
  if (plan.length === 0) throw new LtxError("TX_NOT_AVAILABLE", "transaction not available");
  if (plan[0]!.minTXID !== 1n) throw new LtxError("NON_CONTIGUOUS", "cannot decode non-snapshot LTX file to SQLite database (the plan does not start at TXID 1)");
  const progress: RestoreProgress = { files: plan.length, bytes: 0, bytesTotal: plan.reduce((s, f) => s + f.size, 0), pages: 0, pagesTotal: 0 };
  const limit = new PermitCounter(opts.parallelism ?? 8);
  // Each file's parts stream chunk by chunk into its decoder, so parts are large (few requests)
  // and memory is files × a few chunks plus the read-ahead budget, not files × part size.
  const fo: FetchOptions = { ...stripUndefined(opts), onBytes: (n) => void (progress.bytes += n) };
  const budget = new Budget(opts.memoryBudget ?? DEFAULT_MEMORY_BUDGET);
  const readers = plan.map((f) => new Decoder(fetchFile(replica.store, f.key, f.size, limit, fo, budget)));
  const sink = opts.sink;
  try {
    const c = new Compactor(readers, { headerFlags: HEADER_FLAG_NO_CHECKSUM });
    const header = await c.open();
    progress.pagesTotal = header.commit;
    await sink.open(header.pageSize, header.commit);
    const lock = lockPgno(header.pageSize);
    const zero = new Uint8Array(header.pageSize);
    let expect = 1;
    let lastReport = 0;
    for await (const p of c.pages()) {
      if (expect === lock && p.pgno !== lock) {
        await sink.write(expect++, zero);
      }
      if (p.pgno !== expect) throw new LtxError("INVALID_PAGE", `unexpected pgno while decoding page: read ${p.pgno}, expected ${expect}`);
      await sink.write(p.pgno, p.data);
      expect++;
      progress.pages = p.pgno;
      if (opts.onProgress && (p.pgno - lastReport >= 1024 || p.pgno === header.commit)) {
        lastReport = p.pgno;
        opts.onProgress({ ...progress });
      }
    }
    if (expect === lock && header.commit >= lock) await sink.write(expect++, zero);
    if (expect - 1 !== header.commit) throw new LtxError("INVALID_PAGE", `snapshot incomplete: restored ${expect - 1} of ${header.commit} pages`);
    await sink.commit();
    opts.onProgress?.({ ...progress, pages: header.commit });
    return { plan, header, txid: header.maxTXID };
  } catch (e) {
    await sink.abort().catch(() => {});
    await Promise.all(readers.map((r) => r.cancel().catch(() => {})));
    throw isLtxError(e) ? e : wrapError(e, "restore", "STORE_ERROR");
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
