/**
 * Every edge vector, the shared ones (conformance/vectors/ltx-vectors/edge) and the rule-by-rule
 * ones (conformance/fixtures/edge-ltx, written by conformance/gen-edge-vectors.ts with valid
 * checksums), gets its exact error code in lenient and in strict mode, and lenient mode accepts
 * exactly what Go's decoder accepts (the verdicts recorded in the manifests; conformance/
 * edge-go.test.ts takes them live from the Go tools). Needs no Go, so it runs on every runtime.
 */
import { readFileSync } from "node:fs";
import { describe, it, expect } from "vitest";
import { decodeLtx, verifyLtx } from "../../lib/ltx/decoder.ts";
import { encodeLtxBytes } from "../../lib/ltx/encoder.ts";
import { LtxError } from "../../lib/errors.ts";
import { edgeVectors } from "../../conformance/edge-vectors.ts";

async function verdict(bytes: Uint8Array, strict: boolean): Promise<"ok" | LtxError> {
  try {
    await verifyLtx(bytes, { strict });
    return "ok";
  } catch (e) {
    if (!(e instanceof LtxError)) throw e;
    return e;
  }
}
const code = async (bytes: Uint8Array, strict: boolean) => {
  const v = await verdict(bytes, strict);
  return v === "ok" ? v : v.code;
};

describe("edge vectors: exact error codes in lenient and strict mode", () => {
  for (const v of edgeVectors()) {
    it(`${v.name}: lenient ${v.lenient}, strict ${v.strict} (${v.rule})`, async () => {
      const bytes = new Uint8Array(readFileSync(v.path));
      expect(await code(bytes, false), "lenient").toBe(v.lenient);
      expect(await code(bytes, true), "strict").toBe(v.strict);
    });
  }
});

describe("edge vectors: lenient mode accepts exactly what Go accepts (recorded verdicts)", () => {
  for (const v of edgeVectors()) {
    it(`${v.name}: ${v.goRecorded}`, async () => {
      const lenient = await code(new Uint8Array(readFileSync(v.path)), false);
      // Block pages are Litestream ≥ v0.5.16 data (ltx v0.5.2); frame pages must also satisfy v0.5.1.
      expect(lenient === "ok", `lenient ${lenient}, Go: ${v.goRecorded}`).toBe(v.goRecorded === "ok");
      if (v.frameV051 !== undefined) expect(lenient === "ok", `lenient ${lenient}, ltx v0.5.1: ${v.frameV051}`).toBe(v.frameV051 === "ok");
      if (v.sameMessage && v.goRecorded !== "ok" && !v.goRecorded.startsWith("PANIC")) {
        // Go numbers pages from 0 and we from 1; the reason after the prefix must match.
        const reason = v.goRecorded.replace(/^(decode header|decode page \d+|close reader): /, "");
        expect(((await verdict(new Uint8Array(readFileSync(v.path)), false)) as LtxError).message).toContain(reason);
      }
    });
  }
});

describe("the rule-by-rule edge vectors cover every strict rule in both page encodings", () => {
  it("each strict-only rule has a block and a frame vector that Go accepts", () => {
    const ours = edgeVectors().filter((v) => !v.sameMessage);
    const strictOnly = ours.filter((v) => v.lenient === "ok" && v.strict !== "ok" && v.goRecorded === "ok");
    const names = (enc: string) => new Set(strictOnly.filter((v) => v.encoding === enc).map((v) => v.name.replace(/^(block|frame)-|\.ltx$/g, "")));
    expect([...names("block")].sort()).toEqual([
      "duplicate-page", "index-extra-entry", "index-missing-entry", "index-size-field", "index-wrong-offset", "index-wrong-size", "lock-page",
      "nochecksum-with-post", "out-of-order", "pgno-above-commit", "short-page", "short-page-after-page", "snapshot-gap", "snapshot-incomplete", "snapshot-not-from-1", "trailing-bytes",
    ]);
    // A short frame is not a Go leniency: only the block encoding's short decode is.
    expect([...names("frame")].sort()).toEqual([...names("block")].filter((n) => !n.startsWith("short-page")).sort());
  });
});

describe("the encoder and the strict decoder share one page-order rule set", () => {
  for (const v of edgeVectors().filter((e) => e.strict === "INVALID_PAGE" && e.lenient === "ok")) {
    it(`${v.name}: the encoder refuses the same pages with the same message`, async () => {
      const bytes = new Uint8Array(readFileSync(v.path));
      const strict = (await verdict(bytes, true)) as LtxError;
      const d = await decodeLtx(bytes);
      let enc: unknown;
      try {
        encodeLtxBytes(d.header, d.pages, { postApplyChecksum: d.trailer.postApplyChecksum });
      } catch (e) {
        enc = e;
      }
      expect(enc).toBeInstanceOf(LtxError);
      expect((enc as LtxError).code).toBe("INVALID_PAGE");
      expect(strict.message).toContain((enc as LtxError).message.replace("cannot encode lock page", "lock page present"));
    });
  }
});
