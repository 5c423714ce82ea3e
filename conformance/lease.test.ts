/**
 * Single writer, proven with real processes: five writers (conformance/lease/child.mjs, Node
 * against dist/, each with its own SQLite database) start at once on one replica with a 6 s lease
 * TTL, on the file store and on Ceph RGW.
 *
 * 1. Exactly one writes: one "acquired", every L0 file on the replica was uploaded by it, the
 *    others wait naming it, lock.json names it (generation 1).
 * 2. SIGKILL of the holder: another writer acquires generation 2, never before the dead holder's
 *    last expires_at (the test polls lock.json throughout), and continues the TXIDs: the replica's
 *    L0 TXIDs are 1..max without a gap, and no TXID was uploaded by two writers.
 * 3. SIGSTOP of the new holder past the TTL, then SIGCONT: a third writer took generation 3; the
 *    woken one finds its lease lost, uploads nothing the third one also uploads, says who holds the
 *    lease, and keeps its local L0 files.
 *
 * Takeover times (SIGKILL to the new "acquired") are printed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { FsStore } from "../lib/adapters/fs-store.ts";
import { decodeLease } from "../lib/replica/lease.ts";
import { fileLayout, s3Layout } from "../lib/replica/layout.ts";
import { listLevel } from "../lib/replica/list.ts";
import type { Replica } from "../lib/replica/replica.ts";
import { S3Store } from "../lib/store/s3.ts";
import { haveS3, requireS3, s3env } from "../test/store/s3-env.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CHILD = join(ROOT, "conformance", "lease", "child.mjs");
const g = globalThis as { Bun?: unknown; Deno?: unknown };
const NODE = g.Bun || g.Deno ? "node" : process.execPath;
// 6 s: renewals every TTL/3 keep a holder safe through multi-second stalls of a loaded CI machine
const TTL = 6000;
const N = 5;

interface Line {
  words: string[];
  at: number;
}

class Writer {
  readonly lines: Line[] = [];
  readonly proc: ChildProcess;
  #buf = "";
  exited = false;
  constructor(
    readonly name: string,
    readonly db: string,
    url: string,
  ) {
    this.proc = spawn(NODE, [CHILD, db, url, String(TTL)], { stdio: ["ignore", "pipe", "pipe"], env: process.env });
    this.proc.stdout!.setEncoding("utf8");
    this.proc.stdout!.on("data", (d: string) => {
      this.#buf += d;
      let i;
      while ((i = this.#buf.indexOf("\n")) >= 0) {
        this.lines.push({ words: this.#buf.slice(0, i).split(" "), at: Date.now() });
        this.#buf = this.#buf.slice(i + 1);
      }
    });
    this.proc.stderr!.on("data", (d) => process.stderr.write(`[${name}] ${d}`));
    this.proc.on("exit", () => (this.exited = true));
  }
  get owner(): string {
    return `${hostname()}:${this.proc.pid}`;
  }
  of(kind: string): Line[] {
    return this.lines.filter((l) => l.words[0] === kind);
  }
  lease(state: string): Line[] {
    return this.lines.filter((l) => l.words[0] === "LEASE" && l.words[1] === state);
  }
  /** TXIDs this writer reported as uploaded, from line index `from` on. */
  uploaded(from = 0): bigint[] {
    const out: bigint[] = [];
    for (const l of this.lines.slice(from)) if (l.words[0] === "UP") for (let t = BigInt("0x" + l.words[1]); t <= BigInt("0x" + l.words[2]); t++) out.push(t);
    return out;
  }
  acks(): number {
    return this.of("ACK").length;
  }
  kill(sig: NodeJS.Signals): void {
    if (!this.exited) this.proc.kill(sig);
  }
}

