/** A timer that an AbortSignal cancels, for retry backoff. */
import { LtxError } from "../errors.ts";

/**
 * Resolves after `ms`; rejects with ABORTED as soon as `signal` aborts (at once when it already
 * has). The abort listener is removed when the timer fires, so long-lived signals collect none.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new LtxError("ABORTED", "aborted"));
    const onAbort = () => {
      clearTimeout(t);
      reject(new LtxError("ABORTED", "aborted"));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
