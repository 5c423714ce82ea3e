import { S3Store } from "../../lib/store/s3.ts";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { goTool, mustGoTool, requireGo, skipWithoutGo } from "../../conformance/go-tools.ts";
import { isLtxError, LtxError } from "../../lib/errors.ts";
import { configFromArgs, defaultConfigPath, expandEnv, findSQLiteDatabases, formatGoDuration, loadConfigFile, matchPattern, parseConfig, parseGoDuration, type ReplicateConfig } from "../../lib/cli/config.ts";
import { listLevel, writeLtxFile } from "../../lib/replica/list.ts";
import { openReplica, parseReplicaURL } from "../../lib/replica/url.ts";
import { s3env, skipS3 } from "../store/s3-env.ts";

const CWD = "/srv/app";
const HOME = "/home/op";
const parse = (text: string, env: Record<string, string> = {}, extra: Parameters<typeof parseConfig>[1] = {}) => parseConfig(text, { env, cwd: CWD, home: HOME, pid: 4242, ...extra });

async function rejects(text: string, message: string, env: Record<string, string> = {}): Promise<LtxError> {
  let err: unknown;
  try {
    await parse(text, env);
  } catch (e) {
    err = e;
  }
  expect(isLtxError(err, "INVALID_CONFIG"), `expected INVALID_CONFIG, got ${String(err)}`).toBe(true);
  expect((err as LtxError).message).toBe(message);
  return err as LtxError;
}

const DEFAULTS = { monitorInterval: 1000, checkpointInterval: 60000, busyTimeout: 1000, minCheckpointPageCount: 1000, truncatePageN: 121359, restoreIfNotExists: false };

