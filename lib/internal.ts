/**
 * Hooks for ltxkit's own tests and benchmarks: the pure-TypeScript kernels, range-checked LZ4 entry
 * points, the restore fetcher's building blocks and helpers the CLI shares. Not part of the public
 * API and not in the package's exports map: names here may change in any release.
 *
 * @internal
 * @module
 */
export { wrapError } from "./errors.ts";
export { decompressBlockAt, decompressLoops } from "./ltx/lz4-block.ts";
export { compressLoops } from "./ltx/lz4-compress.ts";
export { frameLength } from "./ltx/lz4-frame.ts";
export { isContiguous } from "./ltx/compactor.ts";
export { ByteSource } from "./ltx/byte-source.ts";
export { decodePageIndexEntries, ESTIMATED_PAGE_INDEX_SIZE } from "./ltx/page-index.ts";
export { formatRFC3339, formatRFC3339Nano, formatTimestampMilli } from "./ltx/txid.ts";
export { fetchFile } from "./replica/fetch.ts";
export { Budget, PermitCounter } from "./replica/permits.ts";
export { candidateBetter } from "./replica/plan.ts";
export { windowStart } from "./replica/schedule.ts";
export { cleanPath, redact } from "./replica/url.ts";
export { METADATA_TIMESTAMP } from "./replica/list.ts";
