/**
 * The CLI flags through the built binary: package.json's `bin.ltxkit` (dist/cli/main.js, rebuilt
 * here when older than lib/) spawned as a separate process, so flag parsing, exit codes, stdout and
 * stderr, and the packaging of the bin are what a user gets. Expected databases come from the
 * committed Go-written replica (oracle.json: SHA-256 of what `litestream restore` v0.5.16 restored).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { FIXTURE, loadReplicaFixture } from "../../conformance/litestream/fixture.ts";
import { openReplicaFromEnv } from "../../lib/adapters/replica-node.ts";
import { writeLtxFile } from "../../lib/replica/list.ts";
import { haveS3, s3env, skipS3 } from "../store/s3-env.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const BIN = join(ROOT, pkg.bin.ltxkit);
// The binary is a Node program (`#!/usr/bin/env node`); under Bun and Deno it is still run by Node.
const g = globalThis as { Bun?: unknown; Deno?: unknown };
const NODE = g.Bun || g.Deno ? "node" : process.execPath;
const oracle = JSON.parse(readFileSync(join(FIXTURE, "oracle.json"), "utf8")) as { plans: { args: string[]; sha256: string }[] };
const LATEST = oracle.plans.find((p) => p.args.length === 0)!.sha256;
const TXID8 = oracle.plans.find((p) => p.args.join(" ") === "-txid 0000000000000008")!.sha256;
const V = join(ROOT, "conformance", "vectors", "ltx-vectors");
const manifest = JSON.parse(readFileSync(join(V, "manifest.json"), "utf8")) as { files: { path: string; pages: { pgno: number; offset: number; size: number; data_sha256: string }[]; trailer: { post_apply: string; file_checksum: string } }[] };

interface Run { code: number | null; stdout: string; stderr: string }
function ltxkit(args: string[], env: Record<string, string | undefined> = {}): Run {
  const r = spawnSync(NODE, [BIN, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `ltxkit-bin-${name}-`));

/** Files of each level of a file replica, as `level:min-max` sorted. */
function levels(replica: string): string[] {
  const out: string[] = [];
  for (const l of readdirSync(join(replica, "ltx"))) for (const f of readdirSync(join(replica, "ltx", l))) out.push(`${Number(l)}:${f.replace(/\.ltx$/, "")}`);
  return out.sort();
}

/** The fixture replica with only the given files (`level:min-max`), mtimes at their header times. */
function replicaWith(keep: (entry: string) => boolean): string {
  const dir = loadReplicaFixture();
  for (const e of levels(dir)) {
    if (keep(e)) continue;
    const [l, name] = e.split(":");
    rmSync(join(dir, "ltx", l!, `${name}.ltx`));
  }
  return dir;
}
const L0 = (e: string) => e.startsWith("0:");
const hex = (n: number) => n.toString(16).padStart(16, "0");
const l0Names = Array.from({ length: 14 }, (_, i) => `0:${hex(i + 1)}-${hex(i + 1)}`);

// dist/ is built once before any test file runs (test/setup/build-dist.ts).

