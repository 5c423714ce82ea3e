/**
 * Litestream-format YAML configuration for `ltxkit replicate` (spec: litestream-replica.md §1.5,
 * §4.4, §6.2). The file is read as Litestream v0.5.16 reads it (environment expansion of the raw
 * text, YAML 1.1 scalars, Go durations, `~` and relative paths made absolute, global replica
 * settings as defaults), with two differences: an unknown key is an error naming its path instead of
 * being ignored, and a database may list several replicas.
 *
 * Messages name the key (`dbs[0].replica.sync-interval`) and the offending value, except for
 * credentials, whose values never appear in a message.
 */
import { promises as fsp } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import process from "node:process";
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node as YNode } from "yaml";
import { LtxError } from "../errors.ts";
import type { CompactionConfig } from "../replica/schedule.ts";
import { cleanPath, parseReplicaURL, redact } from "../replica/url.ts";

/** One replica destination of a database: a URL `openReplica` accepts, plus credentials. */
export interface ReplicaTargetConfig {
  /** A plain absolute path for file replicas; `s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=…` for S3. */
  url: string;
  /** Credentials from the config, as environment names (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`);
   *  merged over the process environment when the replica is opened. Empty when the config has none. */
  env: Record<string, string | undefined>;
  /** Upload cadence of this replica (ms). */
  syncInterval: number;
  /**
   * S3 only: the key prefix exactly as Go Litestream uses a config file's `path:` (keys are
   * `keyPrefix + "/" + …`), set when it differs from the URL's cleaned prefix (a leading or trailing
   * `/`, an empty path). Open the replica with `s3Layout(keyPrefix, true)`.
   */
  keyPrefix?: string;
}

/** One database to replicate, with every per-database setting resolved (defaults applied). */
export interface ReplicateDbConfig {
  /** Absolute database path (directory replication expands to one entry per database found). */
  path: string;
  /** Absolute meta directory, when configured (default: `<dir>/.<file>-litestream`). */
  metaPath?: string;
  replicas: ReplicaTargetConfig[];
  /** ms between captures of the WAL (`monitor-interval`, default 1 s). */
  monitorInterval: number;
  /** ms (`checkpoint-interval`, default 1 min). */
  checkpointInterval: number;
  /** WAL pages before a PASSIVE checkpoint (`min-checkpoint-page-count`, default 1000). */
  minCheckpointPageCount: number;
  /** WAL pages before a TRUNCATE checkpoint (`truncate-page-n`, default 121359). */
  truncatePageN: number;
  /** ms (`busy-timeout`, default 1 s). */
  busyTimeout: number;
  /** Upload cadence (ms): the `sync-interval` of the first replica (default 1 s). */
  syncInterval: number;
  /** Most WAL bytes one capture reads (`max-sync-wal-bytes`; default: ltxkit's DEFAULT_MAX_SYNC_WAL_BYTES). */
  maxSyncWalBytes?: number;
  /** Restore the database from its first replica before replicating when the file does not exist (`restore-if-db-not-exists`). */
  restoreIfNotExists: boolean;
}

/** A `dir:` entry with `watch: true`: databases appearing under it later are replicated too. */
export interface WatchedDirectory {
  /** Absolute directory. */
  dir: string;
  pattern: string;
  recursive: boolean;
  /** The database configuration for a database found under `dir` (absolute path), as the config would have made it at start. */
  configFor(dbPath: string): ReplicateDbConfig;
}

/** A whole `ltxkit replicate` configuration. */
export interface ReplicateConfig {
  dbs: ReplicateDbConfig[];
  /** Only the keys the file sets (`levels`, `snapshot`, `l0-retention`, `retention.enabled`). */
  compaction: Partial<CompactionConfig>;
  /** `exec:`, a command run beside replication. */
  exec?: string;
  /** `shutdown-sync-timeout` (ms): how long the final sync may take on shutdown. */
  shutdownTimeout?: number;
  /** Directory entries with `watch: true`, rescanned while replicating. */
  watched: WatchedDirectory[];
}

/** Litestream's defaults for a database and its replicas (v0.5.16). */
export const DB_DEFAULTS = {
  monitorInterval: 1000,
  checkpointInterval: 60_000,
  busyTimeout: 1000,
  minCheckpointPageCount: 1000,
  truncatePageN: 121_359,
  syncInterval: 1000,
} as const;

/** Litestream's default configuration path on Unix. */
export const DEFAULT_CONFIG_PATH = "/etc/litestream.yml";

/** The configuration path used when none is given: `$LITESTREAM_CONFIG`, else /etc/litestream.yml. */
export function defaultConfigPath(env: Record<string, string | undefined>): string {
  return env.LITESTREAM_CONFIG || DEFAULT_CONFIG_PATH;
}

export interface ConfigOptions {
  /** Environment for `$VAR` expansion (default: none). */
  env?: Record<string, string | undefined>;
  /** Expand `$VAR` and `${VAR}` in the raw text, as Litestream does unless `-no-expand-env` (default true). */
  expandEnv?: boolean;
  /** Value of `$PID` (default: this process). */
  pid?: number;
  /** Directory relative paths are resolved against (default: the current directory). */
  cwd?: string;
  /** Home directory for `~/` (default: the user's). */
  home?: string;
}

function fail(message: string): never {
  throw new LtxError("INVALID_CONFIG", message);
}

// ---------------------------------------------------------------------------------------------
// Environment expansion (Go's os.Expand)

const SHELL_SPECIAL = "*#$@!?-0123456789";
const isAlnum = (c: string) => /^[A-Za-z0-9_]$/.test(c);

/**
 * Expands `$NAME` and `${NAME}` as Go's `os.Expand` does: names are letters, digits and `_`, or one
 * special character (`$1`, `$$`…); `${}` and an unclosed `${` are dropped; a `$` followed by nothing
 * usable stays. Unset names expand to "".
 */