describe("config: every supported key", () => {
  it("parses a full config to exact values (global settings as replica defaults, per-db settings, levels, snapshot, exec)", async () => {
    const cfg = await parse(`
access-key-id: GLOBALKEY
secret-access-key: GLOBALSECRET
region: eu-central-1
sync-interval: 3s
levels:
  - interval: 10s
  - interval: 2m
snapshot:
  interval: 1h30m
  retention: 48h
l0-retention: 90s
retention:
  enabled: false
shutdown-sync-timeout: 45s
exec: ./server --port 8080
dbs:
  - path: /data/app.db
    meta-path: /data/app-meta
    monitor-interval: 500ms
    checkpoint-interval: 2m
    busy-timeout: 5s
    min-checkpoint-page-count: 2000
    truncate-page-n: 50000
    replica:
      type: s3
      bucket: backups
      path: prod/app
      endpoint: https://s3.example.com
      region: us-west-2
      force-path-style: false
      access-key-id: DBKEY
      secret-access-key: DBSECRET
      sync-interval: 250ms
  - path: data/rel.db
    replicas:
      - url: s3://other/rel?endpoint=http://127.0.0.1:9000
      - path: backups/rel
        sync-interval: 1m
      - url: file:///mnt/rel%20copy
`);
    const expected: ReplicateConfig = {
      compaction: { levels: [10_000, 120_000], snapshotInterval: 5_400_000, snapshotRetention: 172_800_000, l0Retention: 90_000, retention: false },
      exec: "./server --port 8080",
      shutdownTimeout: 45_000,
      watched: [],
      dbs: [
        {
          path: "/data/app.db",
          metaPath: "/data/app-meta",
          monitorInterval: 500,
          checkpointInterval: 120_000,
          busyTimeout: 5000,
          minCheckpointPageCount: 2000,
          truncatePageN: 50_000,
          restoreIfNotExists: false,
          syncInterval: 250,
          replicas: [
            { url: "s3://backups/prod/app?endpoint=https%3A%2F%2Fs3.example.com&region=us-west-2&forcePathStyle=false", env: { AWS_ACCESS_KEY_ID: "DBKEY", AWS_SECRET_ACCESS_KEY: "DBSECRET" }, syncInterval: 250 },
          ],
        },
        {
          path: "/srv/app/data/rel.db",
          ...DEFAULTS,
          syncInterval: 3000,
          replicas: [
            { url: "s3://other/rel?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-central-1&forcePathStyle=true", env: { AWS_ACCESS_KEY_ID: "GLOBALKEY", AWS_SECRET_ACCESS_KEY: "GLOBALSECRET" }, syncInterval: 3000 },
            { url: "/srv/app/backups/rel", env: { AWS_ACCESS_KEY_ID: "GLOBALKEY", AWS_SECRET_ACCESS_KEY: "GLOBALSECRET" }, syncInterval: 60_000 },
            { url: "/mnt/rel copy", env: { AWS_ACCESS_KEY_ID: "GLOBALKEY", AWS_SECRET_ACCESS_KEY: "GLOBALSECRET" }, syncInterval: 3000 },
          ],
        },
      ],
    };
    expect(cfg).toEqual(expected);
    // the S3 URLs read back, through the replica URL parser, to the fields of the config
    expect(parseReplicaURL(cfg.dbs[0]!.replicas[0]!.url)).toEqual({ kind: "s3", bucket: "backups", prefix: "prod/app", endpoint: "https://s3.example.com", region: "us-west-2", forcePathStyle: false });
    expect(parseReplicaURL(cfg.dbs[1]!.replicas[0]!.url)).toEqual({ kind: "s3", bucket: "other", prefix: "rel", endpoint: "http://127.0.0.1:9000", region: "eu-central-1", forcePathStyle: true });
  });

  // Go v0.5.16 refuses the first database ("cannot specify url & bucket for s3 replica", checked
  // with its `databases -config`): ltxkit accepts it, by choice.
  it("a global bucket is the default of bucket-style S3 replicas only: a URL replica keeps the bucket its URL names", async () => {
    const cfg = await parse("bucket: shared\ndbs:\n  - path: /a.db\n    replica: {url: s3://own/a}\n  - path: /b.db\n    replica: {type: s3, path: b}\n");
    expect(cfg.dbs.map((d) => parseReplicaURL(d.replicas[0]!.url))).toEqual([
      { kind: "s3", bucket: "own", prefix: "a" },
      { kind: "s3", bucket: "shared", prefix: "b" },
    ]);
  });

  it("applies Litestream's defaults when keys are absent (1s monitor, 1m checkpoint, 1s busy, 1000 / 121359 pages, 1s sync) and sets no compaction key", async () => {
    const cfg = await parse("dbs:\n  - path: /a.db\n    replica:\n      url: s3://b/a\n");
    expect(cfg).toEqual({ compaction: {}, watched: [], dbs: [{ path: "/a.db", monitorInterval: 1000, checkpointInterval: 60000, busyTimeout: 1000, minCheckpointPageCount: 1000, truncatePageN: 121359, restoreIfNotExists: false, syncInterval: 1000, replicas: [{ url: "s3://b/a", env: {}, syncInterval: 1000 }] }] });
  });

  it("reads an endpoint as path style unless force-path-style says otherwise, as Go's S3 config does", async () => {
    const cfg = await parse(`dbs:
  - path: /a.db
    replicas:
      - {type: s3, bucket: b, path: a, endpoint: http://e:9000}
      - {type: s3, bucket: b, path: c}
      - {url: "s3://b/d?endpoint=http://e:9000&forcePathStyle=false"}
`);
    expect(cfg.dbs[0]!.replicas.map((r) => parseReplicaURL(r.url))).toEqual([
      { kind: "s3", bucket: "b", prefix: "a", endpoint: "http://e:9000", forcePathStyle: true },
      { kind: "s3", bucket: "b", prefix: "c" },
      { kind: "s3", bucket: "b", prefix: "d", endpoint: "http://e:9000", forcePathStyle: false },
    ]);
  });

  it("reads YAML 1.1 booleans (yes/on/off) as Go's yaml.v2 does, and follows anchors and merge keys", async () => {
    const cfg = await parse(`
retention: {enabled: off}
dbs:
  - path: /a.db
    replica: &r
      type: s3
      bucket: b
      path: a
      endpoint: http://e
      force-path-style: no
  - path: /b.db
    replica:
      <<: *r
      path: b
      force-path-style: yes
`);
    expect(cfg.compaction).toEqual({ retention: false });
    expect(cfg.dbs.map((d) => d.replicas[0]!.url)).toEqual(["s3://b/a?endpoint=http%3A%2F%2Fe&forcePathStyle=false", "s3://b/b?endpoint=http%3A%2F%2Fe&forcePathStyle=true"]);
  });

  it("makes paths absolute as Litestream's expand does: relative to the working directory, ~ to the home directory, sqlite:// stripped", async () => {
    const cfg = await parse(`dbs:
  - {path: ../x.db, replica: {path: ./bk}}
  - {path: "~/y.db", meta-path: "~/meta", replica: {path: "~/bk"}}
  - {path: "sqlite3:///var/z.db", replica: {path: /bk/z}}
  - {path: "sqlite://rel/w.db", replica: {path: /bk/w}}
`);
    expect(cfg.dbs.map((d) => [d.path, d.metaPath, d.replicas[0]!.url])).toEqual([
      ["/srv/x.db", undefined, "/srv/app/bk"],
      ["/home/op/y.db", "/home/op/meta", "/home/op/bk"],
      ["/var/z.db", undefined, "/bk/z"],
      ["/srv/app/rel/w.db", undefined, "/bk/w"],
    ]);
  });

  it("accepts an age section without identities or recipients (Go ignores it) and the deprecated replica name", async () => {
    const cfg = await parse("dbs:\n  - path: /a.db\n    replica:\n      name: primary\n      path: /bk\n      age: {identities: [], recipients: []}\n");
    expect(cfg.dbs[0]!.replicas).toEqual([{ url: "/bk", env: {}, syncInterval: 1000 }]);
  });

  it("returns no databases for an empty file", async () => {
    expect(await parse("")).toEqual({ dbs: [], compaction: {}, watched: [] });
    expect(await parse("# nothing\n")).toEqual({ dbs: [], compaction: {}, watched: [] });
  });

  it("keeps an S3 `path:` as Go's verbatim key prefix where cleaning would change it (leading or trailing /, empty); a URL path is cleaned", async () => {
    const cfg = await parse(`dbs:
  - path: /a.db
    replicas:
      - {type: s3, bucket: b, path: /lead/app}
      - {type: s3, bucket: b, path: tail/}
      - {type: s3, bucket: b}
      - {type: s3, bucket: b, path: plain/app}
      - {url: "s3://b//url/app/"}
`);
    expect(cfg.dbs[0]!.replicas.map((r) => [r.url, r.keyPrefix])).toEqual([
      ["s3://b/lead/app", "/lead/app"],
      ["s3://b/tail", "tail/"],
      ["s3://b", ""],
      ["s3://b/plain/app", undefined],
      ["s3://b/url/app", undefined],
    ]);
    // directory replication: Go's path.Join(path, rel)
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-prefix-"));
    writeFileSync(join(dir, "t.db"), Buffer.concat([Buffer.from("SQLite format 3\0"), Buffer.alloc(84)]));
    const d = await parse(`dbs:\n  - dir: ${dir}\n    pattern: "*.db"\n    replica: {type: s3, bucket: b, path: /tenants/}\n`);
    expect(d.dbs[0]!.replicas.map((r) => [r.url, r.keyPrefix])).toEqual([["s3://b/tenants/t.db", "/tenants/t.db"]]);
  });

  it("reads max-sync-wal-bytes and restore-if-db-not-exists per database", async () => {
    const cfg = await parse("dbs:\n  - path: /a.db\n    max-sync-wal-bytes: 1048576\n    restore-if-db-not-exists: true\n    replica: {path: /b}\n  - path: /c.db\n    replica: {path: /d}\n");
    expect(cfg.dbs.map((d) => [d.maxSyncWalBytes, d.restoreIfNotExists])).toEqual([[1048576, true], [undefined, false]]);
    await rejects("dbs:\n  - path: /a.db\n    max-sync-wal-bytes: 0\n    replica: {path: /b}\n", "dbs[0].max-sync-wal-bytes: max sync WAL bytes must be greater than 0 (got 0)");
    await rejects("dbs:\n  - path: /a.db\n    max-sync-wal-bytes: 64MiB\n    replica: {path: /b}\n", 'dbs[0].max-sync-wal-bytes: invalid integer "64MiB"');
  });

  it("takes a per-database snapshot section as the global one when the file sets none, and rejects databases that disagree (Go's messages)", async () => {
    const one = await parse("dbs:\n  - path: /a.db\n    snapshot: {interval: 2h, retention: 48h}\n    replica: {path: /b}\n  - path: /c.db\n    snapshot: {interval: 2h}\n    replica: {path: /d}\n");
    expect(one.compaction).toEqual({ snapshotInterval: 7_200_000, snapshotRetention: 172_800_000 });
    // a global section wins over the per-database one
    const global = await parse("snapshot: {interval: 1h}\ndbs:\n  - path: /a.db\n    snapshot: {interval: 2h, retention: 3h}\n    replica: {path: /b}\n");
    expect(global.compaction).toEqual({ snapshotInterval: 3_600_000, snapshotRetention: 10_800_000 });
    await rejects("dbs:\n  - path: /a.db\n    snapshot: {interval: 2h}\n    replica: {path: /b}\n  - path: /c.db\n    snapshot: {interval: 3h}\n    replica: {path: /d}\n", "dbs[1].snapshot.interval: conflicting database snapshot intervals: /a.db has 2h0m0s, /c.db has 3h0m0s");
    await rejects("dbs:\n  - path: /a.db\n    snapshot: {retention: 0s}\n    replica: {path: /b}\n", "dbs[0].snapshot.retention: snapshot retention must be greater than 0 (got 0s)");
  });

  it("keeps a watched directory (even empty) with the configuration each new database will get, and refuses watch without dir", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-watch-"));
    const cfg = await parse(`dbs:\n  - dir: ${dir}\n    pattern: "*.db"\n    watch: true\n    monitor-interval: 250ms\n    replica: {url: "s3://bk/tenants"}\n`);
    expect(cfg.dbs).toEqual([]);
    expect(cfg.watched.map((w) => [w.dir, w.pattern, w.recursive])).toEqual([[dir, "*.db", false]]);
    expect(cfg.watched[0]!.configFor(join(dir, "t1.db"))).toEqual({ path: join(dir, "t1.db"), ...DEFAULTS, monitorInterval: 250, syncInterval: 1000, replicas: [{ url: "s3://bk/tenants/t1.db", env: {}, syncInterval: 1000 }] });
    await rejects(`dbs:\n  - dir: ${dir}\n    pattern: "*.db"\n    replica: {path: /b}\n`, `dbs[0]: no SQLite databases found in directory ${dir} with pattern *.db`);
    await rejects("dbs:\n  - path: /a.db\n    watch: true\n    replica: {path: /b}\n", "dbs[0].watch: 'watch' can only be enabled with a directory");
  });
});

