/**
 * A byte budget shared by tasks that hold buffers: a task declares what it may hold and waits while
 * the others hold too much. The WAL path builds its L0 files under one budget per process, so a
 * hundred databases syncing a burst at once hold a few megabytes of pages, not a few hundred, while
 * the usual sync of a few pages never waits (it keeps its fsyncs overlapping with the others').
 */
export class ByteGate {
  readonly limit: number;
  #used = 0;
  #waiting: { n: number; go: () => void }[] = [];

  constructor(limit: number) {
    this.limit = Math.max(1, Math.floor(limit));
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** Tasks waiting for room. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `task` once `bytes` (at most the whole limit) are free; tasks wait in arrival order, so a
   * large one is not passed over by a stream of small ones.
   */
  async run<T>(bytes: number, task: () => Promise<T>): Promise<T> {
    const n = Math.min(this.limit, Math.max(0, Math.ceil(bytes)));
    // Whoever wakes a waiter counts its bytes for it, so two wakes never see the same room.
    if (this.#waiting.length > 0 || this.#used + n > this.limit) await new Promise<void>((go) => this.#waiting.push({ n, go }));
    else this.#used += n;
    try {
      return await task();
    } finally {
      this.#used -= n;
      this.#wake();
    }
  }

  #wake(): void {
    while (this.#waiting.length > 0 && this.#used + this.#waiting[0]!.n <= this.limit) {
      const w = this.#waiting.shift()!;
      this.#used += w.n;
      w.go();
    }
  }
}

/**
 * The budget of the WAL path's L0 builds in this process: what a build may hold is the WAL it has
 * to read (at most 4 MiB: the read windows, the encoder's output and the write chunk), or 4 MiB
 * for a snapshot.
 */
export const l0Builds = new ByteGate(16 << 20);
export const L0_BUILD_MAX = 4 << 20;