async function waitFor(what: string, pred: () => boolean, timeout: number): Promise<void> {
  const end = Date.now() + timeout;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const backends: { name: string; skip: boolean; replica: () => { url: string; replica: Replica } }[] = [
  {
    name: "file store",
    skip: false,
    replica: () => {
      const dir = mkdtempSync(join(tmpdir(), "ltxkit-lease-replica-"));
      return { url: dir, replica: { url: dir, kind: "file", store: new FsStore(dir), layout: fileLayout, timestampFromMetadata: false } };
    },
  },
  {
    name: "Ceph RGW",
    skip: !haveS3 && !requireS3,
    replica: () => {
      const prefix = `lease-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      const store = new S3Store({ bucket: s3env.bucket, endpoint: s3env.endpoint, region: s3env.region, accessKeyId: s3env.accessKeyId, secretAccessKey: s3env.secretAccessKey });
      return { url: `s3://${s3env.bucket}/${prefix}?endpoint=${s3env.endpoint}&region=${s3env.region}&forcePathStyle=true`, replica: { url: prefix, kind: "s3", store, layout: s3Layout(prefix), timestampFromMetadata: true } };
    },
  },
];

const all: Writer[] = [];
afterAll(() => {
  for (const w of all) {
    w.kill("SIGCONT");
    w.kill("SIGKILL");
  }
});

for (const b of backends) {
  describe.skipIf(b.skip)(`single writer on the ${b.name}: ${N} writer processes, lease TTL ${TTL / 1000} s`, () => {
    let writers: Writer[] = [];
    let replica: Replica;
    let lockKey: string;
    /** Every lock.json body seen while polling, with the time it was first seen. */
    const locks = new Map<string, { generation: number; owner?: string; expiresAtMs: number }>();
    let polling = true;
    let poller: Promise<void>;
    let first: Writer, second: Writer, third: Writer;
    let killedAt = 0, stoppedAt = 0;

    const l0 = async () => (await listLevel(replica, 0)).map((f) => f.maxTXID);
    const contiguous = (ts: bigint[]) => ts.every((t, i) => t === BigInt(i + 1));
    /** No TXID reported uploaded by two writers. */
    const overlaps = () => {
      const seen = new Map<bigint, string>();
      const dup: string[] = [];
      for (const w of writers) for (const t of new Set(w.uploaded())) (seen.has(t) ? dup.push(`${t} by ${seen.get(t)} and ${w.name}`) : seen.set(t, w.name));
      return dup;
    };
    const diagnostics = () =>
      writers.map((w) => `${w.name} (${w.owner}): ` + w.lines.filter((l) => l.words[0] === "LEASE" || l.words[0] === "ERR").map((l) => l.words.join(" ")).slice(0, 12).join(" | ")).join("\n");
    const lastExpiry = (generation: number) => Math.max(...[...locks.values()].filter((l) => l.generation === generation).map((l) => l.expiresAtMs));

    it("exactly one of five writers started at once writes; the others wait, naming it", async () => {
      if (requireS3 && b.name !== "file store" && !haveS3) throw new Error("LTXKIT_REQUIRE_S3=1 but no S3 server configured");
      const r = b.replica();
      replica = r.replica;
      lockKey = replica.kind === "s3" ? `${replica.layout.root}lock.json` : "lock.json";
      poller = (async () => {
        while (polling) {
          const bytes = await replica.store.get(lockKey).catch(() => null);
          if (bytes) {
            const text = new TextDecoder().decode(bytes);
            if (!locks.has(text)) {
              const l = decodeLease(bytes);
              locks.set(text, { generation: l.generation, ...(l.owner ? { owner: l.owner } : {}), expiresAtMs: Number(l.expiresAtNs / 1_000_000n) });
            }
          }
          await new Promise((res) => setTimeout(res, 50));
        }
      })();
      const dbDir = mkdtempSync(join(tmpdir(), "ltxkit-lease-dbs-"));
      writers = Array.from({ length: N }, (_, i) => new Writer(`w${i}`, join(dbDir, `w${i}.db`), r.url));
      all.push(...writers);
      await waitFor("a writer with 15 acknowledged syncs", () => writers.some((w) => w.acks() >= 15), 60_000);
      await new Promise((res) => setTimeout(res, 1000));
      const holders = writers.filter((w) => w.lease("acquired").length > 0);
      expect(holders.map((w) => w.name), diagnostics()).toHaveLength(1);
      first = holders[0]!;
      expect(writers.filter((w) => w.of("UP").length > 0)).toEqual([first]);
      for (const w of writers) if (w !== first) expect(w.lease("waiting")[0]?.words[2], `${w.name} waits for ${first.owner}`).toBe(first.owner);
      const lock = decodeLease((await replica.store.get(lockKey))!);
      expect(lock).toMatchObject({ generation: 1, owner: first.owner });
      const ts = await l0();
      expect(contiguous(ts), ts.join(",")).toBe(true);
      const mine = new Set(first.uploaded());
      expect(ts.filter((t) => !mine.has(t))).toEqual([]);
    }, 90_000);

    it("SIGKILL of the holder: another writer takes generation 2 only after the lease expired, and continues the TXIDs with no gap and no TXID uploaded twice", async () => {
      expect(first, "the first test ran").toBeDefined();
      first.kill("SIGKILL");
      killedAt = Date.now();
      await waitFor("a second writer to acquire the lease", () => writers.some((w) => w !== first && w.lease("acquired").length > 0), 6 * TTL + 10_000);
      second = writers.find((w) => w !== first && w.lease("acquired").length > 0)!;
      const acquiredAt = Number(second.lease("acquired")[0]!.words[4]);
      await waitFor("10 acknowledged syncs of the second writer", () => second.acks() >= 10, 60_000);
      console.log(`[${b.name}] takeover after SIGKILL: ${acquiredAt - killedAt} ms (TTL ${TTL} ms)`);
      // Nobody acquired before the dead holder's last expires_at.
      expect(acquiredAt).toBeGreaterThan(lastExpiry(1));
      expect(decodeLease((await replica.store.get(lockKey))!)).toMatchObject({ generation: 2, owner: second.owner });
      expect(writers.filter((w) => w.lease("acquired").length > 0).map((w) => w.name).sort()).toEqual([first.name, second.name].sort());
      const ts = await l0();
      expect(contiguous(ts), ts.join(",")).toBe(true);
      expect(overlaps()).toEqual([]);
      const up2 = second.uploaded();
      const k = up2[0]! - 1n;
      expect(first.uploaded().every((t) => t <= k)).toBe(true);
      expect(up2).toEqual(up2.map((_, i) => k + 1n + BigInt(i)));
      // Every L0 file is one of the two writers' (at most the dead holder's last, killed before it reported it).
      const reported = new Set([...first.uploaded(), ...up2]);
      expect(ts.filter((t) => !reported.has(t) && t !== k)).toEqual([]);
    }, 90_000);

    it("SIGSTOP of the holder past the TTL, then SIGCONT: a third writer holds generation 3 and the woken writer writes nothing it writes, finds its lease lost naming it, and keeps its local L0 files", async () => {
      expect(second, "the second test ran").toBeDefined();
      second.kill("SIGSTOP");
      stoppedAt = Date.now();
      await waitFor("a third writer to acquire the lease", () => writers.some((w) => w !== first && w !== second && w.lease("acquired").length > 0), 6 * TTL + 10_000);
      third = writers.find((w) => w !== first && w !== second && w.lease("acquired").length > 0)!;
      const acquiredAt = Number(third.lease("acquired")[0]!.words[4]);
      await waitFor("5 acknowledged syncs of the third writer", () => third.acks() >= 5, 60_000);
      console.log(`[${b.name}] takeover after SIGSTOP: ${acquiredAt - stoppedAt} ms (TTL ${TTL} ms)`);
      expect(acquiredAt).toBeGreaterThan(lastExpiry(2));
      const mark = second.lines.length;
      const thirdAcks = third.acks();
      second.kill("SIGCONT");
      await waitFor("the woken writer to report its lease lost", () => second.lease("lost").length > 0, 20_000);
      await new Promise((res) => setTimeout(res, 2000)); // let it try to write for a while
      const lost = second.lease("lost")[0]!;
      expect(lost.words[2]).toBe(third.owner);
      expect(second.lines.slice(mark).some((l) => l.words[0] === "ERR" && l.words[1] === "LEASE_LOST" && l.words.join(" ").includes(third.owner))).toBe(true);
      // What it reports after waking is at most an upload that landed before it was stopped.
      const up3 = third.uploaded();
      expect(second.uploaded(mark).filter((t) => t >= up3[0]!)).toEqual([]);
      expect(third.acks()).toBeGreaterThan(thirdAcks); // the third writer is undisturbed
      expect(decodeLease((await replica.store.get(lockKey))!)).toMatchObject({ generation: 3, owner: third.owner });
      const ts = await l0();
      expect(contiguous(ts), ts.join(",")).toBe(true);
      expect(overlaps()).toEqual([]);
      // The woken writer kept capturing locally: its L0 files past what it uploaded are still there.
      const localL0 = readdirSync(join(dirname(second.db), `.${second.db.split("/").pop()}-litestream`, "ltx", "0")).filter((f) => f.endsWith(".ltx"));
      const maxUp = second.uploaded().reduce((m, t) => (t > m ? t : m), 0n);
      expect(localL0.some((f) => BigInt("0x" + f.slice(0, 16)) > maxUp), localL0.join(",")).toBe(true);
      polling = false;
      await poller;
      for (const w of writers) {
        w.kill("SIGCONT");
        w.kill("SIGKILL");
      }
      // Every lock seen was written with a generation one above the previous owner's.
      const gens = [...new Set([...locks.values()].map((l) => l.generation))].sort((x, y) => x - y);
      expect(gens).toEqual([1, 2, 3]);
    }, 90_000);
  });
}

describe("ltxkit replicate (the CLI) takes the lease by default", () => {
  it("a second `ltxkit replicate` on the same file replica waits naming the first; SIGTERM of the first releases the lease (deletes lock.json) and the second acquires it as generation 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-lease-cli-"));
    const replicaDir = join(dir, "replica");
    const { openSqlite } = await import("../lib/adapters/sqlite-open.ts");
    const open = await openSqlite();
    for (const n of ["a", "b"]) {
      const c = open(join(dir, `${n}.db`));
      c.exec("PRAGMA journal_mode = wal; CREATE TABLE t (x); INSERT INTO t VALUES (1)");
      c.close();
    }
    const logs: Record<string, string> = { a: "", b: "" };
    const start = (n: string) => {
      const p = spawn(NODE, [join(ROOT, "dist", "cli", "main.js"), "replicate", "-lease-ttl", `${TTL / 1000}s`, join(dir, `${n}.db`), replicaDir], { stdio: ["ignore", "ignore", "pipe"] });
      p.stderr!.setEncoding("utf8");
      p.stderr!.on("data", (d: string) => (logs[n] += d));
      return p;
    };
    const a = start("a");
    await waitFor("the first CLI to acquire the lease", () => logs.a!.includes('msg="lease acquired"'), 30_000);
    const b = start("b");
    try {
      await waitFor("the second CLI to wait", () => logs.b!.includes('msg="waiting for lease"'), 30_000);
      expect(logs.a).toMatch(new RegExp(`level=INFO msg="lease acquired" path=\\S+a\\.db replica=\\S+ owner=${hostname()}:${a.pid} generation=1 expires_at=\\S+Z`));
      expect(logs.b).toMatch(new RegExp(`level=INFO msg="waiting for lease" path=\\S+b\\.db replica=\\S+ holder=${hostname()}:${a.pid} expires_at=\\S+Z`));
      expect(logs.b).not.toContain('msg="lease acquired"');
      a.kill("SIGTERM");
      const termAt = Date.now();
      await waitFor("the first CLI to release", () => logs.a!.includes('msg="lease released"'), 30_000);
      await waitFor("the second CLI to acquire", () => logs.b!.includes('msg="lease acquired"'), 30_000);
      console.log(`[cli] takeover after SIGTERM (released lease): ${Date.now() - termAt} ms`);
      expect(logs.b).toMatch(new RegExp(`msg="lease acquired" path=\\S+b\\.db replica=\\S+ owner=${hostname()}:${b.pid} generation=1 `));
      const lock = decodeLease((await new FsStore(replicaDir).get("lock.json"))!);
      expect(lock).toMatchObject({ generation: 1, owner: `${hostname()}:${b.pid}` });
    } finally {
      a.kill("SIGKILL");
      b.kill("SIGKILL");
    }
  }, 90_000);
});