describe("config: rejected input names the key", () => {
  it("rejects an unknown key at every level with its path", async () => {
    await rejects("dbz: []\n", "dbz: unknown key");
    await rejects("dbs:\n  - path: /a.db\n    sync_interval: 1s\n    replica: {path: /b}\n", "dbs[0].sync_interval: unknown key");
    await rejects("dbs:\n  - path: /a.db\n    replica:\n      path: /b\n      sync_interval: 1s\n", "dbs[0].replica.sync_interval: unknown key");
    await rejects("dbs:\n  - path: /a.db\n    replicas:\n      - path: /b\n      - path: /c\n        urll: x\n", "dbs[0].replicas[1].urll: unknown key");
    await rejects("levels:\n  - intervall: 1s\n", "levels[0].intervall: unknown key");
    await rejects("snapshot:\n  interval: 1h\n  retension: 1h\n", "snapshot.retension: unknown key");
    await rejects("retention: {enable: true}\n", "retention.enable: unknown key");
    await rejects("dbs:\n  - path: /a.db\n    replica:\n      path: /b\n      age: {identity: x}\n", "dbs[0].replica.age.identity: unknown key");
  });

  it("rejects keys Litestream has and ltxkit does not implement as unsupported, not unknown", async () => {
    await rejects("addr: :9090\n", "addr: not supported by ltxkit");
    await rejects("dbs:\n  - path: /a.db\n    replica:\n      url: s3://b/a\n      sse-kms-key-id: k\n", "dbs[0].replica.sse-kms-key-id: not supported by ltxkit");
  });

  it("rejects age recipients with Go's message", async () => {
    await rejects("dbs:\n  - path: /a.db\n    replica:\n      path: /b\n      age:\n        recipients: [age1xyz]\n", "dbs[0].replica.age: age encryption is not currently supported, if you need encryption please revert back to Litestream v0.3.x");
    await rejects("age:\n  identities: [/key.txt]\ndbs: []\n", "age: age encryption is not currently supported, if you need encryption please revert back to Litestream v0.3.x");
  });

  it("rejects a bad duration naming the key and the value", async () => {
    const db = (kv: string) => `dbs:\n  - path: /a.db\n    ${kv}\n    replica: {path: /b}\n`;
    await rejects(db("monitor-interval: 1"), 'dbs[0].monitor-interval: invalid duration "1" (e.g. 1s, 500ms, 1h30m)');
    await rejects(db("checkpoint-interval: soon"), 'dbs[0].checkpoint-interval: invalid duration "soon" (e.g. 1s, 500ms, 1h30m)');
    await rejects(db("busy-timeout: 1x"), 'dbs[0].busy-timeout: invalid duration "1x" (e.g. 1s, 500ms, 1h30m)');
    await rejects("dbs:\n  - path: /a.db\n    replica: {path: /b, sync-interval: 1.5}\n", 'dbs[0].replica.sync-interval: invalid duration "1.5" (e.g. 1s, 500ms, 1h30m)');
    await rejects("l0-retention: .s\n", 'l0-retention: invalid duration ".s" (e.g. 1s, 500ms, 1h30m)');
    await rejects("snapshot: {interval: 1d}\n", 'snapshot.interval: invalid duration "1d" (e.g. 1s, 500ms, 1h30m)');
    await rejects("levels: [{interval: [1s]}]\n", "levels[0].interval: expected a string, got a list");
  });

  it("rejects durations that must be positive with Go's wording", async () => {
    await rejects("dbs:\n  - path: /a.db\n    replica: {path: /b, sync-interval: 0s}\n", "dbs[0].replica.sync-interval: sync interval must be greater than 0 (got 0s)");
    await rejects("sync-interval: -1s\ndbs:\n  - path: /a.db\n    replica: {path: /b}\n", "dbs[0].replica.sync-interval: sync interval must be greater than 0 (got -1s)");
    await rejects("levels: [{interval: 30s}, {interval: 0}]\n", "levels[1].interval: compaction interval must be greater than 0 (got 0s)");
    await rejects("levels: [{}]\n", "levels[0].interval: compaction interval must be greater than 0 (got 0s)");
    await rejects("snapshot: {retention: -1h30m}\n", "snapshot.retention: snapshot retention must be greater than 0 (got -1h30m0s)");
    await rejects("l0-retention: 0s\n", "l0-retention: l0 retention must be greater than 0 (got 0s)");
    await rejects("shutdown-sync-timeout: -5s\n", "shutdown-sync-timeout: shutdown-sync-timeout must be >= 0 (got -5s)");
    await rejects("dbs:\n  - path: /a.db\n    monitor-interval: 0s\n    replica: {path: /b}\n", "dbs[0].monitor-interval: monitor interval must be greater than 0 (got 0s)");
  });

  it("rejects values of the wrong type naming the key and the value", async () => {
    await rejects("dbs: {path: /a.db}\n", "dbs: expected a list, got a mapping");
    await rejects("- a\n", "config: expected a mapping, got a list");
    await rejects("dbs:\n  - path: /a.db\n    replica: [/b]\n", "dbs[0].replica: expected a mapping, got a list");
    await rejects("dbs:\n  - path: {a: 1}\n", "dbs[0].path: expected a string, got a mapping");
    await rejects("dbs:\n  - path: /a.db\n    min-checkpoint-page-count: 1.5\n    replica: {path: /b}\n", 'dbs[0].min-checkpoint-page-count: invalid integer "1.5"');
    await rejects("dbs:\n  - path: /a.db\n    truncate-page-n: many\n    replica: {path: /b}\n", 'dbs[0].truncate-page-n: invalid integer "many"');
    await rejects("dbs:\n  - path: /a.db\n    truncate-page-n: -1\n    replica: {path: /b}\n", "dbs[0].truncate-page-n: truncate page count must be >= 0 (got -1)");
    await rejects('dbs:\n  - path: /a.db\n    replica: {type: s3, bucket: b, force-path-style: "true"}\n', 'dbs[0].replica.force-path-style: invalid boolean "true" (true or false)');
    await rejects("dbs:\n  - dir: /d\n    pattern: '*.db'\n    recursive: maybe\n    replica: {path: /b}\n", 'dbs[0].recursive: invalid boolean "maybe" (true or false)');
    await rejects("dbs:\n  - path: /a.db\n    replica: {type: gs, bucket: b}\n", 'dbs[0].replica.type: replica type "gs" is not supported by ltxkit (file, s3)');
    await rejects("dbs:\n  - path: /a.db\n    replica: {url: abs://acct/c}\n", 'dbs[0].replica.url: replica type "abs" is not supported by ltxkit (file, s3)');
    await rejects("dbs:\n  - path: /a.db\n    replica: {type: ftp, path: /b}\n", 'dbs[0].replica.type: unknown replica type in config: "ftp"');
    await rejects("dbs:\n  - path: /a.db\n    replica: {url: ftp://h/b}\n", "dbs[0].replica.url: unsupported replica URL scheme: ftp:// (file, s3)");
  });

  it("rejects a database without a path, a replica, or with conflicting fields (Go's messages)", async () => {
    await rejects("dbs:\n  - replica: {path: /b}\n", "dbs[0]: must specify either 'path' or 'dir'");
    await rejects("dbs:\n  - path: /a.db\n    dir: /d\n    replica: {path: /b}\n", "dbs[0]: cannot specify both 'path' and 'dir'");
    await rejects("dbs:\n  - dir: /d\n    replica: {path: /b}\n", "dbs[0]: 'pattern' is required when using 'dir'");
    await rejects("dbs:\n  - path: /a.db\n    pattern: '*.db'\n    replica: {path: /b}\n", "dbs[0].pattern: can only be used with 'dir'");
    await rejects("dbs:\n  - path: /a.db\n    meta-dir: /m\n    replica: {path: /b}\n", "dbs[0]: 'meta-dir' can only be used with a directory");
    await rejects("dbs:\n  - dir: /d\n    pattern: '*.db'\n    meta-path: /m\n    meta-dir: /n\n    replica: {path: /b}\n", "dbs[0]: cannot specify both 'meta-path' and 'meta-dir'");
    await rejects("dbs:\n  - path: /a.db\n", "dbs[0]: must specify replica for database");
    await rejects("dbs:\n  - path: /a.db\n    replicas: []\n", "dbs[0]: must specify replica for database");
    await rejects("dbs:\n  - path: /a.db\n    replica: {path: /b}\n    replicas: [{path: /c}]\n", "dbs[0]: cannot specify 'replica' and 'replicas' on a database");
    await rejects("dbs:\n  - path: /a.db\n    replica: {url: s3://b/a, path: x}\n", "dbs[0].replica: cannot specify url & path for s3 replica");
    await rejects("dbs:\n  - path: /a.db\n    replica: {url: s3://b/a, bucket: c}\n", "dbs[0].replica: cannot specify url & bucket for s3 replica");
    await rejects("dbs:\n  - path: /a.db\n    replica: {type: s3, path: a}\n", "dbs[0].replica: bucket required for s3 replica");
    await rejects("dbs:\n  - path: /a.db\n    replica: {type: file}\n", "dbs[0].replica: file replica path required");
    await rejects("dbs:\n  - path: /a.db\n    replica: {path: 's3://b/a'}\n", "dbs[0].replica.path: replica path cannot be a url, please use the 'url' field instead: s3://b/a");
  });

  it("rejects two databases sharing a path, a meta-path or a replica destination", async () => {
    await rejects("dbs:\n  - {path: /a.db, replica: {path: /b1}}\n  - {path: /a.db, replica: {path: /b2}}\n", "dbs[1]: database /a.db is already configured by dbs[0]");
    await rejects("dbs:\n  - {path: /a.db, meta-path: /m, replica: {path: /b1}}\n  - {path: /c.db, meta-path: /m, replica: {path: /b2}}\n", "meta-path collision: databases /a.db and /c.db would share meta-path /m, causing replication state corruption");
    await rejects("dbs:\n  - {path: /x/a.db, replica: {path: /b1}}\n  - {path: /a.db, meta-path: /x/.a.db-litestream, replica: {path: /b2}}\n", "meta-path collision: databases /x/a.db and /a.db would share meta-path /x/.a.db-litestream, causing replication state corruption");
    await rejects("dbs:\n  - {path: /a.db, replica: {url: s3://b/p}}\n  - {path: /c.db, replica: {type: s3, bucket: b, path: p}}\n", "replica collision: databases /a.db and /c.db would both replicate to s3://b/p");
    await rejects("dbs:\n  - {path: /a.db, replicas: [{path: /b}, {url: 'file:///b'}]}\n", "replica collision: database /a.db lists replica /b twice");
  });

  it("reports YAML syntax errors by position", async () => {
    await rejects("dbs:\n  - path: /a.db\n    path: /b.db\n", "YAML syntax error at line 3, column 5: Map keys must be unique");
    await rejects("dbs: [\n", "YAML syntax error at line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]");
  });

  it("never puts a credential into a message", async () => {
    const secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRET";
    const cases = [
      `secret-access-key: {nested: ${secret}}\n`,
      `dbs:\n  - path: /a.db\n    replica:\n      url: s3://b/a\n      secret-access-key: [${secret}]\n`,
      `dbs:\n  - path: /a.db\n    replica:\n      url: s3://b/a\n      secret_access_key: ${secret}\n`,
      `dbs:\n  - path: /a.db\n    replica:\n      url: s3://b/a\n      secret-access-key: "${secret}\n`,
      `access-key-id: ${secret}\nsecret-access-key: ${secret}\n  broken: [\n`,
      `dbs:\n  - path: /a.db\n    replica:\n      url: "s3://AKID:${secret}@bucket/a"\n      path: x\n`,
      `dbs:\n  - path: /a.db\n    replica:\n      path: "s3://AKID:${secret}@bucket/a"\n`,
    ];
    for (const text of cases) {
      const err = await parse(text).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isLtxError(err, "INVALID_CONFIG"), text).toBe(true);
      expect((err as Error).message).not.toContain(secret);
      expect((err as Error).message).not.toContain("SECRET");
    }
  });
});

