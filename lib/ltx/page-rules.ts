/**
 * The page rules of Go's encoder (spec §5.4), kept in one place: the encoder enforces them, and the
 * decoder in strict mode rejects files that break them (Go's decoder does not check them). Messages
 * are Go's encoder messages. Internal to lib/ltx (not exported by mod.ts).
 */
import { LtxError } from "../errors.ts";
import { isSnapshot, type Header } from "./header.ts";

function invalidPage(msg: string): LtxError {
  return new LtxError("INVALID_PAGE", msg);
}

/**
 * The INVALID_PAGE error for page `pgno` following page `prev` (0 before the first page) in a file
 * with header `h` and lock page `lock`, or null when the page may follow. `lockMessage` names the
 * lock-page failure from the caller's side (the encoder's "cannot encode lock page").
 */
export function pageOrderError(h: Header, lock: number, prev: number, pgno: number, lockMessage = "lock page present"): LtxError | null {
  if (pgno > h.commit) return invalidPage(`page number ${pgno} out-of-bounds for commit size ${h.commit}`);
  if (pgno === lock) return invalidPage(`${lockMessage}: pgno=${pgno}`);
  if (isSnapshot(h)) {
    if (prev === 0) return pgno === 1 ? null : invalidPage("snapshot transaction file must start with page number 1");
    if (prev === lock - 1) return pgno === prev + 2 ? null : invalidPage(`nonsequential page numbers in snapshot transaction (skip lock page): ${prev},${pgno}`);
    return pgno === prev + 1 ? null : invalidPage(`nonsequential page numbers in snapshot transaction: ${prev},${pgno}`);
  }
  return pgno > prev ? null : invalidPage(`out-of-order page numbers: ${prev},${pgno}`);
}

/** The INVALID_PAGE error when a snapshot ends at page `last` short of its commit, or null. */
export function snapshotEndError(h: Header, lock: number, last: number): LtxError | null {
  if (!isSnapshot(h) || h.commit === 0) return null;
  const want = h.commit === lock ? h.commit - 1 : h.commit;
  return last === want ? null : invalidPage(`snapshot incomplete: last page ${last}, commit ${h.commit}`);
}
