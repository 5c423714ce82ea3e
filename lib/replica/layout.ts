/**
 * Litestream's key schemes (spec: litestream-replica.md §1.1). They differ per backend:
 * - file replicas: `<dir>/ltx/<level decimal>/<min>-<max>.ltx` (the store root is `<dir>`),
 * - S3 replicas:   `<prefix>/<level %04x>/<min>-<max>.ltx`.
 */
import { LtxError } from "../errors.ts";
import { formatFilename, tryParseFilename } from "../ltx/txid.ts";

/** How a replica names its LTX files: the key of a (level, min, max) file and the prefix of a level. */
export interface ReplicaLayout {
  /** The key prefix of one level, ending in `/`. */
  levelPrefix(level: number): string;
  /** The key of one LTX file. */
  key(level: number, minTXID: bigint, maxTXID: bigint): string;
  /** Parses a key of this layout; null for anything else (temp files, other objects). */
  parseKey(key: string): { level: number; minTXID: bigint; maxTXID: bigint } | null;
  /** The key prefix every object of the replica starts with ("" for the whole store). */
  readonly root: string;
}

function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new LtxError("INVALID_ARGUMENT", `invalid level: ${level} (0..9)`);
}

/** `ltx/<L>/<min>-<max>.ltx` relative to the replica directory. */
export const fileLayout: ReplicaLayout = {
  root: "ltx/",
  levelPrefix(level) {
    checkLevel(level);
    return `ltx/${level}/`;
  },
  key(level, min, max) {
    return this.levelPrefix(level) + formatFilename(min, max);
  },
  parseKey(key) {
    const m = /^ltx\/(\d)\/([^/]+)$/.exec(key);
    if (!m) return null;
    const f = tryParseFilename(m[2]!);
    return f ? { level: Number(m[1]), ...f } : null;
  },
};

/**
 * `<prefix>/<%04x>/<min>-<max>.ltx`. The prefix is used verbatim ("." when the URL path was empty);
 * trailing slashes are dropped, and an empty prefix means keys at the bucket root. With `exact`, the
 * keys are `prefix + "/" + …` whatever the prefix holds, as Go Litestream builds them from a config
 * file's `path:` (a leading or trailing `/` kept, an empty path giving `/0000/…`).
 */
export function s3Layout(prefix: string, exact = false): ReplicaLayout {
  const base = exact ? prefix + "/" : prefix === "" ? "" : prefix.replace(/\/+$/, "") + "/";
  return {
    root: base,
    levelPrefix(level) {
      checkLevel(level);
      return `${base}${level.toString(16).padStart(4, "0")}/`;
    },
    key(level, min, max) {
      return this.levelPrefix(level) + formatFilename(min, max);
    },
    parseKey(key) {
      if (!key.startsWith(base)) return null;
      const m = /^([0-9a-f]{4})\/([^/]+)$/.exec(key.slice(base.length));
      if (!m) return null;
      const level = parseInt(m[1]!, 16);
      const f = tryParseFilename(m[2]!);
      return f && level <= 9 ? { level, ...f } : null;
    },
  };
}