describe("config: environment expansion", () => {
  it("expands $VAR, ${VAR} and $PID in the raw text; unset names become empty", async () => {
    const cfg = await parse(
      `exec: "run $UNSET-x"
dbs:
  - path: $DATA/app.db
    meta-path: \${DATA}/meta-$PID
    replica:
      url: s3://\${BUCKET}/$PREFIX
      access-key-id: $KEY
      secret-access-key: \${SECRET}
`,
      { DATA: "/var/data", BUCKET: "bkt", PREFIX: "p/q", KEY: "AKID", SECRET: "S3CR3T" },
    );
    expect(cfg.exec).toBe("run -x");
    expect(cfg.dbs[0]).toMatchObject({ path: "/var/data/app.db", metaPath: "/var/data/meta-4242", replicas: [{ url: "s3://bkt/p/q", env: { AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "S3CR3T" }, syncInterval: 1000 }] });
  });

  it("leaves the text alone with expandEnv false (-no-expand-env)", async () => {
    const cfg = await parse("dbs:\n  - path: $DATA/app.db\n    replica: {path: '${BK}'}\n", { DATA: "/var/data", BK: "/bk" }, { expandEnv: false });
    expect(cfg.dbs[0]!.path).toBe("/srv/app/$DATA/app.db");
    expect(cfg.dbs[0]!.replicas[0]!.url).toBe("/srv/app/${BK}");
  });

  it("uses $LITESTREAM_CONFIG as the default path, else /etc/litestream.yml", () => {
    expect(defaultConfigPath({})).toBe("/etc/litestream.yml");
    expect(defaultConfigPath({ LITESTREAM_CONFIG: "/x/ls.yml" })).toBe("/x/ls.yml");
  });

  it("loadConfigFile names a missing file and prefixes the file to messages", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-cfg-"));
    await expect(loadConfigFile(join(dir, "none.yml"))).rejects.toMatchObject({ code: "INVALID_CONFIG", message: `config file not found: ${join(dir, "none.yml")}` });
    writeFileSync(join(dir, "bad.yml"), "dbs:\n  - path: /a.db\n    replica:\n      sync_interval: 1s\n");
    await expect(loadConfigFile(join(dir, "bad.yml"))).rejects.toMatchObject({ code: "INVALID_CONFIG", message: `${join(dir, "bad.yml")}: dbs[0].replica.sync_interval: unknown key` });
  });
});

