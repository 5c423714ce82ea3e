/**
 * The shared limits of one restore's fetches: a count of open requests and a byte budget for
 * bodies read ahead of their consumers.
 */

/**
 * A counter of request permits that never blocks (not a semaphore): `tryTake()` takes a permit
 * only when one is free; `take()` always succeeds, so the part a consumer waits for never waits
 * (the count may then go below zero).
 */
export class PermitCounter {
  #free: number;
  constructor(n: number) {
    this.#free = Math.max(1, n);
  }
  /** Permits free now (negative when forced takes exceed the count). */
  get free(): number {
    return this.#free;
  }
  tryTake(): boolean {
    if (this.#free <= 0) return false;
    this.#free--;
    return true;
  }
  /** Takes a permit without waiting, even if none is free. */
  take(): void {
    this.#free--;
  }
  release(): void {
    this.#free++;
  }
}

/** Bytes read ahead but not yet consumed, shared by the files of one restore. */
export class Budget {
  #left: number;
  #waiters: (() => void)[] = [];
  constructor(bytes: number) {
    this.#left = bytes;
  }
  get left(): number {
    return this.#left;
  }
  take(n: number): void {
    this.#left -= n;
  }
  give(n: number): void {
    this.#left += n;
    if (this.#left > 0) for (const w of this.#waiters.splice(0)) w();
  }
  /** Resolves at the next give() that leaves budget free. */
  wait(): Promise<void> {
    return new Promise((r) => this.#waiters.push(r));
  }
}
