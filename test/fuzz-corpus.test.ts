// Replays the fuzz corpus in CI: every committed input of test/fuzz-corpus/<target>/ (each one made
// a parser fail before its fix) and a few hundred fixed-seed mutants of each target's seeds, through
// the targets of test/fuzz/harness.mjs. Each must return or throw an LtxError with a known code; a
// target resolves to its outcome ("ok", or the code of the LtxError, with the decoder's stage for
// the LTX targets) and rethrows anything else. The long runs are bench/fuzz/run.mjs.
import { describe, it, expect } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
// @ts-expect-error: plain ES module without types, shared with bench/fuzz/run.mjs
import { makeTargets, mutate, rng, TARGETS } from "./fuzz/harness.mjs";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const MUTANTS = 300;

function ltxSeeds(): Record<string, Uint8Array[]> {
  const all: Record<string, Uint8Array[]> = { ltx: [], "ltx-v3": [], "ltx-v2": [], "ltx-v1": [] };
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ltx")) {
        const b = new Uint8Array(readFileSync(p));
        if (b.length > 64 * 1024) continue;
        const v = /\/v1\//.test(p) ? "ltx-v1" : /\/v2\//.test(p) ? "ltx-v2" : "ltx-v3";
        all[v]!.push(b);
        if (v === "ltx-v3") all.ltx!.push(b);
      }
    }
  };
  walk(join(root, "conformance", "vectors"));
  return all;
}

function corpus(target: string): [string, Uint8Array][] {
  const d = join(root, "test", "fuzz-corpus", target);
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((f) => f.endsWith(".bin"))
    .sort()
    .map((f) => [f, new Uint8Array(readFileSync(join(d, f)))]);
}

// Static imports (a bundler resolves no variable paths), keyed as the harness names them.
const modules: Record<string, () => Promise<unknown>> = {
  errors: () => import("../lib/errors.ts"),
  "ltx/decoder": () => import("../lib/ltx/decoder.ts"),
  "ltx/lz4-block": () => import("../lib/ltx/lz4-block.ts"),
  "ltx/lz4-compress": () => import("../lib/ltx/lz4-compress.ts"),
  "ltx/lz4-frame": () => import("../lib/ltx/lz4-frame.ts"),
  "ltx/page-index": () => import("../lib/ltx/page-index.ts"),
  "ltx/checksum": () => import("../lib/ltx/checksum.ts"),
  "capture/wal": () => import("../lib/capture/wal.ts"),
  "capture/wal-reader": () => import("../lib/capture/wal-reader.ts"),
  "replica/url": () => import("../lib/replica/url.ts"),
  "cli/config": () => import("../lib/cli/config.ts"),
};
const targets = await makeTargets((p: string) => modules[p]!(), ltxSeeds());
const { ERROR_CODES } = await import("../lib/errors.ts");

/** True for an outcome a target may resolve to: ok (with a detail), a known error code (with a stage), or a skip. */
function allowed(outcome: unknown): boolean {
  if (/^ok(?: \((?:verify|pages committed|a page committed|nothing committed)\))?$/.test(String(outcome)) || outcome === "skipped (dir)") return true;
  const m = /^([A-Z0-9_]+)(?: \((?:header|pages|trailer|verify)\))?$/.exec(String(outcome));
  return m !== null && (ERROR_CODES as readonly string[]).includes(m[1]!);
}

describe("fuzz corpus replay", () => {
  it("has every target and seeds for each", () => {
    expect(Object.keys(targets).sort()).toEqual([...TARGETS].sort());
    for (const t of TARGETS) expect(targets[t].seeds.length, t).toBeGreaterThan(0);
  });

  // One test over every target's committed inputs (most targets have none: no failure was found
  // there), so that a target without regression inputs is not a skipped test.
  const committed = (TARGETS as string[]).flatMap((t) => corpus(t).map(([name, input]) => ({ t, name, input })));
  it(`every committed input returns or throws a typed LtxError (${committed.length} inputs: ${[...new Set(committed.map((c) => c.t))].join(", ")})`, async () => {
    expect(committed.length).toBeGreaterThan(0);
    for (const { t, name, input } of committed) {
      const outcome = await targets[t].run(input);
      expect(allowed(outcome), `${t}/${name}: ${outcome}`).toBe(true);
    }
  });

  for (const t of TARGETS as string[]) {

    it(`${MUTANTS} fixed-seed mutants of the ${t} seeds return or throw a typed LtxError`, async () => {
      const next = rng(12345 + TARGETS.indexOf(t));
      const seeds = targets[t].seeds;
      const outcomes = new Set<string>();
      for (let i = 0; i < MUTANTS; i++) {
        const input = mutate(seeds[next() % seeds.length], next, seeds, 1 << 20);
        const outcome = await targets[t].run(input);
        expect(allowed(outcome), `${t} mutant ${i}: ${outcome}`).toBe(true);
        outcomes.add(String(outcome));
      }
      // The mutants end in more than one way: not all in one error (a target that rejects everything).
      expect(outcomes.size, `${t}: ${[...outcomes].join(", ")}`).toBeGreaterThan(1);
    }, 120_000);
  }
});