describe("config: directory replication", () => {
  const SQLITE_HEADER = Buffer.concat([Buffer.from("SQLite format 3\0", "latin1"), Buffer.alloc(84)]);
  function tree(): string {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-dirrep-"));
    mkdirSync(join(dir, "acme"));
    mkdirSync(join(dir, "acme", "deep"));
    mkdirSync(join(dir, "zeta"));
    writeFileSync(join(dir, "main.db"), SQLITE_HEADER);
    writeFileSync(join(dir, "acme", "users.db"), SQLITE_HEADER);
    writeFileSync(join(dir, "acme", "deep", "orders.db"), SQLITE_HEADER);
    writeFileSync(join(dir, "zeta", "z.db"), SQLITE_HEADER);
    writeFileSync(join(dir, "notes.db"), "not a database, just text long enough\n");
    writeFileSync(join(dir, "short.db"), "SQLite format 3"); // 15 bytes: no NUL, too short
    writeFileSync(join(dir, "other.sqlite"), SQLITE_HEADER); // pattern does not match
    writeFileSync(join(dir, "near.db"), Buffer.concat([Buffer.from("SQLite format 3 ", "latin1"), Buffer.alloc(84)]));
    symlinkSync(join(dir, "zeta"), join(dir, "link-dir"));
    return dir;
  }

  it("finds only files with the SQLite header and a matching name; subdirectories only when recursive; lexical walk order", async () => {
    const dir = tree();
    expect(await findSQLiteDatabases(dir, "*.db", false)).toEqual([join(dir, "main.db")]);
    expect(await findSQLiteDatabases(dir, "*.db", true)).toEqual([join(dir, "acme", "deep", "orders.db"), join(dir, "acme", "users.db"), join(dir, "main.db"), join(dir, "zeta", "z.db")]);
    expect(await findSQLiteDatabases(dir, "*.sqlite", true)).toEqual([join(dir, "other.sqlite")]);
    expect(await findSQLiteDatabases(dir, "u*", true)).toEqual([join(dir, "acme", "users.db")]);
  });

  it("gives each database the prefix <replica path>/<path relative to dir> for file, S3 URL and S3 path replicas, and per-database meta paths", async () => {
    const dir = tree();
    const cfg = await parse(`dbs:
  - dir: ${dir}
    pattern: "*.db"
    recursive: true
    meta-path: /meta
    monitor-interval: 2s
    replicas:
      - path: /backups/tenants
      - url: s3://bkt/tenants?region=eu-west-1
      - {type: s3, bucket: bkt2, path: t/}
`);
    const rels = ["acme/deep/orders.db", "acme/users.db", "main.db", "zeta/z.db"];
    expect(cfg.dbs.map((d) => d.path)).toEqual(rels.map((r) => join(dir, r)));
    expect(cfg.dbs.map((d) => d.replicas.map((r) => r.url))).toEqual(rels.map((r) => [`/backups/tenants/${r}`, `s3://bkt/tenants/${r}?region=eu-west-1`, `s3://bkt2/t/${r}`]));
    expect(cfg.dbs.map((d) => d.metaPath)).toEqual(["/meta/acme/deep/.orders.db-litestream", "/meta/acme/.users.db-litestream", "/meta/.main.db-litestream", "/meta/zeta/.z.db-litestream"]);
    expect(cfg.dbs.every((d) => d.monitorInterval === 2000 && d.syncInterval === 1000)).toBe(true);
    expect(parseReplicaURL(cfg.dbs[0]!.replicas[1]!.url)).toEqual({ kind: "s3", bucket: "bkt", prefix: "tenants/acme/deep/orders.db", region: "eu-west-1" });

    const flat = await parse(`dbs:\n  - dir: ${dir}/acme\n    pattern: "*.db"\n    meta-dir: /metadir\n    replica: {url: "s3://bkt3"}\n`);
    expect(flat.dbs).toEqual([{ path: join(dir, "acme", "users.db"), metaPath: "/metadir/users.db-litestream", ...DEFAULTS, syncInterval: 1000, replicas: [{ url: "s3://bkt3/users.db", env: {}, syncInterval: 1000 }] }]);
  });

  it("rejects a database found by two entries, an empty directory, and a malformed pattern", async () => {
    const dir = tree();
    await rejects(`dbs:\n  - {dir: ${dir}, pattern: "*.db", recursive: true, replica: {path: /b1}}\n  - {dir: ${dir}/zeta, pattern: "*.db", replica: {path: /b2}}\n`, `dbs[1]: database ${dir}/zeta/z.db is already configured by dbs[0]`);
    await rejects(`dbs:\n  - {dir: ${dir}/acme/deep, pattern: "*.sqlite", replica: {path: /b1}}\n`, `dbs[0]: no SQLite databases found in directory ${dir}/acme/deep with pattern *.sqlite`);
    await rejects(`dbs:\n  - {dir: ${dir}, pattern: "[a-", replica: {path: /b1}}\n`, 'dbs[0].pattern: invalid pattern "[a-": syntax error in pattern');
    await rejects(`dbs:\n  - {dir: ${dir}/main.db, pattern: "*.db", replica: {path: /b1}}\n`, `failed to scan directory ${dir}/main.db: not a directory`);
    await rejects(`dbs:\n  - {dir: ${dir}/missing, pattern: "*.db", replica: {path: /b1}}\n`, `failed to scan directory ${dir}/missing: no such file or directory`);
  });
});

