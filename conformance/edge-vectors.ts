/**
 * The edge vectors and what is expected of each: the shared ones (conformance/vectors/ltx-vectors/
 * edge, verdicts of Go's decoder at ltx main in its manifest) with the error codes ltxkit gives, and
 * the rule-by-rule ones of conformance/fixtures/edge-ltx (see conformance/gen-edge-vectors.ts).
 */
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { ErrorCode } from "../lib/errors.ts";

const here = dirname(fileURLToPath(import.meta.url));
const SHARED = join(here, "vectors", "ltx-vectors");
const OURS = join(here, "fixtures", "edge-ltx");

export type Verdict = ErrorCode | "ok";

export interface EdgeVector {
  name: string;
  path: string;
  /** Page encoding of the file's pages, when it has one throughout. */
  encoding?: "block" | "frame";
  rule: string;
  lenient: Verdict;
  strict: Verdict;
  /** Go's recorded verdict (ltx v0.5.2, or main 8cb8f8e for the shared vectors: the same decoder). */
  goRecorded: string;
  /** ltx v0.5.1's recorded verdict, for frame-encoded files (the ones v0.5.1 can read). */
  frameV051?: string;
  /** Every recorded verdict by tool (the shared manifest's main verdict stands for v0.5.2). */
  recorded: { "ltx-v0.5.2": string; "ltx-v0.5.1": string; ltxoracle?: string };
  /** Shared vectors: ltxkit's lenient message carries Go's reason. */
  sameMessage: boolean;
}

/** ltxkit's codes for the shared edge vectors: lenient, strict. */
const SHARED_CODES: Record<string, [Verdict, Verdict, string]> = {
  "control-valid": ["ok", "ok", "a valid file"],
  "bad-magic": ["INVALID_LTX_FILE", "INVALID_LTX_FILE", "magic LTX2"],
  "bad-flag-bit0": ["INVALID_HEADER", "INVALID_HEADER", "header flag 0x1"],
  "bad-pagesize": ["INVALID_HEADER", "INVALID_HEADER", "page size 1000"],
  "page-flag-bit1": ["INVALID_PAGE_HEADER", "INVALID_PAGE_HEADER", "page flags 0x0003"],
  "block-payload-flag0": ["CORRUPT_LZ4", "CORRUPT_LZ4", "a block payload under page flags 0"],
  "file-checksum-no-flag": ["CHECKSUM_MISMATCH", "CHECKSUM_MISMATCH", "file checksum without bit 63"],
  "trailing-byte": ["CHECKSUM_MISMATCH", "TRAILING_DATA", "one byte after the trailer"],
  "snapshot-wrong-post": ["CHECKSUM_MISMATCH", "CHECKSUM_MISMATCH", "wrong post-apply in a tracked snapshot"],
  "truncated-after-endmarker": ["UNEXPECTED_EOF", "UNEXPECTED_EOF", "file cut 5 bytes after the end marker (Go panics)"],
  "out-of-order": ["ok", "INVALID_PAGE", "pages 3 then 2"],
  "duplicate-pgno": ["ok", "INVALID_PAGE", "page 2 twice"],
  "pgno-gt-commit": ["ok", "INVALID_PAGE", "page 2 in a file of commit 1"],
  "lockpage-present": ["ok", "INVALID_PAGE", "the lock page"],
  "snapshot-missing-page": ["ok", "INVALID_PAGE", "snapshot lacking page 2"],
  "nochecksum-with-post": ["ok", "INVALID_TRAILER", "post-apply in a NoChecksum file"],
  "short-decompress": ["ok", "CORRUPT_LZ4", "LZ4 block decoding to 100 of 512 bytes"],
};

interface SharedEntry {
  path: string;
  go_verify: Record<string, string>;
}
interface OurEntry {
  file: string;
  encoding: "block" | "frame";
  rule: string;
  lenient: Verdict;
  strict: Verdict;
  go_verify: Record<string, string>;
}

/** Every edge vector, shared ones first. Throws if a shared vector has no expected codes. */
export function edgeVectors(): EdgeVector[] {
  const shared = (JSON.parse(readFileSync(join(SHARED, "manifest.json"), "utf8")).files as SharedEntry[]).filter((f) => f.path.startsWith("edge/"));
  const out: EdgeVector[] = shared.map((f) => {
    const key = f.path.replace(/^edge\/|\.ltx$/g, "");
    const c = SHARED_CODES[key];
    if (!c) throw new Error(`no expected codes for shared edge vector ${f.path}`);
    return { name: f.path, path: join(SHARED, f.path), rule: c[2], lenient: c[0], strict: c[1], goRecorded: f.go_verify["ltx@HEAD-8cb8f8e"]!,
      recorded: { "ltx-v0.5.2": f.go_verify["ltx@HEAD-8cb8f8e"]!, "ltx-v0.5.1": f.go_verify["ltx@v0.5.1"]! }, sameMessage: true };
  });
  for (const e of JSON.parse(readFileSync(join(OURS, "manifest.json"), "utf8")) as OurEntry[]) {
    out.push({
      name: e.file, path: join(OURS, e.file), encoding: e.encoding, rule: e.rule, lenient: e.lenient, strict: e.strict,
      goRecorded: e.go_verify["ltx-v0.5.2"]!, frameV051: e.encoding === "frame" ? e.go_verify["ltx-v0.5.1"]! : undefined,
      recorded: { "ltx-v0.5.2": e.go_verify["ltx-v0.5.2"]!, "ltx-v0.5.1": e.go_verify["ltx-v0.5.1"]!, ltxoracle: e.go_verify["ltxoracle"]! }, sameMessage: false,
    });
  }
  return out;
}
