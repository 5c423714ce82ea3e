/** Output plumbing shared by CLI commands: text, JSON, progress on a TTY. */
import process from "node:process";

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress bars go there). */
  readonly isTTY: boolean;
}

export function processIO(): CliIO {
  return {
    out: (t) => void process.stdout.write(t.endsWith("\n") ? t : t + "\n"),
    err: (t) => void process.stderr.write(t.endsWith("\n") ? t : t + "\n"),
    isTTY: Boolean(process.stderr.isTTY),
  };
}

/** Writes JSON the way every `--json` output is written: one document, two-space indent. */
export function printJSON(io: CliIO, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** A one-line progress bar on a TTY; silent elsewhere. */
export function progressBar(io: CliIO, label: string): { update(done: number, total: number, extra?: string): void; done(): void } {
  let last = 0;
  return {
    update(done, total, extra = "") {
      if (!io.isTTY) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const width = 30;
      const fill = Math.round(frac * width);
      process.stderr.write(`\r${label} [${"#".repeat(fill)}${" ".repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${extra}\x1b[K`);
    },
    done() {
      if (io.isTTY) process.stderr.write("\n");
    },
  };
}