describe("config: DB_PATH and REPLICA_URL arguments", () => {
  it("builds one database with Litestream's defaults and each URL as a replica", () => {
    expect(configFromArgs("app.db", ["file:///bk/app", "s3://b/app"], { cwd: CWD })).toEqual({
      compaction: {},
      watched: [],
      dbs: [{ path: "/srv/app/app.db", ...DEFAULTS, syncInterval: 1000, replicas: [{ url: "/bk/app", env: {}, syncInterval: 1000 }, { url: "s3://b/app", env: {}, syncInterval: 1000 }] }],
    });
    expect(() => configFromArgs("app.db", ["gs://b/app"], { cwd: CWD })).toThrow('replica URL #1.url: replica type "gs" is not supported by ltxkit (file, s3)');
  });
});

// Expected values from Go itself (os.Expand, time.ParseDuration, Duration.String, filepath.Match).
const goBin = spawnSync("go", ["version"]).status === 0;
describe.skipIf(!goBin && !requireGo)("config: Go semantics, checked against Go's standard library", () => {
  const run = (input: unknown) => {
    const r = spawnSync("go", ["run", join(import.meta.dirname, "go-oracle", "main.go")], { input: JSON.stringify(input), encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod", GO111MODULE: "off" } });
    if (r.status !== 0) throw new Error(`go run failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const expand = ["$A", "${A}", "x$A-y", "${A}${B}", "$", "a$", "$$", "$1", "${1}", "${}", "${A", "$ A", "$-", "${A B}", "$A_B", "$AB", "$!x", "${_}", "a$A:$B/c", "\\$A", "€$A€"];
  const durations = ["0", "+0", "-0", "1s", "1.5s", "1h30m", "500ms", "1us", "1µs", "1μs", "100ns", ".5s", "5.s", "1.000000001s", "2562047h", "2562048h", "-1m", "1", "", "s", "1x", ".s", "1h 30m", "1.2.3s", "9223372036854775807ns", "9223372036854775808ns", "0.0000000001s", "1m1m"];
  const formats = [0, 1, 999, 1000, 1500, 1_000_000, 1_500_000, 999_999_999, 1_000_000_000, 1_500_000_000, 60_000_000_000, 90_000_000_000, 3_600_000_000_000, 5_400_000_000_000, 86_400_000_000_000, -1_000_000_000, -5_400_000_000_000, 3_723_004_005_006];
  const matches: Array<[string, string]> = [["*.db", "a.db"], ["*.db", ".db"], ["*.db", "a.db.bak"], ["?.db", "ab.db"], ["?.db", "a.db"], ["[abc].db", "b.db"], ["[^abc].db", "b.db"], ["[a-c]*", "cat"], ["[!a]*", "x"], ["\\*.db", "*.db"], ["\\*.db", "a.db"], ["[a-", "a"], ["[]a]", "]"], ["[", "a"], ["a\\", "a"], ["*[", "a"], ["[a-]", "a"], ["[\\]]", "]"], ["[z-a]", "b"], ["*", ""], ["db-*-[0-9]", "db-x-7"], ["é*", "éa"]];

  it("expands like os.Expand", () => {
    const env = { A: "aa", B: "bb", "1": "one", "-": "dash", "!": "bang", _: "u", A_B: "ab_", AB: "AB" };
    const go = run({ expand, env, durations: [], format: [], match: [] });
    expect(expand.map((s) => expandEnv(s, (k) => env[k as keyof typeof env] ?? ""))).toEqual(go.expand);
  });

  it("parses and formats durations like time.ParseDuration and Duration.String", () => {
    const go = run({ expand: [], env: {}, durations, format: formats, match: [] });
    expect(durations.map((d) => parseGoDuration(d))).toEqual(go.durations.map((g: { ok: boolean; ns: number }) => (g.ok ? g.ns / 1e6 : null)));
    expect(formats.map((ns) => formatGoDuration(ns / 1e6))).toEqual(go.format);
  });

  it("matches names like filepath.Match (malformed patterns as null)", () => {
    const go = run({ expand: [], env: {}, durations: [], format: [], match: matches });
    expect(matches.map(([p, n]) => matchPattern(p, n))).toEqual(go.match.map((g: { ok: boolean; matched: boolean }) => (g.ok ? g.matched : null)));
  });
});

describe.skipIf(skipWithoutGo("litestream-v0.5.16"))("config: database paths and rejections agree with litestream databases v0.5.16", () => {
  const cases = [
    "dbs:\n  - {path: ../x.db, replica: {path: /bk/x}}\n  - {path: $DATA/y.db, replica: {url: 's3://b/y'}}\n  - {path: 'sqlite3:///var/z.db', replica: {type: s3, bucket: b, path: z}}\n",
  ];
  it("resolves the same absolute database paths", async () => {
    const ls = mustGoTool("litestream-v0.5.16");
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-gocfg-"));
    for (const text of cases) {
      const file = join(dir, "c.yml");
      writeFileSync(file, text);
      const env = { ...process.env, DATA: "/var/data", HOME: HOME };
      const r = spawnSync(ls, ["databases", "-json", "-config", file], { cwd: dir, env, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const go = JSON.parse(r.stdout) as Array<{ path: string; replica: string }>;
      const ours = await parseConfig(text, { env: { DATA: "/var/data" }, cwd: dir, home: HOME });
      expect(ours.dbs.map((d) => d.path)).toEqual(go.map((g) => g.path));
      expect(ours.dbs.map((d) => parseReplicaURL(d.replicas[0]!.url).kind)).toEqual(go.map((g) => g.replica));
    }
  });

  it("rejects what Go rejects, with Go's wording", async () => {
    const ls = mustGoTool("litestream-v0.5.16");
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-gocfg-"));
    const rejected: Array<[string, string]> = [
      ["dbs:\n  - path: /a.db\n    replica:\n      path: /b\n      age: {recipients: [age1x]}\n", "age encryption is not currently supported, if you need encryption please revert back to Litestream v0.3.x"],
      ["dbs:\n  - replica: {path: /b}\n", "must specify either 'path' or 'dir'"],
      ["dbs:\n  - path: /a.db\n", "must specify replica for database"],
      ["dbs:\n  - path: /a.db\n    replica: {url: s3://b/a, path: x}\n", "cannot specify url & path for s3 replica"],
      ["dbs:\n  - path: /a.db\n    replica: {type: s3, path: a}\n", "bucket required for s3 replica"],
      ["snapshot: {interval: 0s}\n", "snapshot interval must be greater than 0 (got 0s)"],
      ["dbs:\n  - path: /a.db\n    replica: {path: /b, sync-interval: 0s}\n", "sync interval must be greater than 0 (got 0s)"],
    ];
    for (const [text, core] of rejected) {
      const file = join(dir, "c.yml");
      writeFileSync(file, text);
      const r = spawnSync(ls, ["databases", "-json", "-config", file], { cwd: dir, encoding: "utf8" });
      expect(r.status, text).toBe(1);
      expect(r.stderr, text).toContain(core);
      const err = await parseConfig(text, { cwd: dir }).then(() => null, (e: unknown) => e);
      expect((err as Error)?.message, text).toContain(core);
    }
  });
});

describe.skipIf(skipS3)("config: S3 replicas from config keys reach a real server (Ceph RGW)", () => {
  it("type + bucket + path + endpoint + region + credentials, and url + global credentials, open replicas that write and list", async () => {
    const prefix = `cliconf-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const cfg = await parseConfig(
      `access-key-id: ${s3env.accessKeyId}
secret-access-key: ${s3env.secretAccessKey}
dbs:
  - path: /data/a.db
    replica:
      type: s3
      bucket: ${s3env.bucket}
      path: ${prefix}/a
      endpoint: ${s3env.endpoint}
      region: ${s3env.region}
      access-key-id: ${s3env.accessKeyId}
      secret-access-key: ${s3env.secretAccessKey}
  - path: /data/b.db
    replica:
      url: s3://${s3env.bucket}/${prefix}/b?endpoint=${encodeURIComponent(s3env.endpoint)}&region=${s3env.region}
`,
      { cwd: CWD },
    );
    for (const [i, db] of cfg.dbs.entries()) {
      const target = db.replicas[0]!;
      // only the config's credentials: the process environment is not consulted
      const replica = openReplica(target.url, { env: target.env, s3Store: (o) => new S3Store(o) });
      await writeLtxFile(replica, 0, 1n, BigInt(i + 1), new Uint8Array([1, 2, 3, i]), Date.UTC(2026, 11, 1, 20, 0, 0));
      const files = await listLevel(replica, 0);
      expect(files.map((f) => [f.minTXID, f.maxTXID, f.size])).toEqual([[1n, BigInt(i + 1), 4]]);
      const keys: string[] = [];
      for await (const b of replica.store.list(`${prefix}/${i === 0 ? "a" : "b"}/`)) keys.push(b.key);
      expect(keys).toContain(`${prefix}/${i === 0 ? "a" : "b"}/0000/0000000000000001-000000000000000${i + 1}.ltx`);
      await replica.store.delete(keys);
    }
  });
});
