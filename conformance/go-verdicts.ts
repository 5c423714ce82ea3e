/**
 * Go's verdict on an LTX file, taken by running the real decoders: `ltx verify` of superfly/ltx
 * v0.5.2 (what Litestream v0.5.16 links) and v0.5.1 (Litestream v0.5.4 – v0.5.15), and the
 * ltxoracle's decode (the v0.5.2 library read page by page). A verdict is "ok", the error Go
 * printed (without the path), or "PANIC: <message>" when Go crashed.
 */
import { spawnSync } from "node:child_process";
import { mustGoTool, type GoToolName } from "./go-tools.ts";

export const VERDICT_TOOLS = ["ltx-v0.5.2", "ltx-v0.5.1", "ltxoracle"] as const satisfies readonly GoToolName[];
export type VerdictTool = (typeof VERDICT_TOOLS)[number];

function run(tool: VerdictTool, args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(mustGoTool(tool), args, { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return r;
}

function panicOf(stderr: string): string | null {
  const m = /^panic: (.*)$/m.exec(stderr);
  return m ? `PANIC: ${m[1]!.trim()}` : null;
}

/** The verdict of one tool on one file. */
export function goVerdict(tool: VerdictTool, path: string): string {
  if (tool === "ltxoracle") {
    const r = run(tool, ["decode", path]);
    const p = panicOf(r.stderr);
    if (p) return p;
    if (r.status !== 0) throw new Error(`ltxoracle decode ${path} exited ${r.status}: ${r.stderr}`);
    const o = JSON.parse(r.stdout) as { error?: string };
    return o.error ?? "ok";
  }
  const r = run(tool, ["verify", path]);
  const p = panicOf(r.stderr);
  if (p) return p;
  const out = r.stdout.trim();
  if (r.status === 0 && out === "ok") return "ok";
  const line = out.split("\n").find((l) => l.startsWith(`${path}: `));
  if (r.status !== 1 || !line) throw new Error(`${tool} verify ${path}: unexpected output (exit ${r.status}): ${out} ${r.stderr}`);
  return line.slice(path.length + 2);
}

/** The verdicts of every tool on one file. */
export function goVerdicts(path: string): Record<VerdictTool, string> {
  return Object.fromEntries(VERDICT_TOOLS.map((t) => [t, goVerdict(t, path)])) as Record<VerdictTool, string>;
}