describe("ltxkit restore flags (built binary)", () => {
  it("-if-replica-exists: an empty replica exits 0 with a notice instead of 1, and writes nothing", () => {
    const dir = tmp("empty");
    const replica = join(dir, "replica");
    mkdirSync(replica);
    const out = join(dir, "out.db");
    const plain = ltxkit(["restore", "-o", out, `file://${replica}`]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain("no matching backup files available [TX_NOT_AVAILABLE]");
    const r = ltxkit(["restore", "-if-replica-exists", "-o", out, `file://${replica}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("no matching backups found, skipping");
    expect(readdirSync(dir)).toEqual(["replica"]);
  });

  it("-if-db-not-exists: an existing output exits 0 untouched; without it the restore refuses (exit 1, OUTPUT_EXISTS)", () => {
    const replica = loadReplicaFixture();
    const out = join(tmp("exists"), "out.db");
    writeFileSync(out, "not a database");
    const r = ltxkit(["restore", "-if-db-not-exists", "-o", out, `file://${replica}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`database already exists, skipping: ${out}`);
    expect(readFileSync(out, "utf8")).toBe("not a database");
    const refused = ltxkit(["restore", "-o", out, `file://${replica}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("[OUTPUT_EXISTS]");
    expect(readFileSync(out, "utf8")).toBe("not a database");
    expect(readdirSync(dirname(out))).toEqual(["out.db"]);
    // A missing output restores normally with the flag.
    rmSync(out);
    expect(ltxkit(["restore", "-if-db-not-exists", "-o", out, `file://${replica}`]).code).toBe(0);
    expect(sha(out)).toBe(LATEST);
  });

  it("-force: replaces the output and removes its stale -wal, -shm and -journal", () => {
    const replica = loadReplicaFixture();
    const dir = tmp("force");
    const out = join(dir, "out.db");
    for (const [p, text] of [[out, "old db"], [`${out}-wal`, "stale wal"], [`${out}-shm`, "stale shm"], [`${out}-journal`, "stale journal"]] as const) writeFileSync(p, text);
    const r = ltxkit(["restore", "-force", "-o", out, `file://${replica}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(sha(out)).toBe(LATEST);
    expect(readdirSync(dir)).toEqual(["out.db"]);
  });

  it("-json prints exactly db_path, replica, txid, duration_ms and integrity_check", () => {
    const replica = loadReplicaFixture();
    const out = join(tmp("json"), "out.db");
    const r = ltxkit(["restore", "-json", "-integrity-check", "quick", "-txid", "0000000000000008", "-o", out, `file://${replica}`]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(["db_path", "replica", "txid", "duration_ms", "integrity_check"]);
    expect(j).toEqual({ db_path: out, replica: "file", txid: "0000000000000008", duration_ms: expect.any(Number), integrity_check: "quick" });
    expect(Number.isInteger(j.duration_ms) && j.duration_ms >= 0).toBe(true);
    expect(sha(out)).toBe(TXID8);
  });

  it("-part-size and -memory-budget: out-of-range and non-integer values exit 2; accepted values restore the same bytes", () => {
    const replica = loadReplicaFixture();
    const dir = tmp("sizes");
    const bad: [string[], RegExp][] = [
      [["-part-size", "abc"], /flag -part-size: not an integer: abc/],
      [["-part-size", "65535"], /flag -part-size: 65535 is outside 65536\.\.1073741824/],
      [["-part-size", String(2 ** 30 + 1)], /is outside 65536\.\.1073741824/],
      [["-memory-budget", "-1"], /flag -memory-budget: -1 is outside 0\.\.1073741824/],
      [["-memory-budget", "1e6"], /flag -memory-budget: not an integer: 1e6/],
      [["-memory-budget", String(2 ** 30 + 1)], /is outside 0\.\.1073741824/],
    ];
    for (const [flags, re] of bad) {
      const out = join(dir, "bad.db");
      const r = ltxkit(["restore", ...flags, "-o", out, `file://${replica}`]);
      expect(r.code, flags.join(" ")).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).toContain("[INVALID_ARGUMENT]");
      expect(existsSync(out)).toBe(false);
    }
    // 64 KiB parts cut the fixture's larger files (up to 150 KB) into several ranged reads.
    const good = [["-part-size", "65536"], ["-part-size", "1073741824"], ["-memory-budget", "0"], ["-memory-budget", "65536"], ["-part-size", "65536", "-memory-budget", "1048576", "-parallelism", "1"]];
    for (const [i, flags] of good.entries()) {
      const out = join(dir, `good-${i}.db`);
      const r = ltxkit(["restore", ...flags, "-o", out, `file://${replica}`]);
      expect(r.code, `${flags.join(" ")}: ${r.stderr}`).toBe(0);
      expect(sha(out), flags.join(" ")).toBe(LATEST);
    }
  });

  it("restore refuses conflicting or malformed arguments with INVALID_ARGUMENT (exit 2) and writes nothing: -txid with -timestamp, a timestamp not in ISO 8601 (Go's message), no -o, an unknown -integrity-check (Go's message)", () => {
    const replica = loadReplicaFixture();
    const dir = tmp("args");
    const out = join(dir, "x.db");
    const bad: [string[], string][] = [
      [["-txid", "0000000000000001", "-timestamp", "2026-01-01T00:00:00Z", "-o", out], "cannot specify both TXID & timestamp to restore"],
      [["-timestamp", "yesterday", "-o", out], "invalid -timestamp, must specify in ISO 8601 format (e.g. 2000-01-01T00:00:00Z)"],
      [["-timestamp", "2026-01-01 00:00:00", "-o", out], "invalid -timestamp, must specify in ISO 8601 format (e.g. 2000-01-01T00:00:00Z)"],
      [["-timestamp", "2026-01-01T00:00:00", "-o", out], "invalid -timestamp, must specify in ISO 8601 format (e.g. 2000-01-01T00:00:00Z)"],
      [[], "output path required (-o)"],
      [["-integrity-check", "sometimes", "-o", out], "invalid -integrity-check value: sometimes"],
    ];
    for (const [flags, message] of bad) {
      const r = ltxkit(["restore", ...flags, `file://${replica}`]);
      expect(r.code, flags.join(" ")).toBe(2);
      expect(r.stderr, flags.join(" ")).toContain(`${message} [INVALID_ARGUMENT]`);
      expect(existsSync(out)).toBe(false);
    }
  });

  it("a restored database that fails -integrity-check is removed (exit 1, INTEGRITY_CHECK_FAILED), and restores without the check", () => {
    const dir = tmp("integrity");
    // A real database whose header claims 5 freelist pages it does not have: every page decodes and
    // checksums, but PRAGMA integrity_check reports the freelist.
    const db = new Uint8Array(readFileSync(join(V, "sqlite", "10-source.db")));
    new DataView(db.buffer).setUint32(36, 5);
    writeFileSync(join(dir, "corrupt.db"), db);
    const replica = join(dir, "replica");
    mkdirSync(join(replica, "ltx", "0"), { recursive: true });
    const enc = ltxkit(["encode-db", join(dir, "corrupt.db"), "-o", join(replica, "ltx", "0", `${hex(1)}-${hex(1)}.ltx`)]);
    expect(enc.code, enc.stderr).toBe(0);
    for (const mode of ["quick", "full"]) {
      const out = join(dir, `out-${mode}.db`);
      const r = ltxkit(["restore", "-integrity-check", mode, "-o", out, `file://${replica}`]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`integrity check (${mode}) failed, output removed:`);
      expect(r.stderr).toContain("Freelist: size is 0 but should be 5 [INTEGRITY_CHECK_FAILED]");
      expect(existsSync(out)).toBe(false);
    }
    expect(readdirSync(dir).sort()).toEqual(["corrupt.db", "replica"]);
    const unchecked = join(dir, "unchecked.db");
    expect(ltxkit(["restore", "-o", unchecked, `file://${replica}`]).code).toBe(0);
    expect(sha(unchecked)).toBe(createHash("sha256").update(db).digest("hex"));
  });
});

describe("ltxkit compact flags (built binary)", () => {
  interface F { level: number; min_txid: string; max_txid: string; size: number }
  const compact = (args: string[], replica: string) => {
    const r = ltxkit(["compact", "--json", ...args, `file://${replica}`]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { written: F[]; deleted: F[] };
  };
  const names = (fs: F[]) => fs.map((f) => `${f.level}:${f.min_txid}-${f.max_txid}`);
  const ALL = `${hex(1)}-${hex(14)}`;

  it("default pass on 14 week-old L0 files: writes L1, L2, L3 and a snapshot of 1-e, deletes L0 1..d (keeps the newest), restores as Go did", () => {
    const replica = replicaWith(L0);
    const rep = compact([], replica);
    expect(names(rep.written)).toEqual([`1:${ALL}`, `2:${ALL}`, `3:${ALL}`, `9:${ALL}`]);
    expect(names(rep.deleted)).toEqual(l0Names.slice(0, 13));
    for (const f of rep.written) expect(statSync(join(replica, "ltx", String(f.level), `${f.min_txid}-${f.max_txid}.ltx`)).size).toBe(f.size);
    expect(levels(replica)).toEqual([l0Names[13]!, `1:${ALL}`, `2:${ALL}`, `3:${ALL}`, `9:${ALL}`].sort());
    const out = join(tmp("compacted"), "out.db");
    expect(ltxkit(["restore", "-o", out, `file://${replica}`]).code).toBe(0);
    expect(sha(out)).toBe(LATEST);
  });

  it("--levels sets how many levels there are: 30s,5m writes L1, L2 and the snapshot, no L3; --level beyond them exits 2 and changes nothing", () => {
    const replica = replicaWith(L0);
    expect(names(compact(["--levels", "30s,5m", "--no-retention"], replica).written)).toEqual([`1:${ALL}`, `2:${ALL}`, `9:${ALL}`]);
    expect(levels(replica)).toEqual([...l0Names, `1:${ALL}`, `2:${ALL}`, `9:${ALL}`].sort());
    const r = ltxkit(["compact", "--levels", "30s", "--level", "2", `file://${replica}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("invalid level: 2 (1..1 or 9) [INVALID_ARGUMENT]");
    const past = ltxkit(["compact", "--level", "4", `file://${replica}`]);
    expect(past.code, "the default levels are 1..3").toBe(2);
    expect(past.stderr).toContain("invalid level: 4 (1..3 or 9) [INVALID_ARGUMENT]");
    expect(levels(replica), "nothing changed").toEqual([...l0Names, `1:${ALL}`, `2:${ALL}`, `9:${ALL}`].sort());
    const bad = ltxkit(["compact", "--levels", "30s,5x", `file://${replica}`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("invalid duration: 5x");
  });

  it("--level 1 compacts only level 1; --l0-retention decides which L0 files go", () => {
    const a = replicaWith(L0);
    const ra = compact(["--level", "1"], a);
    expect(names(ra.written)).toEqual([`1:${ALL}`]);
    expect(names(ra.deleted), "default 5m: all but the newest L0 file are older and covered by L1").toEqual(l0Names.slice(0, 13));
    expect(levels(a)).toEqual([l0Names[13]!, `1:${ALL}`].sort());
    const b = replicaWith(L0);
    const rb = compact(["--level", "1", "--l0-retention", "1000000h"], b);
    expect(names(rb.written)).toEqual([`1:${ALL}`]);
    expect(rb.deleted, "no L0 file is older than the retention").toEqual([]);
    expect(levels(b)).toEqual([...l0Names, `1:${ALL}`].sort());
    for (const bad of ["0", "10", "x"]) {
      const r = ltxkit(["compact", "--level", bad, `file://${b}`]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain(`invalid level: ${bad}`);
    }
  });

  it("--snapshot-interval: a snapshot a minute old blocks a new one within the window (1000000h) and not past it (1ms)", () => {
    const make = () => {
      const dir = replicaWith((e) => L0(e) || e === `9:${hex(1)}-${hex(13)}`);
      const t = new Date(Date.now() - 60_000);
      utimesSync(join(dir, "ltx", "9", `${hex(1)}-${hex(13)}.ltx`), t, t);
      return dir;
    };
    const a = make();
    expect(compact(["--level", "9", "--snapshot-interval", "1000000h"], a)).toEqual({ written: [], deleted: [] });
    expect(levels(a)).toEqual([...l0Names, `9:${hex(1)}-${hex(13)}`].sort());
    const b = make();
    const rb = compact(["--level", "9", "--snapshot-interval", "1ms"], b);
    expect(names(rb.written)).toEqual([`9:${ALL}`]);
    expect(rb.deleted).toEqual([]);
    expect(levels(b)).toEqual([...l0Names, `9:${hex(1)}-${hex(13)}`, `9:${ALL}`].sort());
  });

  it("--snapshot-retention deletes snapshots older than it, always keeping the newest", () => {
    const snaps = (e: string) => L0(e) || e === `9:${hex(1)}-${hex(1)}` || e === `9:${hex(1)}-${hex(13)}`;
    const a = replicaWith(snaps);
    const ra = compact(["--level", "9", "--snapshot-retention", "1h"], a);
    expect(names(ra.written)).toEqual([`9:${ALL}`]);
    expect(names(ra.deleted)).toEqual([`9:${hex(1)}-${hex(1)}`, `9:${hex(1)}-${hex(13)}`]);
    expect(levels(a)).toEqual([...l0Names, `9:${ALL}`].sort());
    const b = replicaWith(snaps);
    const rb = compact(["--level", "9", "--snapshot-retention", "1000000h"], b);
    expect(names(rb.written)).toEqual([`9:${ALL}`]);
    expect(rb.deleted).toEqual([]);
    const c = replicaWith(snaps);
    const rc = compact(["--level", "9", "--snapshot-interval", "1000000h", "--snapshot-retention", "1h"], c);
    expect(rc.written).toEqual([]);
    expect(names(rc.deleted), "the newest snapshot stays even when older than the retention").toEqual([`9:${hex(1)}-${hex(1)}`]);
    expect(levels(c)).toEqual([...l0Names, `9:${hex(1)}-${hex(13)}`].sort());
  });
});

describe("ltxkit dump --format (built binary)", () => {
  const entry = (p: string) => manifest.files.find((f) => f.path === p)!;
  it("reads v2 and v1 files as told, rejects a v2 file read as v3 (exit 1) and an unknown format (exit 2)", () => {
    const v2 = entry("v2/v2-02-snapshot-3pages.ltx");
    const r2 = ltxkit(["dump", "--json", "--format", "v2", join(V, v2.path)]);
    expect(r2.code, r2.stderr).toBe(0);
    const j2 = JSON.parse(r2.stdout);
    expect(j2.pages).toEqual(v2.pages.map((p) => ({ pgno: p.pgno, offset: p.offset, size: p.size, sha256: p.data_sha256 })));
    expect(j2.trailer).toEqual({ postApplyChecksum: v2.trailer.post_apply, fileChecksum: v2.trailer.file_checksum });
    const v1 = entry("v1/v1-01-snapshot-3pages-plain.ltx");
    const r1 = ltxkit(["dump", "--json", "--format", "v1", join(V, v1.path)]);
    expect(r1.code, r1.stderr).toBe(0);
    const j1 = JSON.parse(r1.stdout);
    expect(j1.pages.map((p: { pgno: number; sha256: string }) => [p.pgno, p.sha256])).toEqual(v1.pages.map((p) => [p.pgno, p.data_sha256]));
    expect(j1.trailer).toEqual({ postApplyChecksum: v1.trailer.post_apply, fileChecksum: v1.trailer.file_checksum });
    const asV3 = ltxkit(["dump", "--json", join(V, v2.path)]);
    expect(asV3.code).toBe(1);
    expect(asV3.stdout).toBe("");
    const unknown = ltxkit(["dump", "--format", "v4", join(V, v2.path)]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown LTX format: v4 [INVALID_ARGUMENT]");
  });
});

describe.skipIf(skipS3)("LITESTREAM_S3_ENDPOINT (built binary, Ceph RGW)", () => {
  it("supplies the endpoint of an s3:// URL that names none: the Go-written replica restores from RGW to Go's bytes", async () => {
    expect(haveS3, "LTXKIT_S3_ENDPOINT/LTXKIT_S3_BUCKET/AWS_* must be set").toBe(true);
    const prefix = `bin-endpoint-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const upload = openReplicaFromEnv(`s3://${s3env.bucket}/${prefix}?endpoint=${encodeURIComponent(s3env.endpoint)}`);
    const local = loadReplicaFixture();
    for (const e of levels(local)) {
      const [l, name] = e.split(":") as [string, string];
      const bytes = new Uint8Array(readFileSync(join(local, "ltx", l, `${name}.ltx`)));
      const ts = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigInt64(32));
      const [min, max] = name.split("-").map((x) => BigInt(`0x${x}`)) as [bigint, bigint];
      await writeLtxFile(upload, Number(l), min, max, bytes, ts);
    }
    const dir = tmp("s3env");
    const url = `s3://${s3env.bucket}/${prefix}`;
    const env = { LITESTREAM_S3_ENDPOINT: s3env.endpoint, AWS_ACCESS_KEY_ID: s3env.accessKeyId, AWS_SECRET_ACCESS_KEY: s3env.secretAccessKey, AWS_REGION: s3env.region };
    const r = ltxkit(["restore", "-o", join(dir, "out.db"), url], env);
    expect(r.code, r.stderr).toBe(0);
    expect(sha(join(dir, "out.db"))).toBe(LATEST);
    // The variable is what directs the request: pointed at a closed port, the same command fails.
    const dead = ltxkit(["restore", "-o", join(dir, "dead.db"), url], { ...env, LITESTREAM_S3_ENDPOINT: "http://127.0.0.1:9" });
    expect(dead.code).toBe(1);
    expect(dead.stderr).toContain("[STORE_ERROR]");
    expect(existsSync(join(dir, "dead.db"))).toBe(false);
    const keys: string[] = [];
    for await (const b of upload.store.list(`${prefix}/`)) keys.push(b.key);
    await upload.store.delete(keys);
  });
});

describe("ltxkit -h (built binary)", () => {
  // Every flag each command's parser accepts, as its usage must name it.
  const FLAGS: Record<string, string[]> = {
    dump: ["--json", "--format"],
    verify: ["--json", "--strict", "--format"],
    "encode-db": ["--page-encoding", "-o"],
    checksum: [],
    ls: ["--level", "--json"],
    restore: ["-o", "-txid", "-timestamp", "-if-replica-exists", "-if-db-not-exists", "-force", "-dry-run", "-json", "-integrity-check", "-parallelism", "-part-size", "-memory-budget"],
    compact: ["--level", "--force", "--no-retention", "--levels", "--snapshot-interval", "--snapshot-retention", "--l0-retention", "--page-encoding", "--json"],
    demo: ["--dir", "--json"],
  };
  it("top-level -h exits 0 and lists every command", () => {
    const r = ltxkit(["-h"]);
    expect(r.code).toBe(0);
    for (const name of Object.keys(FLAGS)) expect(r.stderr).toMatch(new RegExp(`^  ${name} `, "m"));
    expect(ltxkit([]).code, "no command is a usage error").toBe(2);
  });
  for (const [name, flags] of Object.entries(FLAGS)) {
    it(`${name} -h and --help exit 0 with a usage naming ${flags.length ? flags.join(" ") : "its argument"}`, () => {
      for (const h of ["-h", "--help"]) {
        const r = ltxkit([name, h]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toContain(`usage: ltxkit ${name}`);
        for (const f of flags) expect(r.stderr, `${name} usage names ${f}`).toMatch(new RegExp(`(^|[\\s\\[|])${f.replace(/-/g, "\\-")}([\\s=\\]]|$)`, "m"));
      }
      // Each listed flag is one the command really takes: the parser passes it and stops at the
      // unknown flag after it (so nothing runs).
      for (const f of flags) {
        const r = ltxkit([name, f, "x", "--zz-unknown"]);
        expect([r.code, r.stderr.trim()], `${name} ${f}`).toEqual([2, `ltxkit ${name}: unknown flag: --zz-unknown [INVALID_ARGUMENT]`]);
      }
    });
  }
});

describe("the ltxkit bin (bin/ltxkit.cjs)", () => {
  // Node sizes libuv's I/O pool when it is first used, which is before an ES module's first line
  // runs; the CommonJS bin sets the size first. -exec's child inherits the environment it set.
  it("runs the CLI with UV_THREADPOOL_SIZE=16 unless the environment sets it (seen by replicate -exec's child)", () => {
    const dir = tmp("pool");
    expect(ltxkit(["restore", "-o", join(dir, "a.db"), `file://${loadReplicaFixture()}`]).code).toBe(0);
    const pool = (env: Record<string, string | undefined>) => {
      const r = ltxkit(["replicate", "-no-lease", "-exec", 'sh -c "echo pool=$UV_THREADPOOL_SIZE"', join(dir, "a.db"), `file://${join(dir, "r")}`], env);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    expect(pool({ UV_THREADPOOL_SIZE: undefined })).toBe("pool=16");
    expect(pool({ UV_THREADPOOL_SIZE: "5" })).toBe("pool=5");
  });
});
