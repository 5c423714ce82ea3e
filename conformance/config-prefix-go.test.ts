/**
 * A config file's S3 `path:` is Go Litestream's key prefix verbatim: `path: /lead/app/` gives keys
 * `/lead/app//0000/…` in Go v0.5.16 (no cleaning). `ltxkit replicate` with the same config must find
 * Go's files and continue them under the same keys, and Go must restore what both wrote.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { S3Store } from "../lib/store/s3.ts";
import { mustGoTool, skipWithoutGo } from "./go-tools.ts";
import { s3env, skipS3 } from "../test/store/s3-env.ts";

const require = createRequire(import.meta.url);
const root = join(import.meta.dirname, "..");
const bin = join(root, "dist", "cli", "main.js");

describe.skipIf(skipS3 || skipWithoutGo("litestream-v0.5.16"))("config path: kept verbatim as S3 key prefix, as Go v0.5.16 does (Ceph RGW)", () => {
  it("Go writes under `/lead/<id>/app//`, ltxkit continues there with no TXID gap, Go restores the result", async () => {
    const litestream = mustGoTool("litestream-v0.5.16");
    const Database = require("better-sqlite3");
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-prefix-"));
    const id = `cfgprefix-${Date.now().toString(36)}`;
    const rawPath = `/lead/${id}/app/`;
    const dbPath = join(dir, "app.db");
    const cfg = join(dir, "litestream.yml");
    writeFileSync(
      cfg,
      `dbs:\n  - path: ${dbPath}\n    replica:\n      type: s3\n      bucket: ${s3env.bucket}\n      path: ${rawPath}\n      endpoint: ${s3env.endpoint}\n      region: ${s3env.region}\n      force-path-style: true\n`,
    );
    const env = { PATH: process.env.PATH!, AWS_ACCESS_KEY_ID: s3env.accessKeyId, AWS_SECRET_ACCESS_KEY: s3env.secretAccessKey, HOME: dir };
    const db = new Database(dbPath);
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    for (let i = 0; i < 20; i++) db.prepare("INSERT INTO t (v) VALUES (?)").run(`go ${i}`);
    const go = spawnSync(litestream, ["replicate", "-once", "-config", cfg], { encoding: "utf8", env });
    expect(go.status, go.stderr + go.stdout).toBe(0);

    const store = new S3Store({ endpoint: s3env.endpoint, bucket: s3env.bucket, accessKeyId: s3env.accessKeyId, secretAccessKey: s3env.secretAccessKey, region: s3env.region, forcePathStyle: true });
    const keys = async () => {
      const out: string[] = [];
      for await (const o of store.list(`/lead/${id}/`)) out.push(o.key);
      return out;
    };
    const goKeys = await keys();
    expect(goKeys.length).toBeGreaterThan(0);
    for (const k of goKeys) expect(k).toMatch(new RegExp(`^/lead/${id}/app//0000/[0-9a-f]{16}-[0-9a-f]{16}\\.ltx$`));

    for (let i = 0; i < 20; i++) db.prepare("INSERT INTO t (v) VALUES (?)").run(`ltxkit ${i}`);
    const ours = spawnSync(process.execPath, [bin, "replicate", "-once", "-config", cfg], { encoding: "utf8", env });
    expect(ours.status, ours.stderr).toBe(0);
    const all = await keys();
    expect(all.length).toBeGreaterThan(goKeys.length);
    const l0 = all.filter((k) => k.includes("//0000/")).map((k) => k.slice(k.lastIndexOf("/") + 1));
    for (const k of all) expect(k.startsWith(`/lead/${id}/app//`), k).toBe(true);
    const ranges = l0.map((n) => n.replace(".ltx", "").split("-").map((h) => BigInt("0x" + h)) as [bigint, bigint]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    expect(ranges[0]![0]).toBe(1n);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0], "contiguous TXIDs").toBe(ranges[i - 1]![1] + 1n);

    const out = join(dir, "restored.db");
    const r = spawnSync(litestream, ["restore", "-config", cfg, "-o", out, dbPath], { encoding: "utf8", env });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const got = new Database(out, { readonly: true });
    expect(got.prepare("SELECT id, v FROM t ORDER BY id").all()).toEqual(db.prepare("SELECT id, v FROM t ORDER BY id").all());
    got.close();
    db.close();
  });
});
