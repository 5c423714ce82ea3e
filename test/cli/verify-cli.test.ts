/**
 * `ltxkit verify` through the built binary (dist/cli/main.js, spawned with Node): a replica given
 * as a file:// URL, a replica directory or an s3:// URL (Ceph RGW) gives the text or JSON report
 * and exit 0 when sound, 1 when a finding is an error, 2 for usage errors and unreadable replicas;
 * LTX file arguments keep verifying files. The replica is the committed Go-written one (Litestream
 * v0.5.16), whose restore Go's own tools checked (conformance/fixtures/README.md).
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadReplicaFixture } from "../../conformance/litestream/fixture.ts";
import { openReplicaFromEnv } from "../../lib/adapters/replica-node.ts";
import { writeLtxFile } from "../../lib/replica/list.ts";
import { haveS3, s3env, skipS3 } from "../store/s3-env.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = join(ROOT, JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).bin.ltxkit);
const g = globalThis as { Bun?: unknown; Deno?: unknown };
const NODE = g.Bun || g.Deno ? "node" : process.execPath;

function ltxkit(args: string[], env: Record<string, string | undefined> = {}) {
  const r = spawnSync(NODE, [BIN, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const L0_5 = "ltx/0/0000000000000005-0000000000000005.ltx";
const haveScript = spawnSync("script", ["--version"]).status === 0;
if (!haveScript) console.warn("SKIP: the progress-on-a-terminal test needs script(1) (util-linux) for a pseudo-terminal");

describe("ltxkit verify REPLICA_URL (built binary, file replica)", () => {
  it("a sound replica: exit 0, the JSON report's shape and values (every compacted file compared with --full, integrity_check ok)", () => {
    const dir = loadReplicaFixture();
    const r = ltxkit(["verify", "--json", "--full", `file://${dir}`]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toEqual({
      url: `file://${dir}`,
      ok: true,
      errors: 0,
      warnings: 0,
      files: 28,
      bytes: j.bytes,
      page_size: 4096,
      max_txid: "000000000000000e",
      levels: [0, 1, 2, 3, 9].map((level) => ({ level, files: [14, 6, 3, 2, 3][[0, 1, 2, 3, 9].indexOf(level)], bytes: expect.any(Number), min_txid: "0000000000000001", max_txid: "000000000000000e" })),
      compactions: { comparable: 14, compared: 14, uncomparable: 0 },
      latest_restore: { status: "ok", txid: "000000000000000e", files: 1, integrity_check: "full" },
      findings: [],
    });
    let size = 0;
    for (const l of readdirSync(join(dir, "ltx"))) for (const f of readdirSync(join(dir, "ltx", l))) size += readFileSync(join(dir, "ltx", l, f)).length;
    expect(j.bytes).toBe(size);
  });

  it("a replica directory (no scheme) is a replica too; the text report ends in the verdict", () => {
    const dir = loadReplicaFixture();
    const r = ltxkit(["verify", "--sample", "1", "--integrity-check", "quick", dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("compacted files compared with their inputs: 4 of 14");
    expect(r.stdout).toContain("latest restore: ok to TXID 000000000000000e from 1 file, quick_check ok");
    expect(r.stdout.trim().split("\n").at(-1)).toBe("sound: 0 errors, 0 warnings");
  });

  it("a flipped byte: exit 1 and exactly one CORRUPT_FILE finding at that key (JSON and text)", () => {
    const dir = loadReplicaFixture();
    const p = join(dir, L0_5);
    const b = readFileSync(p);
    b[60] ^= 1;
    writeFileSync(p, b);
    const r = ltxkit(["verify", "--json", `file://${dir}`]);
    expect(r.code, r.stderr).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.ok).toBe(false);
    expect(j.findings).toEqual([{ kind: "CORRUPT_FILE", severity: "error", key: L0_5, level: 0, message: expect.stringContaining("file checksum mismatch"), code: "CHECKSUM_MISMATCH" }]);
    const t = ltxkit(["verify", dir]);
    expect(t.code).toBe(1);
    expect(t.stdout).toContain(`ERROR CORRUPT_FILE ${L0_5}: `);
    expect(t.stdout.trim().split("\n").at(-1)).toBe("UNSOUND: 1 errors, 0 warnings");
  });

  it("warnings only (a .tmp orphan): exit 0, the finding listed", () => {
    const dir = loadReplicaFixture();
    writeFileSync(join(dir, "ltx", "0", "000000000000000f-000000000000000f.ltx.tmp"), "partial");
    const r = ltxkit(["verify", "--json", "--integrity-check", "none", `file://${dir}`]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.findings.map((f: { kind: string; severity: string; key: string }) => [f.kind, f.severity, f.key])).toEqual([["ORPHAN_TMP", "warning", "ltx/0/000000000000000f-000000000000000f.ltx.tmp"]]);
    expect(j.latest_restore).toEqual({ status: "ok", txid: "000000000000000e", files: 1, integrity_check: "none", note: "no integrity check requested" });
  });

  it("LTX files keep verifying as files (exit 0, then 1 for the damaged one)", () => {
    const dir = loadReplicaFixture();
    const files = readdirSync(join(dir, "ltx", "0")).map((f) => join(dir, "ltx", "0", f));
    const ok = ltxkit(["verify", ...files]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim().split("\n")).toHaveLength(14);
    const one = ltxkit(["verify", "--json", files[0]!]);
    expect(JSON.parse(one.stdout)).toEqual([{ path: files[0], ok: true, pages: expect.any(Number) }]);
    const p = join(dir, L0_5);
    const b = readFileSync(p);
    b[60] ^= 1;
    writeFileSync(p, b);
    const bad = ltxkit(["verify", p]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe(`${p}: close reader: file checksum mismatch\n`);
  });

  it("usage errors exit 2: replica flags on files, file flags on a replica, a bad --sample; an unreadable replica exits 2", () => {
    const dir = loadReplicaFixture();
    const onFiles = ltxkit(["verify", "--full", join(dir, L0_5)]);
    expect(onFiles.code).toBe(2);
    expect(onFiles.stderr).toContain("--full applies to a replica");
    const onReplica = ltxkit(["verify", "--strict", dir]);
    expect(onReplica.code).toBe(2);
    expect(onReplica.stderr).toContain("--strict applies to LTX files");
    expect(ltxkit(["verify", "--sample", "x", dir]).code).toBe(2);
    expect(ltxkit(["verify"]).code).toBe(2);
    const dead = ltxkit(["verify", "s3://bkt/db?endpoint=http://127.0.0.1:9"], { AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s" });
    expect(dead.code).toBe(2);
    expect(dead.stderr).toContain("cannot verify s3://bkt/db");
    expect(dead.stderr).not.toContain("AWS_SECRET");
    const h = ltxkit(["verify", "-h"]);
    expect(h.code).toBe(0);
    expect(h.stderr).toContain("One argument that is a URL with a scheme");
  });
});

describe.skipIf(!haveScript)("ltxkit verify progress (built binary, a pseudo-terminal from script(1))", () => {
  it("on a terminal stderr shows the phases with counts; piped, stderr stays empty", () => {
    const dir = loadReplicaFixture();
    const cmd = `${JSON.stringify(NODE)} ${JSON.stringify(BIN)} verify --integrity-check none ${JSON.stringify(dir)} >/dev/null`;
    const tty = spawnSync("script", ["-qec", cmd, "/dev/null"], { encoding: "utf8", timeout: 120_000 });
    expect(tty.status, tty.stderr).toBe(0);
    expect(tty.stdout).toContain("\rverify [");
    expect(tty.stdout).toContain("files 28/28");
    expect(tty.stdout).toContain("compactions 12/12"); // min(4, n) per level: 4 + 3 + 2 + 3
    const piped = ltxkit(["verify", "--integrity-check", "none", dir]);
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe("");
  });
});

describe.skipIf(skipS3)("ltxkit verify s3:// (built binary, Ceph RGW)", () => {
  it("the Go-written replica uploaded to RGW: exit 0 with --full; a flipped byte in one object: exit 1, CORRUPT_FILE at its key", async () => {
    expect(haveS3, "LTXKIT_S3_ENDPOINT/LTXKIT_S3_BUCKET/AWS_* must be set").toBe(true);
    const prefix = `verify-cli-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const url = `s3://${s3env.bucket}/${prefix}?endpoint=${encodeURIComponent(s3env.endpoint)}&forcePathStyle=true`;
    const upload = openReplicaFromEnv(url);
    const local = loadReplicaFixture();
    for (const l of readdirSync(join(local, "ltx"))) {
      for (const name of readdirSync(join(local, "ltx", l))) {
        const bytes = new Uint8Array(readFileSync(join(local, "ltx", l, name)));
        const ts = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigInt64(32));
        const [min, max] = name.replace(".ltx", "").split("-").map((x) => BigInt(`0x${x}`)) as [bigint, bigint];
        await writeLtxFile(upload, Number(l), min, max, bytes, ts);
      }
    }
    try {
      const r = ltxkit(["verify", "--json", "--full", url]);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout);
      expect([j.ok, j.files, j.findings, j.compactions, j.latest_restore.status, j.latest_restore.integrity_check]).toEqual([true, 28, [], { comparable: 14, compared: 14, uncomparable: 0 }, "ok", "full"]);
      const key = `${prefix}/0000/0000000000000005-0000000000000005.ltx`;
      const b = (await upload.store.get(key))!.slice();
      b[60] ^= 1;
      await upload.store.put(key, b);
      const bad = ltxkit(["verify", "--json", url]);
      expect(bad.code, bad.stderr).toBe(1);
      expect(JSON.parse(bad.stdout).findings.map((f: { kind: string; key: string; code: string }) => [f.kind, f.key, f.code])).toEqual([["CORRUPT_FILE", key, "CHECKSUM_MISMATCH"]]);
    } finally {
      const keys: string[] = [];
      for await (const o of upload.store.list(`${prefix}/`)) keys.push(o.key);
      await upload.store.delete(keys);
    }
  });
});
