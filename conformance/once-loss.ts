/**
 * A scenario for one-shot WAL replicators (`litestream replicate -once` and the like): an
 * application writes a SQLite database in WAL mode with SQLite's own auto-checkpoint left on
 * (`wal_autocheckpoint` 1000, the default), so the WAL is checkpointed and restarted between two
 * replication runs. After every step the replicator runs once; afterwards every point it produced
 * is restored and compared with what the application had at that step (a hash of every row and
 * `PRAGMA integrity_check`).
 *
 * The harness knows nothing of the replicator: it takes a `replicateOnce(dbPath, replicaDir)`
 * callback and reads the point each run produced from the file replica's listing (the highest
 * MaxTXID of any level). Restores go through `restorers` (ltxkit's restore by default).
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileSink } from "../lib/adapters/fs-sink.ts";
import { openReplicaFromEnv } from "../lib/adapters/replica-node.ts";
import { listAll } from "../lib/replica/list.ts";
import { restore } from "../lib/replica/restore.ts";

/** The slice of better-sqlite3's API the scenario uses (the package ships no types). */
interface Statement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): Record<string, unknown> | undefined;
  iterate(...params: unknown[]): IterableIterator<Record<string, unknown>>;
}
interface Connection {
  pragma(source: string, opts?: { simple?: boolean }): unknown;
  exec(sql: string): void;
  prepare(sql: string): Statement;
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): void;
}
type ConnectionCtor = new (path: string, opts?: { readonly?: boolean; fileMustExist?: boolean }) => Connection;

let ctor: ConnectionCtor | undefined;
function sqlite(): ConnectionCtor {
  return (ctor ??= createRequire(import.meta.url)("better-sqlite3") as ConnectionCtor);
}

/**
 * Why better-sqlite3 (the application's driver) cannot be loaded in this runtime, or null when it
 * can (its native addon is built for one Node ABI).
 */
export function betterSqlite3Unavailable(): string | null {
  try {
    new (sqlite())(":memory:").close();
    return null;
  } catch (e) {
    return (e as Error).message.replace(/\s*\n\s*/g, " ").slice(0, 300);
  }
}

/** Runs the replicator once: sync whatever is new in `dbPath` to the file replica at `replicaDir`, then return. */
export type ReplicateOnce = (dbPath: string, replicaDir: string) => Promise<void>;
/** Restores the file replica at `replicaDir` to exactly `txid` into the new file `outPath` (throws if it cannot). */
export type RestoreAt = (replicaDir: string, txid: bigint, outPath: string) => Promise<void>;

export interface OnceScenarioOptions {
  /** Application steps; the replicator runs after each (default 8). */
  steps?: number;
  /** Rows inserted per step (default 3000). */
  insertsPerStep?: number;
  /** Rows per application transaction (default 100). */
  rowsPerTransaction?: number;
  /** Bytes of random payload per row (default 100). */
  rowSize?: number;
  /** Database page size (default 1024). */
  pageSize?: number;
  /** The application's `wal_autocheckpoint` (default 1000, SQLite's default). */
  walAutocheckpoint?: number;
  /** Restorers to check every point with (default: ltxkit's restore). */
  restorers?: Record<string, RestoreAt>;
  /** Seed of the payload generator (default 1). */
  seed?: number;
  /** Keep the working directory (default: removed unless a point is bad). */
  keep?: boolean;
}

/** How one restorer did at one point. */
export interface PointVerdict {
  /** Restored, `integrity_check` is "ok" and every row equals the application's. */
  ok: boolean;
  /** What was wrong (restore error, integrity, row count or content). */
  problem?: string;
  integrity?: string;
  rows?: number;
  hash?: string;
}

export interface StepVerdict {
  /** 1-based application step. */
  step: number;
  /** The point the replicator's run after this step produced (null if the replica is empty). */
  txid: bigint | null;
  /** Rows and content hash the application had at this step. */
  rows: number;
  hash: string;
  /** The WAL salts changed since the previous run: the WAL was checkpointed and restarted in between. */
  walRestarted: boolean;
  /** Frames in the WAL file (by size) when the replicator ran. */
  walFrames: number;
  /** Per restorer. */
  restores: Record<string, PointVerdict>;
}

export interface OnceScenarioResult {
  steps: StepVerdict[];
  /** Steps at which some restorer's point is bad. */
  bad: StepVerdict[];
  workDir: string;
  replicaDir: string;
}

/** ltxkit's restore of a file replica to an exact TXID. */
export const ltxkitRestoreAt: RestoreAt = async (replicaDir, txid, outPath) => {
  await restore(openReplicaFromEnv(replicaDir), { txid, sink: new FileSink(outPath) });
};

/** SHA-256 over every application row in id order, and the row count. */
function contentHash(db: Connection): { rows: number; hash: string } {
  const h = createHash("sha256");
  let rows = 0;
  for (const r of db.prepare("SELECT id, step, payload FROM items ORDER BY id").iterate()) {
    h.update(`${r.id as number}:${r.step as number}:`);
    h.update(r.payload as Uint8Array);
    rows++;
  }
  return { rows, hash: h.digest("hex") };
}

