/**
 * Runs real Go `litestream replicate` (v0.5.16) on SQLite databases under a write workload, with
 * short compaction intervals so L0, L1, L2, L3 and L9 files all exist, then stops it cleanly.
 */
import { spawn, execFile, execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const HERE = dirname(fileURLToPath(import.meta.url));

export interface ReplicateTarget {
  db: string;
  /** Replica URL: file:///… or s3://bucket/prefix?endpoint=…&forcePathStyle=true. */
  url: string;
}

export interface ReplicateOptions {
  litestream: string;
  targets: ReplicateTarget[];
  workDir: string;
  steps?: number;
  pause?: number;
  /** Seconds to keep replicating after the workload (lets compactions and snapshots run). */
  settle?: number;
  env?: Record<string, string>;
}

export interface ReplicateResult {
  workload: { step: number; time_ms: number }[];
  log: string;
}

function config(o: ReplicateOptions): string {
  const dbs = o.targets
    .map((t) => `  - path: ${t.db}\n    monitor-interval: 100ms\n    checkpoint-interval: 2s\n    replica:\n      url: "${t.url}"\n      sync-interval: 200ms\n`)
    .join("");
  return `levels:\n  - interval: 1s\n  - interval: 3s\n  - interval: 6s\nsnapshot:\n  interval: 5s\n  retention: 1h\nl0-retention: 1h\nl0-retention-check-interval: 1s\ndbs:\n${dbs}`;
}

/**
 * The environment for Go tools: AWS_CA_BUNDLE (set on some machines) makes the AWS SDK inside
 * Litestream fail with "unable to add custom RootCAs HTTPClient", so it is dropped.
 */
export function goEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.AWS_CA_BUNDLE;
  return env;
}

export async function runLitestreamReplicate(o: ReplicateOptions): Promise<ReplicateResult> {
  mkdirSync(o.workDir, { recursive: true });
  const cfg = join(o.workDir, "litestream.yml");
  writeFileSync(cfg, config(o));
  // Create the databases in WAL mode before Litestream starts.
  execFileSync("python3", [join(HERE, "workload.py"), "--steps", "0", ...o.targets.map((t) => t.db)]);
  let log = "";
  const ls = spawn(o.litestream, ["replicate", "-config", cfg], { env: goEnv(o.env), stdio: ["ignore", "pipe", "pipe"] });
  ls.stdout.on("data", (d) => (log += d));
  ls.stderr.on("data", (d) => (log += d));
  const exited = new Promise<number | null>((r) => ls.on("exit", (code) => r(code)));
  let early = false;
  void exited.then(() => (early = true));
  await new Promise((r) => setTimeout(r, 1500));
  if (early) throw new Error(`litestream exited at start-up:\n${log}`);
  const out = execFileSync("python3", [join(HERE, "workload.py"), "--steps", String(o.steps ?? 24), "--pause", String(o.pause ?? 0.35), ...o.targets.map((t) => t.db)], { encoding: "utf8" });
  await new Promise((r) => setTimeout(r, (o.settle ?? 8) * 1000));
  if (early) throw new Error(`litestream exited during the workload:\n${log}`);
  ls.kill("SIGTERM");
  const code = await Promise.race([exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 30_000))]);
  if (code === "timeout") {
    ls.kill("SIGKILL");
    throw new Error(`litestream did not stop within 30 s\n${log}`);
  }
  return { workload: out.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)), log };
}

const execFileP = promisify(execFile);

/** `litestream replicate -once DB file://DIR` (one sync, then exit), for conformance/once-loss.ts. */
export function goReplicateOnce(litestream: string): (dbPath: string, replicaDir: string) => Promise<void> {
  return async (dbPath, replicaDir) => {
    await execFileP(litestream, ["replicate", "-once", dbPath, `file://${replicaDir}`], { env: goEnv() });
  };
}

/** `litestream restore -o OUT -txid TXID file://DIR`, for conformance/once-loss.ts. */
export function goRestoreAt(litestream: string): (replicaDir: string, txid: bigint, outPath: string) => Promise<void> {
  return async (replicaDir, txid, outPath) => {
    await execFileP(litestream, ["restore", "-o", outPath, "-txid", txid.toString(16).padStart(16, "0"), `file://${replicaDir}`], { env: goEnv() });
  };
}