export function expandEnv(text: string, lookup: (name: string) => string): string {
  let out = "";
  let i = 0;
  for (let j = 0; j < text.length; j++) {
    if (text[j] !== "$" || j + 1 >= text.length) continue;
    out += text.slice(i, j);
    const rest = text.slice(j + 1);
    let name = "";
    let w = 0;
    if (rest[0] === "{") {
      if (rest.length > 2 && SHELL_SPECIAL.includes(rest[1]!) && rest[2] === "}") {
        name = rest[1]!;
        w = 3;
      } else {
        const close = rest.indexOf("}", 1);
        if (close === 1) w = 2; // "${}": bad syntax, eaten
        else if (close < 0) w = 1; // "${" without "}": bad syntax, eaten
        else {
          name = rest.slice(1, close);
          w = close + 1;
        }
      }
    } else if (SHELL_SPECIAL.includes(rest[0]!)) {
      name = rest[0]!;
      w = 1;
    } else {
      while (w < rest.length && isAlnum(rest[w]!)) w++;
      name = rest.slice(0, w);
    }
    if (name === "" && w === 0) out += "$"; // "$" not followed by a name: kept
    else if (name !== "") out += lookup(name);
    j += w;
    i = j + 1;
  }
  return i === 0 ? text : out + text.slice(i);
}

// ---------------------------------------------------------------------------------------------
// Go durations

const UNIT_NS: Record<string, bigint> = { ns: 1n, us: 1000n, "µs": 1000n, "μs": 1000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };
const MAX_NS = (1n << 63n) - 1n;