/** The WAL header's salts (bytes 16..23) and its frame count, or null without a WAL. */
function walState(dbPath: string, pageSize: number): { salts: string; frames: number } | null {
  const wal = dbPath + "-wal";
  if (!existsSync(wal)) return null;
  const fd = openSync(wal, "r");
  try {
    const hdr = new Uint8Array(32);
    if (readSync(fd, hdr, 0, 32, 0) < 32) return null;
    const size = fstatSync(fd).size;
    return { salts: Buffer.from(hdr.subarray(16, 24)).toString("hex"), frames: Math.max(0, Math.floor((size - 32) / (pageSize + 24))) };
  } finally {
    closeSync(fd);
  }
}

/** A deterministic payload generator (xorshift32). */
function payloads(seed: number, size: number): () => Uint8Array {
  let x = seed >>> 0 || 1;
  return () => {
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 0xff;
    }
    return b;
  };
}

async function maxTXID(replicaDir: string): Promise<bigint | null> {
  if (!existsSync(replicaDir)) return null;
  const files = await listAll(openReplicaFromEnv(replicaDir));
  return files.reduce<bigint | null>((m, f) => (m === null || f.maxTXID > m ? f.maxTXID : m), null);
}

function checkRestored(path: string, want: { rows: number; hash: string }): PointVerdict {
  let db: Connection;
  try {
    db = new (sqlite())(path, { fileMustExist: true });
  } catch (e) {
    return { ok: false, problem: `cannot open the restored database: ${(e as Error).message}` };
  }
  try {
    let integrity: string;
    try {
      integrity = [...db.prepare("PRAGMA integrity_check").iterate()].map((r) => String(r.integrity_check)).join("; ");
    } catch (e) {
      return { ok: false, problem: `integrity_check failed: ${(e as Error).message}` };
    }
    let got: { rows: number; hash: string };
    try {
      got = contentHash(db);
    } catch (e) {
      return { ok: false, integrity, problem: `reading rows failed: ${(e as Error).message}` };
    }
    const v: PointVerdict = { ok: true, integrity, rows: got.rows, hash: got.hash };
    if (integrity !== "ok") return { ...v, ok: false, problem: `integrity_check: ${integrity.slice(0, 200)}` };
    if (got.rows !== want.rows) return { ...v, ok: false, problem: `${got.rows} rows, the application had ${want.rows}` };
    if (got.hash !== want.hash) return { ...v, ok: false, problem: "same row count, different content" };
    return v;
  } finally {
    db.close();
  }
}

/**
 * Runs the scenario: create the database (page size, WAL mode, default auto-checkpoint), then for
 * each step insert rows in transactions, note the content, and run the replicator once; finally
 * restore every step's point with every restorer and judge it.
 */
export async function runOnceScenario(replicateOnce: ReplicateOnce, o: OnceScenarioOptions = {}): Promise<OnceScenarioResult> {
  const steps = o.steps ?? 8, inserts = o.insertsPerStep ?? 3000, perTx = o.rowsPerTransaction ?? 100;
  const pageSize = o.pageSize ?? 1024, rowSize = o.rowSize ?? 100;
  const restorers = o.restorers ?? { ltxkit: ltxkitRestoreAt };
  const workDir = mkdtempSync(join(tmpdir(), "ltxkit-once-"));
  const dbPath = join(workDir, "app.db"), replicaDir = join(workDir, "replica");
  const app = new (sqlite())(dbPath);
  app.pragma(`page_size = ${pageSize}`);
  app.pragma("journal_mode = WAL");
  if (o.walAutocheckpoint !== undefined) app.pragma(`wal_autocheckpoint = ${o.walAutocheckpoint}`);
  app.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, step INTEGER NOT NULL, payload BLOB NOT NULL)");
  app.exec("CREATE INDEX items_step ON items(step, id)");
  const insert = app.prepare("INSERT INTO items (step, payload) VALUES (?, ?)");
  const next = payloads(o.seed ?? 1, rowSize);
  const batch = app.transaction((step: number, n: number) => {
    for (let i = 0; i < n; i++) insert.run(step, next());
  });
  const verdicts: StepVerdict[] = [];
  let lastSalts: string | null = null;
  try {
    for (let step = 1; step <= steps; step++) {
      for (let done = 0; done < inserts; done += perTx) batch(step, Math.min(perTx, inserts - done));
      const want = contentHash(app);
      const wal = walState(dbPath, pageSize);
      const walRestarted = lastSalts !== null && wal !== null && wal.salts !== lastSalts;
      await replicateOnce(dbPath, replicaDir);
      lastSalts = walState(dbPath, pageSize)?.salts ?? null;
      verdicts.push({ step, txid: await maxTXID(replicaDir), ...want, walRestarted, walFrames: wal?.frames ?? 0, restores: {} });
    }
  } finally {
    app.close();
  }
  for (const v of verdicts) {
    for (const [name, restoreAt] of Object.entries(restorers)) {
      if (v.txid === null) {
        v.restores[name] = { ok: false, problem: "the replica is empty" };
        continue;
      }
      const out = join(workDir, `restored-${v.step}-${name}.db`);
      try {
        await restoreAt(replicaDir, v.txid, out);
      } catch (e) {
        v.restores[name] = { ok: false, problem: `restore failed: ${(e as Error).message.split("\n")[0]}` };
        continue;
      }
      v.restores[name] = checkRestored(out, v);
      for (const ext of ["", "-wal", "-shm"]) rmSync(out + ext, { force: true });
    }
  }
  const bad = verdicts.filter((v) => Object.values(v.restores).some((r) => !r.ok));
  if (!o.keep && bad.length === 0) rmSync(workDir, { recursive: true, force: true });
  return { steps: verdicts, bad, workDir, replicaDir };
}
