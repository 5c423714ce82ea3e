import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sleep } from "../../lib/util/sleep.ts";
import { isLtxError } from "../../lib/errors.ts";

/** An AbortSignal that counts the abort listeners currently registered on it. */
function countingSignal(): { ctl: AbortController; signal: AbortSignal; listeners: () => number } {
  const ctl = new AbortController();
  const live = new Set<unknown>();
  const add = ctl.signal.addEventListener.bind(ctl.signal);
  const remove = ctl.signal.removeEventListener.bind(ctl.signal);
  ctl.signal.addEventListener = ((type: string, fn: EventListenerOrEventListenerObject, o?: AddEventListenerOptions) => {
    if (type === "abort") live.add(fn);
    add(type, fn, o);
  }) as AbortSignal["addEventListener"];
  ctl.signal.removeEventListener = ((type: string, fn: EventListenerOrEventListenerObject, o?: EventListenerOptions) => {
    if (type === "abort") live.delete(fn);
    remove(type, fn, o);
  }) as AbortSignal["removeEventListener"];
  return { ctl, signal: ctl.signal, listeners: () => live.size };
}

describe("sleep (retry backoff of the S3 store and the restore fetcher)", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it("removes its abort listener when the timer fires, so a long-lived signal collects none", async () => {
    const s = countingSignal();
    for (let i = 0; i < 5; i++) {
      const p = sleep(100, s.signal);
      expect(s.listeners()).toBe(1);
      await vi.advanceTimersByTimeAsync(100);
      await p;
      expect(s.listeners()).toBe(0);
    }
  });

  it("an abort during the sleep rejects with ABORTED and clears the timer", async () => {
    const s = countingSignal();
    const p = sleep(60_000, s.signal);
    const seen = p.catch((e) => e);
    expect(vi.getTimerCount()).toBe(1);
    s.ctl.abort();
    const e = await seen;
    expect(isLtxError(e, "ABORTED"), String(e)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("an already aborted signal rejects at once and starts no timer", async () => {
    const ctl = new AbortController();
    ctl.abort();
    const p = sleep(60_000, ctl.signal).catch((x) => x);
    expect(vi.getTimerCount()).toBe(0);
    await vi.runAllTimersAsync(); // a sleep that missed the abort would resolve here instead
    expect(isLtxError(await p, "ABORTED")).toBe(true);
  });

  it("without a signal it just waits", async () => {
    let done = false;
    const p = sleep(50).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(49);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);
  });
});
