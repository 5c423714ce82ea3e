/**
 * The k-way compactor with Go's `ltx.Compactor` semantics (spec §9): inputs ordered oldest to
 * newest, equal page sizes, contiguous TXIDs (overlap allowed, gaps not), the newest input wins
 * per page, pages above the final commit are dropped, every input is verified at the end. Memory is
 * one page buffer per input, whatever the database size.
 */
import { LtxError, wrapError } from "../errors.ts";
import { Encoder, type EncoderOptions, type Page } from "./encoder.ts";
import { newHeader, validateHeader, type Header } from "./header.ts";
import type { Decoder } from "./decoder.ts";
import { formatTXID } from "./txid.ts";

/** Options of the compactor: header flags of the output, whether TXID gaps are allowed. */
export interface CompactorOptions {
  /** Output header flags (Go's default 0; Litestream passes NoChecksum = 0x2). */
  headerFlags?: number;
  /** Skip the TXID contiguity check (Litestream never does). */
  allowNonContiguousTXIDs?: boolean;
}

/** Go's IsContiguous: the next file may overlap but must move forward without a gap. */
export function isContiguous(prevMax: bigint, curMin: bigint, curMax: bigint): boolean {
  return curMin <= prevMax + 1n && curMax > prevMax;
}

/** Merges LTX files in TXID order into one (k-way by page number, the newest version of a page wins). */
export class Compactor {
  #inputs: Decoder[];
  #opts: CompactorOptions;
  #headers: Header[] = [];
  #out: Header | undefined;
  #post = 0n;
  #pgno = 0;
  #done = false;

  constructor(inputs: Decoder[], opts: CompactorOptions = {}) {
    this.#inputs = inputs;
    this.#opts = opts;
  }

  /** The last input's post-apply checksum (after pages() has completed). */
  get postApplyChecksum(): bigint {
    return this.#post;
  }

  /** Progress: the last page emitted and the output commit. */
  status(): { pgno: number; commit: number } {
    return { pgno: this.#pgno, commit: this.#out?.commit ?? 0 };
  }

  /** Reads every input header, checks page sizes and contiguity, and returns the output header. */
  async open(): Promise<Header> {
    if (this.#out) return this.#out;
    if (this.#inputs.length === 0) throw new LtxError("INVALID_ARGUMENT", "at least one input reader required");
    for (let i = 0; i < this.#inputs.length; i++) {
      try {
        this.#headers.push(await this.#inputs[i]!.readHeader());
      } catch (e) {
        throw wrapError(e, `decode header for input ${i}`);
      }
    }
    const hs = this.#headers;
    for (let i = 1; i < hs.length; i++) {
      const prev = hs[i - 1]!, cur = hs[i]!;
      if (prev.pageSize !== cur.pageSize) throw new LtxError("PAGE_SIZE_MISMATCH", `input files have mismatched page sizes: ${prev.pageSize} != ${cur.pageSize}`);
      if (!this.#opts.allowNonContiguousTXIDs && !isContiguous(prev.maxTXID, cur.minTXID, cur.maxTXID)) {
        throw new LtxError(
          "NON_CONTIGUOUS",
          `non-contiguous transaction ids in input files: (${formatTXID(prev.minTXID)},${formatTXID(prev.maxTXID)}) -> (${formatTXID(cur.minTXID)},${formatTXID(cur.maxTXID)})`,
        );
      }
    }
    const first = hs[0]!, last = hs[hs.length - 1]!;
    const out = newHeader({
      flags: this.#opts.headerFlags ?? 0,
      pageSize: first.pageSize,
      commit: last.commit,
      minTXID: first.minTXID,
      maxTXID: last.maxTXID,
      timestamp: last.timestamp,
      preApplyChecksum: first.preApplyChecksum,
    });
    validateHeader(out);
    this.#out = out;
    return out;
  }

  /**
   * Merged pages in ascending pgno. `data` is a view valid until the next iteration step. After
   * the last page every input is closed, which verifies its file checksum.
   */
  async *pages(): AsyncGenerator<Page> {
    const out = await this.open();
    if (this.#done) throw new LtxError("INVALID_STATE", "compactor already consumed");
    this.#done = true;
    const k = this.#inputs.length;
    const cur: (Page | null)[] = new Array(k).fill(null);
    // Advances input i; a promise only when it must wait for more input.
    const next = (i: number): Promise<void> | undefined => {
      const r = this.#inputs[i]!;
      let p: Page | null | undefined;
      try {
        p = r.tryReadPageView();
      } catch (e) {
        throw wrapError(e, `read input ${i}`);
      }
      if (p !== undefined) {
        cur[i] = p;
        return undefined;
      }
      return r.readPageView().then(
        (q) => void (cur[i] = q),
        (e) => {
          throw wrapError(e, `read input ${i}`);
        },
      );
    };
    for (let i = 0; i < k; i++) await next(i);
    for (;;) {
      // The smallest buffered pgno; the newest input holding it wins.
      let min = Infinity, win = -1;
      for (let i = 0; i < k; i++) {
        const p = cur[i];
        if (p && p.pgno <= min) {
          min = p.pgno;
          win = i;
        }
      }
      if (win < 0) break;
      if (min <= out.commit) {
        this.#pgno = min;
        yield cur[win]!;
      }
      for (let i = 0; i < k; i++) {
        if (cur[i] && cur[i]!.pgno === min) {
          const wait = next(i);
          if (wait) await wait;
        }
      }
    }
    for (let i = 0; i < k; i++) {
      try {
        const { trailer } = await this.#inputs[i]!.close();
        if (i === k - 1) this.#post = trailer.postApplyChecksum;
      } catch (e) {
        throw wrapError(e, `close reader ${i}`);
      }
    }
  }
}

/** Compacts inputs into an encoded LTX stream (Go's Compactor.Compact). */
export function compactLtx(inputs: Decoder[], opts: CompactorOptions & EncoderOptions = {}): ReadableStream<Uint8Array> {
  const c = new Compactor(inputs, opts);
  const enc = new Encoder(opts);
  let it: AsyncGenerator<Page> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      if (!it) {
        ctl.enqueue(enc.encodeHeader(await c.open()));
        it = c.pages();
        return;
      }
      const r = await it.next();
      if (!r.done) {
        ctl.enqueue(enc.encodePage(r.value.pgno, r.value.data));
        return;
      }
      // As Go: the output carries the last input's post-apply checksum (so a NoChecksum output of
      // checksum-tracked inputs fails with "post-apply checksum not allowed").
      ctl.enqueue(enc.close(c.postApplyChecksum));
      ctl.close();
    },
    async cancel() {
      await it?.return(undefined);
      await Promise.all(inputs.map((r) => r.cancel().catch(() => {})));
    },
  });
}
