/**
 * Time for the write path, injected so tests drive it and edge runtimes (alarms, cron) can replace
 * it. Core code reads time only through a Clock.
 */
import { LtxError } from "../errors.ts";

/** Wall time and sleeping. `sleep` rejects with an ABORTED LtxError when `signal` aborts. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function aborted(): LtxError {
  return new LtxError("ABORTED", "sleep aborted");
}

/** `Date.now` and `setTimeout` (every runtime has both). */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(aborted());
      const onAbort = () => {
        clearTimeout(t);
        reject(aborted());
      };
      const t = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  },
};

/**
 * A clock that moves only when told to: `advance(ms)` wakes every sleeper whose time has come, in
 * time order, letting each run before the next wakes. For tests and deterministic simulations.
 */
export class ManualClock implements Clock {
  #now: number;
  #sleepers: { at: number; seq: number; resolve: () => void }[] = [];
  #seq = 0;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** How many sleeps are pending. */
  get pending(): number {
    return this.#sleepers.length;
  }

  /** When the earliest pending sleep ends, or undefined when none is pending. */
  get nextWake(): number | undefined {
    return this.#sleepers.reduce<number | undefined>((m, s) => (m === undefined || s.at < m ? s.at : m), undefined);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(aborted());
      const entry = {
        at: this.#now + Math.max(0, ms),
        seq: this.#seq++,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#sleepers = this.#sleepers.filter((s) => s !== entry);
        reject(aborted());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sleepers.push(entry);
    });
  }

  /** Moves time forward by `ms`, waking sleepers in order and letting pending work settle between wakes. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await settle();
      const next = this.#sleepers.filter((s) => s.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.#sleepers = this.#sleepers.filter((s) => s !== next);
      this.#now = Math.max(this.#now, next.at);
      next.resolve();
    }
    this.#now = end;
    await settle();
  }

  /**
   * Moves time forward without letting anything run, for drivers that call tick() themselves.
   * Throws when a pending sleep would end in between (use advance then).
   */
  skip(ms: number): void {
    const end = this.#now + ms;
    if (this.#sleepers.some((s) => s.at <= end)) throw new Error("ManualClock.skip: a sleeper is due; use advance()");
    this.#now = end;
  }

  /** Sets the time (forward only) without waking anyone in between; sleepers due by then wake in order. */
  async set(t: number): Promise<void> {
    if (t < this.#now) throw new Error("ManualClock.set: time only moves forward");
    await this.advance(t - this.#now);
  }
}

/** Lets queued promise callbacks run (a few macrotask turns, so chained awaits on I/O-free stores finish). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setTimeout(r, 0));
}
