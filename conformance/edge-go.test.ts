/**
 * Go's verdicts on every edge vector (the shared ones and conformance/fixtures/edge-ltx), taken live
 * from the real decoders: `ltx verify` of ltx v0.5.2 and v0.5.1 and the ltxoracle (ltx v0.5.2 read
 * page by page). Each live verdict must equal the one recorded in the manifests, and ltxkit's
 * lenient mode must accept exactly what v0.5.2 accepts (and, for frame pages, what v0.5.1 accepts),
 * decoding the pages Go decodes.
 * Skips visibly without the Go tools; LTXKIT_REQUIRE_GO=1 makes their absence a failure.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it, expect } from "vitest";
import { decodeLtx, verifyLtx } from "../lib/ltx/decoder.ts";
import { LtxError } from "../lib/errors.ts";
import { mustGoTool, skipWithoutGo } from "./go-tools.ts";
import { goVerdicts, VERDICT_TOOLS } from "./go-verdicts.ts";
import { edgeVectors } from "./edge-vectors.ts";

describe.skipIf(skipWithoutGo(...VERDICT_TOOLS))("edge vectors: live Go verdicts equal the recorded ones and ltxkit's lenient verdict", () => {
  for (const v of edgeVectors()) {
    it(`${v.name}: ${v.goRecorded}`, async () => {
      const live = goVerdicts(v.path);
      expect(live["ltx-v0.5.2"], "ltx v0.5.2 verify, live vs recorded").toBe(v.recorded["ltx-v0.5.2"]);
      expect(live["ltx-v0.5.1"], "ltx v0.5.1 verify, live vs recorded").toBe(v.recorded["ltx-v0.5.1"]);
      // The oracle reads with the same v0.5.2 decoder as `ltx verify`, page by page.
      expect(live.ltxoracle, "ltxoracle decode").toBe(v.recorded.ltxoracle ?? live["ltx-v0.5.2"]);
      let lenient: string = "ok";
      await verifyLtx(new Uint8Array(readFileSync(v.path))).catch((e) => {
        if (!(e instanceof LtxError)) throw e;
        lenient = e.code;
      });
      expect(lenient, `ltxkit lenient vs ltx v0.5.2: ${live["ltx-v0.5.2"]}`).toBe(live["ltx-v0.5.2"] === "ok" ? "ok" : v.lenient);
      expect(lenient === "ok", `ltxkit lenient vs ltxoracle: ${live.ltxoracle}`).toBe(live.ltxoracle === "ok");
      if (v.encoding === "frame") expect(lenient === "ok", `ltxkit lenient vs ltx v0.5.1: ${live["ltx-v0.5.1"]}`).toBe(live["ltx-v0.5.1"] === "ok");
      if (live.ltxoracle === "ok") {
        // Accepted files decode to Go's pages, byte for byte (a short block's tail included).
        const go = JSON.parse(execFileSync(mustGoTool("ltxoracle"), ["decode", v.path], { encoding: "utf8" })) as { pages: { pgno: number; sha256: string }[] };
        const d = await decodeLtx(new Uint8Array(readFileSync(v.path)));
        expect(d.pages.map((p) => ({ pgno: p.pgno, sha256: createHash("sha256").update(p.data).digest("hex") }))).toEqual(go.pages);
      }
    });
  }
});