/** Parses a Go duration (`time.ParseDuration`: "1s", "500ms", "1h30m", "-1.5h", "0") into ms; null if invalid. */
export function parseGoDuration(s: string): number | null {
  let rest = s;
  let neg = false;
  if (rest[0] === "-" || rest[0] === "+") {
    neg = rest[0] === "-";
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return null;
  let total = 0n;
  while (rest !== "") {
    const m = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    const intPart = m[1]!, frac = m[2];
    if (intPart === "" && !frac) return null; // no digits
    rest = rest.slice(m[0].length);
    const u = /^[^\d.]+/.exec(rest);
    if (!u) return null; // missing unit
    const unit = UNIT_NS[u[0]];
    if (unit === undefined) return null;
    rest = rest.slice(u[0].length);
    let v = BigInt(intPart || "0") * unit;
    if (frac) v += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    total += v;
    if (total > MAX_NS) return null;
  }
  const ms = Number(total) / 1e6;
  return neg ? -ms : ms;
}

/** Formats ms as Go's `time.Duration.String()` ("1s", "1m30s", "500ms", "0s"). */
export function formatGoDuration(ms: number): string {
  let ns = BigInt(Math.round(ms * 1e6));
  if (ns === 0n) return "0s";
  const neg = ns < 0n;
  if (neg) ns = -ns;
  const fracStr = (v: bigint, digits: number) => {
    const d = 10n ** BigInt(digits);
    const f = (v % d).toString().padStart(digits, "0").replace(/0+$/, "");
    return (v / d).toString() + (f ? "." + f : "");
  };
  let s: string;
  if (ns < 1_000_000_000n) {
    if (ns < 1000n) s = `${ns}ns`;
    else if (ns < 1_000_000n) s = `${fracStr(ns, 3)}µs`;
    else s = `${fracStr(ns, 6)}ms`;
  } else {
    const h = ns / 3_600_000_000_000n;
    const m = (ns / 60_000_000_000n) % 60n;
    const sec = ns % 60_000_000_000n;
    s = `${fracStr(sec, 9)}s`;
    if (h > 0n || m > 0n) s = `${m}m` + s;
    if (h > 0n) s = `${h}h` + s;
  }
  return (neg ? "-" : "") + s;
}

// ---------------------------------------------------------------------------------------------
// Reading YAML nodes (YAML 1.1 scalars as Go's yaml.v2 reads them, every scalar kept as text)

type Value = YNode | null;

const YAML11_TRUE = new Set(["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]);
const YAML11_FALSE = new Set(["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]);
const YAML11_NULL = new Set(["", "~", "null", "Null", "NULL"]);

/** Keys Litestream v0.5.16 reads that ltxkit does not implement: named as such, not as unknown. */
const UNSUPPORTED_GLOBAL = ["addr", "socket", "validation", "l0-retention-check-interval", "verify-compaction", "heartbeat-url", "heartbeat-interval", "logging", "mcp-addr", "shutdown-sync-interval"];
const UNSUPPORTED_DB: string[] = [];
const UNSUPPORTED_REPLICA = [
  "validation-interval", "max-sync-ltx-files", "auto-recover", "sign-payload", "require-content-md5", "skip-verify", "storage-class", "part-size", "concurrency",
  "sse-customer-algorithm", "sse-customer-key", "sse-customer-key-path", "sse-kms-key-id", "account-name", "account-key", "sas-token", "host", "user", "password",
  "key-path", "concurrent-writes", "host-key", "webdav-url", "webdav-username", "webdav-password", "jwt", "seed", "creds", "nkey", "username", "token", "tls",
  "root-cas", "client-cert", "client-key", "max-reconnects", "reconnect-wait", "timeout",
];

/** Replica settings allowed both globally (as defaults) and per replica. */
const REPLICA_SETTINGS = ["sync-interval", "access-key-id", "secret-access-key", "region", "bucket", "endpoint", "force-path-style", "age"];

const AGE_MESSAGE = "age encryption is not currently supported, if you need encryption please revert back to Litestream v0.3.x";

class Reader {
  constructor(private readonly doc: Document.Parsed) {}

  private resolve(v: unknown): Value {
    let n = v as Value | undefined;
    for (let hops = 0; n && isAlias(n); hops++) {
      if (hops > 100) fail("alias chain too long");
      n = n.resolve(this.doc) as Value | undefined;
    }
    return n ?? null;
  }

  /** Null for an absent or null value (`key:`, `~`, `null`). */
  isNull(v: Value): boolean {
    const n = this.resolve(v);
    return n === null || (isScalar(n) && n.type === "PLAIN" && YAML11_NULL.has(String(n.value ?? "")));
  }

  private kind(n: Value): string {
    return isMap(n) ? "a mapping" : isSeq(n) ? "a list" : "a scalar";
  }

  /** The entries of a mapping, merge keys (`<<: *anchor`) applied, each key checked against `known`. */
  map(v: Value, path: string, known: readonly string[], unsupported: readonly string[] = []): Map<string, Value> {
    const n = this.resolve(v);
    const out = new Map<string, Value>();
    if (this.isNull(n)) return out;
    if (!isMap(n)) fail(`${path || "config"}: expected a mapping, got ${this.kind(n)}`);
    const merged: Array<[string, Value]> = [];
    for (const pair of n.items) {
      const k = this.resolve(pair.key);
      if (!isScalar(k)) fail(`${path || "config"}: a key is not a string`);
      const key = String(k.value ?? "");
      if (key === "<<" && k.type === "PLAIN") {
        const src = this.resolve(pair.value as Value);
        const maps = isSeq(src) ? src.items.map((x) => x as Value) : [src];
        for (const m of maps) for (const [mk, mv] of this.map(m, path, known, unsupported)) merged.push([mk, mv]);
        continue;
      }
      const full = path ? `${path}.${key}` : key;
      if (unsupported.includes(key)) fail(`${full}: not supported by ltxkit`);
      if (!known.includes(key)) fail(`${full}: unknown key`);
      out.set(key, this.resolve(pair.value as Value));
    }
    for (const [k, val] of merged) if (!out.has(k)) out.set(k, val);
    return out;
  }

  list(v: Value, path: string): Value[] {
    const n = this.resolve(v);
    if (this.isNull(n)) return [];
    if (!isSeq(n)) fail(`${path}: expected a list, got ${this.kind(n)}`);
    return n.items.map((x) => this.resolve(x as Value));
  }

  /** Any scalar as its text (Go's yaml.v2 decodes numbers and booleans into string fields verbatim). */
  str(v: Value, path: string): string | undefined {
    const n = this.resolve(v);
    if (this.isNull(n)) return undefined;
    if (!isScalar(n)) fail(`${path}: expected a string, got ${this.kind(n)}`);
    return String(n.value);
  }

  /** A value that must not be echoed in messages. */
  secret(v: Value, path: string): string | undefined {
    return this.str(v, path);
  }

  bool(v: Value, path: string): boolean | undefined {
    const s = this.str(v, path);
    if (s === undefined) return undefined;
    const n = this.resolve(v) as { type?: string };
    if (n.type === "PLAIN") {
      if (YAML11_TRUE.has(s)) return true;
      if (YAML11_FALSE.has(s)) return false;
    }
    fail(`${path}: invalid boolean ${JSON.stringify(s)} (true or false)`);
  }

  int(v: Value, path: string): number | undefined {
    const s = this.str(v, path);
    if (s === undefined) return undefined;
    const n = this.resolve(v) as { type?: string };
    const digits = s.replace(/_/g, "");
    if (n.type !== "PLAIN" || !/^[-+]?\d+$/.test(digits) || !Number.isSafeInteger(Number(digits))) fail(`${path}: invalid integer ${JSON.stringify(s)}`);
    return Number(digits);
  }

  duration(v: Value, path: string): number | undefined {
    const s = this.str(v, path);
    if (s === undefined) return undefined;
    // time.ParseDuration rules; a bare integer other than 0 has no unit and is refused (yaml.v2
    // would read it as nanoseconds, which no one means)
    const ms = parseGoDuration(s);
    if (ms === null) fail(`${path}: invalid duration ${JSON.stringify(s)} (e.g. 1s, 500ms, 1h30m)`);
    return ms;
  }
}

// ---------------------------------------------------------------------------------------------
// Paths

/** Litestream's `expand`: strips `sqlite://`/`sqlite3://`, expands `~`, makes the path absolute. */
export function expandPath(p: string, opts: ConfigOptions = {}): string {
  let s = p;
  for (const prefix of ["sqlite3://", "sqlite://"]) if (s.startsWith(prefix)) s = s.slice(prefix.length);
  if (s === "~" || s.startsWith("~/")) {
    const home = opts.home ?? os.homedir();
    if (!home) fail(`cannot expand path ${s}, no home directory available`);
    return nodePath.join(home, s.slice(1));
  }
  return nodePath.resolve(opts.cwd ?? process.cwd(), s);
}

/**
 * Go's `filepath.Match` on one path element: `*`, `?`, `[abc]`, `[a-z]`, `[^…]`, `\x`. Returns null
 * for a malformed pattern (Go's ErrBadPattern).
 */
export function matchPattern(pattern: string, name: string): boolean | null {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "\\") {
      if (++i >= pattern.length) return null;
      re += escapeRe(pattern[i]!);
    } else if (c === "[") {
      let j = i + 1;
      const negated = pattern[j] === "^";
      if (negated) j++;
      let cls = "";
      let items = 0;
      for (;;) {
        if (j >= pattern.length) return null;
        if (pattern[j] === "]" && items > 0) break;
        let lo = pattern[j]!;
        if (lo === "\\") {
          if (++j >= pattern.length) return null;
          lo = pattern[j]!;
        } else if (lo === "]" || lo === "-") return null;
        j++;
        let hi = lo;
        if (pattern[j] === "-" && pattern[j + 1] !== "]") {
          j++;
          const h = pattern[j];
          if (h === undefined) return null;
          if (h === "\\") {
            if (++j >= pattern.length) return null;
          }
          hi = pattern[j]!;
          j++;
        }
        // a reversed range (z-a) is valid in Go and matches nothing
        if (lo <= hi) cls += lo === hi ? escapeClass(lo) : `${escapeClass(lo)}-${escapeClass(hi)}`;
        items++;
      }
      if (cls) re += negated ? `[^${cls}]` : `[${cls}]`;
      else re += negated ? "[\\s\\S]" : "(?!)";
      i = j;
    } else re += escapeRe(c);
  }
  return new RegExp(re + "$", "su").test(name);
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? "\\" + c : c;
}

function escapeClass(c: string): string {
  return /[\\\]^[-]/.test(c) ? "\\" + c : c;
}

const SQLITE_MAGIC = "SQLite format 3\0";

/** True when the file begins with the 16 bytes `SQLite format 3\0`. */
export async function isSQLiteDatabase(file: string): Promise<boolean> {
  let fh;
  try {
    fh = await fsp.open(file, "r");
    const buf = new Uint8Array(16);
    const { bytesRead } = await fh.read(buf, 0, 16, 0);
    return bytesRead === 16 && new TextDecoder("latin1").decode(buf) === SQLITE_MAGIC;
  } catch {
    return false;
  } finally {
    await fh?.close();
  }
}

/**
 * The SQLite databases under `dir` whose base name matches `pattern`, in Go's `filepath.Walk` order
 * (lexical, depth first); subdirectories only with `recursive`. Symbolic links to directories are
 * not followed.
 */
export async function findSQLiteDatabases(dir: string, pattern: string, recursive: boolean): Promise<string[]> {
  if (matchPattern(pattern, "") === null) fail(`invalid pattern ${JSON.stringify(pattern)}: syntax error in pattern`);
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      fail(`failed to scan directory ${d}: ${code === "ENOENT" ? "no such file or directory" : code === "ENOTDIR" ? "not a directory" : (code ?? (e as Error).message)}`);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const ent of entries) {
      const p = nodePath.join(d, ent.name);
      if (ent.isDirectory()) {
        if (recursive) await walk(p);
        continue;
      }
      if (matchPattern(pattern, ent.name) && (await isSQLiteDatabase(p))) found.push(p);
    }
  };
  await walk(dir);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Replicas

interface RawReplica {
  url?: string;
  type?: string;
  path?: string;
  bucket?: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  syncInterval?: number;
  /** Where it came from, for messages: `dbs[0].replica`. */
  where: string;
}

type Destination =
  | { kind: "file"; path: string }
  | { kind: "s3"; bucket: string; prefix: string; endpoint?: string; region?: string; forcePathStyle?: boolean; extra: Array<[string, string]>; raw?: string };

function readReplicaSettings(r: Reader, m: Map<string, Value>, where: string, into: Partial<RawReplica>): void {
  const at = (k: string) => (where ? `${where}.${k}` : k);
  const set = <K extends keyof RawReplica>(k: K, v: RawReplica[K] | undefined) => {
    if (v !== undefined) into[k] = v;
  };
  set("syncInterval", r.duration(m.get("sync-interval") ?? null, at("sync-interval")));
  set("accessKeyId", r.secret(m.get("access-key-id") ?? null, at("access-key-id")));
  set("secretAccessKey", r.secret(m.get("secret-access-key") ?? null, at("secret-access-key")));
  set("region", r.str(m.get("region") ?? null, at("region")));
  set("bucket", r.str(m.get("bucket") ?? null, at("bucket")));
  set("endpoint", r.str(m.get("endpoint") ?? null, at("endpoint")));
  set("forcePathStyle", r.bool(m.get("force-path-style") ?? null, at("force-path-style")));
  if (m.has("age")) {
    const age = r.map(m.get("age")!, at("age"), ["identities", "recipients"]);
    const ids = r.list(age.get("identities") ?? null, at("age.identities"));
    const recips = r.list(age.get("recipients") ?? null, at("age.recipients"));
    if (ids.length || recips.length) fail(`${at("age")}: ${AGE_MESSAGE}`);
  }
}

const OTHER_GO_TYPES = ["gs", "abs", "sftp", "webdav", "nats", "oss"];

/** Resolves a replica section into a destination (Go's NewReplicaFromConfig rules). */
function destinationOf(raw: RawReplica, opts: ConfigOptions): Destination {
  const w = raw.where;
  if (raw.path !== undefined && /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(raw.path)) {
    fail(`${w}.path: replica path cannot be a url, please use the 'url' field instead: ${redact(raw.path)}`);
  }
  let type = raw.type ?? "file";
  if (raw.url) {
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(raw.url);
    type = m ? m[1]!.toLowerCase() : "file";
  }
  if (OTHER_GO_TYPES.includes(type)) fail(`${raw.url ? w + ".url" : w + ".type"}: replica type ${JSON.stringify(type)} is not supported by ltxkit (file, s3)`);
  if (type !== "file" && type !== "s3") {
    if (raw.url) fail(`${w}.url: unsupported replica URL scheme: ${type}:// (file, s3)`);
    fail(`${w}.type: unknown replica type in config: ${JSON.stringify(type)}`);
  }
  if (raw.url && raw.path !== undefined) fail(`${w}: cannot specify url & path for ${type} replica`);
  if (type === "file") {
    let p = raw.path;
    if (raw.url) {
      try {
        const parsed = parseReplicaURL(raw.url);
        if (parsed.kind === "file") p = parsed.path;
      } catch (e) {
        fail(`${w}.url: ${(e as Error).message}`);
      }
    }
    if (!p) fail(`${w}: file replica path required`);
    return { kind: "file", path: expandPath(p, opts) };
  }
  // s3
  if (raw.url && raw.bucket !== undefined) fail(`${w}: cannot specify url & bucket for s3 replica`);
  let bucket = raw.bucket ?? "";
  let prefix = raw.path ?? "";
  let endpoint = raw.endpoint;
  let region = raw.region;
  // Go: path style whenever an endpoint is set in the config, unless force-path-style says otherwise
  let forcePathStyle: boolean | undefined = raw.forcePathStyle ?? (endpoint ? true : undefined);
  const extra: Array<[string, string]> = [];
  if (raw.url) {
    let parsed;
    try {
      parsed = parseReplicaURL(raw.url);
    } catch (e) {
      fail(`${w}.url: ${(e as Error).message}`);
    }
    if (parsed.kind !== "s3") fail(`${w}.url: not an s3 URL: ${redact(raw.url)}`);
    bucket = parsed.bucket;
    prefix = parsed.prefix === "." ? "" : parsed.prefix;
    endpoint ??= parsed.endpoint;
    region ??= parsed.region;
    if (!forcePathStyle && parsed.forcePathStyle !== undefined) forcePathStyle = parsed.forcePathStyle;
    // a URL endpoint means path style unless forcePathStyle=false
    if (forcePathStyle === undefined && parsed.endpoint) forcePathStyle = true;
    for (const [k, v] of new URL(raw.url).searchParams) if (!["endpoint", "region", "forcePathStyle", "force-path-style"].includes(k)) extra.push([k, v]);
  }
  if (!bucket) fail(`${w}: bucket required for s3 replica`);
  const d: Destination = { kind: "s3", bucket, prefix, extra };
  // a config `path:` is Go's key prefix verbatim (no cleaning); a URL's path is cleaned
  if (!raw.url) d.raw = raw.path ?? "";
  if (endpoint) d.endpoint = endpoint;
  if (region) d.region = region;
  if (forcePathStyle !== undefined) d.forcePathStyle = forcePathStyle;
  return d;
}

/** The replica URL of a destination (a plain absolute path for files). */
function urlOf(d: Destination): string {
  if (d.kind === "file") return d.path;
  const prefix = cleanPath(d.prefix).replace(/^\/+/, "");
  let u = `s3://${d.bucket}`;
  if (prefix && prefix !== ".") u += "/" + prefix.split("/").map(encodeURIComponent).join("/");
  const q = new URLSearchParams();
  if (d.endpoint) q.set("endpoint", d.endpoint);
  if (d.region) q.set("region", d.region);
  if (d.forcePathStyle !== undefined) q.set("forcePathStyle", String(d.forcePathStyle));
  for (const [k, v] of d.extra) q.append(k, v);
  const qs = q.toString();
  return qs ? `${u}?${qs}` : u;
}

/** Directory replication: the destination of one discovered database, `<base>/<relative path>`. */
function withRelative(d: Destination, rel: string): Destination {
  if (d.kind === "file") return { kind: "file", path: nodePath.join(d.path, rel) };
  const base = d.prefix.replace(/\/+$/, "");
  const out: Destination = { ...d, prefix: base ? `${base}/${rel}` : rel };
  // Go: path.Join(path, rel), or rel alone when the path is empty
  if (d.raw !== undefined) out.raw = d.raw ? nodePath.posix.join(d.raw, rel) : rel;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The config

const GLOBAL_KEYS = ["dbs", "levels", "snapshot", "l0-retention", "retention", "exec", "shutdown-sync-timeout", ...REPLICA_SETTINGS];
const DB_KEYS = ["path", "dir", "pattern", "recursive", "watch", "meta-path", "meta-dir", "monitor-interval", "checkpoint-interval", "busy-timeout", "min-checkpoint-page-count", "truncate-page-n", "max-sync-wal-bytes", "restore-if-db-not-exists", "snapshot", "replica", "replicas"];
const REPLICA_KEYS = ["url", "type", "path", "name", ...REPLICA_SETTINGS];

/** Parses the text of a Litestream-format YAML config. Directory entries are expanded (the disk is read). */
export async function parseConfig(text: string, opts: ConfigOptions = {}): Promise<ReplicateConfig> {
  const { r, top } = readDocument(text, opts);
  const compaction = readCompaction(r, top);
  const out: ReplicateConfig = { dbs: [], compaction, watched: [] };
  const exec = r.str(get(top, "exec"), "exec");
  if (exec !== undefined && exec !== "") out.exec = exec;
  const sst = r.duration(get(top, "shutdown-sync-timeout"), "shutdown-sync-timeout");
  if (sst !== undefined) {
    if (sst < 0) fail(`shutdown-sync-timeout: shutdown-sync-timeout must be >= 0 (got ${formatGoDuration(sst)})`);
    out.shutdownTimeout = sst;
  }
  const c: DbContext = { r, opts, out, origin: new Map(), dbSnapshot: {}, globalSettings: {} };
  readReplicaSettings(r, top, "", c.globalSettings);
  const dbItems = r.list(get(top, "dbs"), "dbs");
  for (let i = 0; i < dbItems.length; i++) await readDb(c, dbItems[i]!, `dbs[${i}]`);
  if (c.dbSnapshot.interval && compaction.snapshotInterval === undefined) compaction.snapshotInterval = c.dbSnapshot.interval[0];
  if (c.dbSnapshot.retention && compaction.snapshotRetention === undefined) compaction.snapshotRetention = c.dbSnapshot.retention[0];
  checkCollisions(out.dbs);
  return out;
}

/** A key's value in a mapping; null when absent. */
function get(m: Map<string, Value>, k: string): Value {
  return m.get(k) ?? null;
}

/** Expands the environment (unless turned off), parses the YAML and checks the top-level keys. */
function readDocument(text: string, opts: ConfigOptions): { r: Reader; top: Map<string, Value> } {
  const env = opts.env ?? {};
  if (opts.expandEnv !== false) {
    const pid = String(opts.pid ?? process.pid);
    text = expandEnv(text, (k) => (k === "PID" ? pid : (env[k] ?? "")));
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { schema: "failsafe", version: "1.1", prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length) {
    // YAML messages carry no source text, so no value can leak through them
    const e = doc.errors[0]!;
    const pos = lines.linePos(e.pos[0]);
    fail(`YAML syntax error at line ${pos.line}, column ${pos.col}: ${e.message}`);
  }
  const r = new Reader(doc);
  return { r, top: r.map(doc.contents as Value, "", GLOBAL_KEYS, UNSUPPORTED_GLOBAL) };
}

/** The global `levels`, `snapshot`, `l0-retention` and `retention` sections. */
function readCompaction(r: Reader, top: Map<string, Value>): Partial<CompactionConfig> {
  const compaction: Partial<CompactionConfig> = {};
  if (top.has("levels")) {
    compaction.levels = r.list(get(top, "levels"), "levels").map((lv, i) => {
      const m = r.map(lv, `levels[${i}]`, ["interval"]);
      const ms = r.duration(get(m, "interval"), `levels[${i}].interval`) ?? 0;
      if (ms <= 0) fail(`levels[${i}].interval: compaction interval must be greater than 0 (got ${formatGoDuration(ms)})`);
      return ms;
    });
  }
  const snap = r.map(get(top, "snapshot"), "snapshot", ["interval", "retention"]);
  const si = r.duration(get(snap, "interval"), "snapshot.interval");
  if (si !== undefined) {
    if (si <= 0) fail(`snapshot.interval: snapshot interval must be greater than 0 (got ${formatGoDuration(si)})`);
    compaction.snapshotInterval = si;
  }
  const sr = r.duration(get(snap, "retention"), "snapshot.retention");
  if (sr !== undefined) {
    if (sr <= 0) fail(`snapshot.retention: snapshot retention must be greater than 0 (got ${formatGoDuration(sr)})`);
    compaction.snapshotRetention = sr;
  }
  const l0 = r.duration(get(top, "l0-retention"), "l0-retention");
  if (l0 !== undefined) {
    if (l0 <= 0) fail(`l0-retention: l0 retention must be greater than 0 (got ${formatGoDuration(l0)})`);
    compaction.l0Retention = l0;
  }
  const ret = r.map(get(top, "retention"), "retention", ["enabled"]);
  const enabled = r.bool(get(ret, "enabled"), "retention.enabled");
  if (enabled !== undefined) compaction.retention = enabled;
  return compaction;
}

/** What the databases of one config share while they are read. */
interface DbContext {
  r: Reader;
  opts: ConfigOptions;
  out: ReplicateConfig;
  /** db path -> where it was configured */
  origin: Map<string, string>;
  /**
   * A per-database snapshot: section sets the global one when the file sets none, and every
   * database that has one must agree (Go's applyDBSnapshotConfig).
   */
  dbSnapshot: { interval?: [number, string]; retention?: [number, string] };
  /** The replica settings given at the top level (defaults of every replica). */
  globalSettings: Partial<RawReplica>;
}

/** One entry of `dbs`: a database (`path`) or a directory of them (`dir` + `pattern`), with its replicas. */
async function readDb(c: DbContext, item: Value, where: string): Promise<void> {
  const { r, opts, out, origin } = c;
  const m = r.map(item, where, DB_KEYS, UNSUPPORTED_DB);
  const at = (k: string) => `${where}.${k}`;
  const path = r.str(get(m, "path"), at("path"));
  const dir = r.str(get(m, "dir"), at("dir"));
  const pattern = r.str(get(m, "pattern"), at("pattern"));
  const recursive = r.bool(get(m, "recursive"), at("recursive")) ?? false;
  const metaPath = r.str(get(m, "meta-path"), at("meta-path"));
  const metaDir = r.str(get(m, "meta-dir"), at("meta-dir"));
  if (path && dir) fail(`${where}: cannot specify both 'path' and 'dir'`);
  if (!path && !dir) fail(`${where}: must specify either 'path' or 'dir'`);
  if (dir && !pattern) fail(`${where}: 'pattern' is required when using 'dir'`);
  if (!dir && pattern !== undefined) fail(`${at("pattern")}: can only be used with 'dir'`);
  if (!dir && m.has("recursive")) fail(`${at("recursive")}: can only be used with 'dir'`);
  if (metaDir !== undefined && !dir) fail(`${where}: 'meta-dir' can only be used with a directory`);
  if (metaPath !== undefined && metaDir !== undefined) fail(`${where}: cannot specify both 'meta-path' and 'meta-dir'`);
  const watch = r.bool(get(m, "watch"), at("watch")) ?? false;
  if (watch && !dir) fail(`${at("watch")}: 'watch' can only be enabled with a directory`);
  const settings = readDbSettings(r, m, where);
  readDbSnapshot(c, m, where, path ?? dir!);

  const raws = readReplicas(c, m, where);
  const targets = (rel: string | null) =>
    raws.map(({ raw, dest }) => {
      const env: Record<string, string | undefined> = {};
      if (raw.accessKeyId) env.AWS_ACCESS_KEY_ID = raw.accessKeyId;
      if (raw.secretAccessKey) env.AWS_SECRET_ACCESS_KEY = raw.secretAccessKey;
      const d = rel === null ? dest : withRelative(dest, rel);
      const t: ReplicaTargetConfig = { url: urlOf(d), env, syncInterval: raw.syncInterval ?? DB_DEFAULTS.syncInterval };
      if (d.kind === "s3" && d.raw !== undefined) {
        const parsed = parseReplicaURL(t.url);
        if (parsed.kind === "s3" && parsed.prefix + "/" !== d.raw + "/") t.keyPrefix = d.raw;
      }
      return t;
    });
  const make = (dbPath: string, meta: string | undefined, reps: ReplicaTargetConfig[]): ReplicateDbConfig => {
    const db: ReplicateDbConfig = { path: dbPath, replicas: reps, ...settings, syncInterval: reps[0]!.syncInterval };
    if (meta !== undefined) db.metaPath = meta;
    return db;
  };
  const add = (dbPath: string, meta: string | undefined, reps: ReplicaTargetConfig[]) => {
    const prev = origin.get(dbPath);
    if (prev) fail(`${where}: database ${dbPath} is already configured by ${prev}`);
    origin.set(dbPath, where);
    out.dbs.push(make(dbPath, meta, reps));
  };

  if (path) {
    add(expandPath(path, opts), metaPath === undefined ? undefined : expandPath(metaPath, opts), targets(null));
    return;
  }
  const dirAbs = expandPath(dir!, opts);
  if (matchPattern(pattern!, "") === null) fail(`${at("pattern")}: invalid pattern ${JSON.stringify(pattern)}: syntax error in pattern`);
  // a watched directory may be empty or missing at start (Go: only an unwatched one must hold a database)
  const found = watch ? await findSQLiteDatabases(dirAbs, pattern!, recursive).catch(() => []) : await findSQLiteDatabases(dirAbs, pattern!, recursive);
  if (!found.length && !watch) fail(`${where}: no SQLite databases found in directory ${dirAbs} with pattern ${pattern}`);
  const relOf = (dbPath: string) => nodePath.relative(dirAbs, dbPath).split(nodePath.sep).join("/");
  const metaOf = (rel: string): string | undefined => {
    if (metaDir !== undefined) return nodePath.join(expandPath(metaDir, opts), rel + "-litestream");
    if (metaPath !== undefined) return nodePath.join(expandPath(metaPath, opts), nodePath.dirname(rel), `.${nodePath.basename(rel)}-litestream`);
    return undefined;
  };
  for (const dbPath of found) add(dbPath, metaOf(relOf(dbPath)), targets(relOf(dbPath)));
  if (watch) out.watched.push({ dir: dirAbs, pattern: pattern!, recursive, configFor: (dbPath) => make(dbPath, metaOf(relOf(dbPath)), targets(relOf(dbPath))) });
}

/** A database's own settings (intervals, checkpoint thresholds, busy timeout, restore, WAL bytes per sync). */
function readDbSettings(r: Reader, m: Map<string, Value>, where: string) {
  const at = (k: string) => `${where}.${k}`;
  const restoreIfNotExists = r.bool(get(m, "restore-if-db-not-exists"), at("restore-if-db-not-exists")) ?? false;
  const maxSyncWalBytes = r.int(get(m, "max-sync-wal-bytes"), at("max-sync-wal-bytes"));
  if (maxSyncWalBytes !== undefined && maxSyncWalBytes <= 0) fail(`${at("max-sync-wal-bytes")}: max sync WAL bytes must be greater than 0 (got ${maxSyncWalBytes})`);
  return {
    monitorInterval: positive(r.duration(get(m, "monitor-interval"), at("monitor-interval")), at("monitor-interval"), "monitor interval") ?? DB_DEFAULTS.monitorInterval,
    checkpointInterval: positive(r.duration(get(m, "checkpoint-interval"), at("checkpoint-interval")), at("checkpoint-interval"), "checkpoint interval") ?? DB_DEFAULTS.checkpointInterval,
    busyTimeout: nonNegative(r.duration(get(m, "busy-timeout"), at("busy-timeout")), at("busy-timeout"), "busy timeout", formatGoDuration) ?? DB_DEFAULTS.busyTimeout,
    minCheckpointPageCount: nonNegative(r.int(get(m, "min-checkpoint-page-count"), at("min-checkpoint-page-count")), at("min-checkpoint-page-count"), "min checkpoint page count", String) ?? DB_DEFAULTS.minCheckpointPageCount,
    truncatePageN: nonNegative(r.int(get(m, "truncate-page-n"), at("truncate-page-n")), at("truncate-page-n"), "truncate page count", String) ?? DB_DEFAULTS.truncatePageN,
    restoreIfNotExists,
    ...(maxSyncWalBytes !== undefined ? { maxSyncWalBytes } : {}),
  };
}

/** A database's own `snapshot` section (see DbContext.dbSnapshot). */
function readDbSnapshot(c: DbContext, m: Map<string, Value>, where: string, dbId: string): void {
  const { r, dbSnapshot } = c;
  const at = (k: string) => `${where}.${k}`;
  const dsnap = r.map(get(m, "snapshot"), at("snapshot"), ["interval", "retention"]);
  for (const k of ["interval", "retention"] as const) {
    const v = r.duration(get(dsnap, k), at(`snapshot.${k}`));
    if (v === undefined) continue;
    if (v <= 0) fail(`${at(`snapshot.${k}`)}: snapshot ${k} must be greater than 0 (got ${formatGoDuration(v)})`);
    const prev = dbSnapshot[k];
    if (prev && prev[0] !== v) fail(`${at(`snapshot.${k}`)}: conflicting database snapshot ${k}s: ${prev[1]} has ${formatGoDuration(prev[0])}, ${dbId} has ${formatGoDuration(v)}`);
    dbSnapshot[k] = [v, dbId];
  }
}

/** A database's `replica` or `replicas`, with the global settings as defaults, and where each goes. */
function readReplicas(c: DbContext, m: Map<string, Value>, where: string): Array<{ raw: RawReplica; dest: Destination }> {
  const { r, opts, globalSettings } = c;
  const at = (k: string) => `${where}.${k}`;
  const hasOne = m.has("replica") && !r.isNull(get(m, "replica"));
  const many = r.list(get(m, "replicas"), at("replicas"));
  if (hasOne && many.length) fail(`${where}: cannot specify 'replica' and 'replicas' on a database`);
  if (!hasOne && !many.length) fail(`${where}: must specify replica for database`);
  const sections: Array<[Value, string]> = hasOne ? [[get(m, "replica"), at("replica")]] : many.map((x, j) => [x, `${at("replicas")}[${j}]`]);
  return sections.map(([node, w]) => {
    const rm = r.map(node, w, REPLICA_KEYS, UNSUPPORTED_REPLICA);
    const raw: RawReplica = { where: w };
    const set = <K extends keyof RawReplica>(k: K, v: RawReplica[K] | undefined) => {
      if (v !== undefined) raw[k] = v;
    };
    set("url", r.str(get(rm, "url"), `${w}.url`) || undefined);
    set("type", r.str(get(rm, "type"), `${w}.type`) || undefined);
    set("path", r.str(get(rm, "path"), `${w}.path`) || undefined);
    r.str(get(rm, "name"), `${w}.name`); // deprecated, ignored as Litestream does
    readReplicaSettings(r, rm, w, raw);
    // global settings are defaults (Go's SetDefaults). A global bucket does not apply to a URL
    // replica: Go v0.5.16 applies it there too and then refuses the config ("cannot specify url &
    // bucket for s3 replica"); ltxkit keeps the bucket the URL names.
    for (const k of ["syncInterval", "accessKeyId", "secretAccessKey", "region", "endpoint", "forcePathStyle", "bucket"] as const) {
      if (raw[k] === undefined && globalSettings[k] !== undefined && !(k === "bucket" && raw.url)) (raw as unknown as Record<string, unknown>)[k] = globalSettings[k];
    }
    if (raw.syncInterval !== undefined && raw.syncInterval <= 0) fail(`${w}.sync-interval: sync interval must be greater than 0 (got ${formatGoDuration(raw.syncInterval)})`);
    return { raw, dest: destinationOf(raw, opts) };
  });
}

function positive(v: number | undefined, path: string, what: string): number | undefined {
  if (v !== undefined && v <= 0) fail(`${path}: ${what} must be greater than 0 (got ${formatGoDuration(v)})`);
  return v;
}

function nonNegative(v: number | undefined, path: string, what: string, show: (n: number) => string): number | undefined {
  if (v !== undefined && v < 0) fail(`${path}: ${what} must be >= 0 (got ${show(v)})`);
  return v;
}

/** The default meta directory of a database: `<dir>/.<file>-litestream`. */
export function defaultMetaPath(dbPath: string): string {
  return nodePath.join(nodePath.dirname(dbPath), `.${nodePath.basename(dbPath)}-litestream`);
}

/** Two databases must not share a meta directory or a replica destination. */
function checkCollisions(dbs: ReplicateDbConfig[]): void {
  const metas = new Map<string, string>();
  const dests = new Map<string, string>();
  for (const db of dbs) {
    const mp = db.metaPath ?? defaultMetaPath(db.path);
    const other = metas.get(mp);
    if (other) fail(`meta-path collision: databases ${other} and ${db.path} would share meta-path ${mp}, causing replication state corruption`);
    metas.set(mp, db.path);
    for (const rep of db.replicas) {
      const key = destinationKey(rep.url) + (rep.keyPrefix !== undefined ? `:exact:${rep.keyPrefix}` : "");
      const o = dests.get(key);
      if (o === db.path) fail(`replica collision: database ${db.path} lists replica ${redact(rep.url)} twice`);
      if (o) fail(`replica collision: databases ${o} and ${db.path} would both replicate to ${redact(rep.url)}`);
      dests.set(key, db.path);
    }
  }
}

function destinationKey(url: string): string {
  const p = parseReplicaURL(url);
  if (p.kind === "file") return `file:${p.path}`;
  if (p.kind === "s3") return `s3:${p.endpoint ?? ""}:${p.bucket}:${p.prefix}`;
  return url;
}

/** Reads and parses a config file. A missing file is `config file not found: PATH`. */
export async function loadConfigFile(file: string, opts: ConfigOptions = {}): Promise<ReplicateConfig> {
  const abs = expandPath(file, opts);
  let text: string;
  try {
    text = await fsp.readFile(abs, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") fail(`config file not found: ${abs}`);
    fail(`cannot read config file ${abs}: ${(e as Error).message}`);
  }
  try {
    return await parseConfig(text, opts);
  } catch (e) {
    if (e instanceof LtxError) throw e.wrap(abs);
    throw e;
  }
}

/**
 * The configuration of `ltxkit replicate DB_PATH REPLICA_URL...`: one database with Litestream's
 * defaults and each URL as a replica.
 */
export function configFromArgs(dbPath: string, urls: readonly string[], opts: ConfigOptions = {}): ReplicateConfig {
  const reps = urls.map((u, i) => ({ url: urlOf(destinationOf({ url: u, where: `replica URL #${i + 1}` }, opts)), env: {}, syncInterval: DB_DEFAULTS.syncInterval }));
  const { syncInterval: _s, ...settings } = DB_DEFAULTS;
  const cfg: ReplicateConfig = { dbs: [{ path: expandPath(dbPath, opts), replicas: reps, ...settings, syncInterval: DB_DEFAULTS.syncInterval, restoreIfNotExists: false }], compaction: {}, watched: [] };
  checkCollisions(cfg.dbs);
  return cfg;
}
