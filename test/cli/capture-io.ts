import type { CliIO } from "../../lib/cli/io.ts";

/** A CliIO that records output, for running commands in-process. */
export function captureIO(): CliIO & { stdout: string; stderr: string } {
  const io = {
    stdout: "",
    stderr: "",
    isTTY: false,
    out(t: string) {
      io.stdout += t.endsWith("\n") ? t : t + "\n";
    },
    err(t: string) {
      io.stderr += t.endsWith("\n") ? t : t + "\n";
    },
  };
  return io;
}
