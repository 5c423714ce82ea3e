/**
 * Go's leaser and ltxkit's read each other's lock.json on Ceph RGW: Litestream v0.5.16's
 * s3.Leaser, driven by conformance/go/leaser (built by install-go-tools.sh), and lib/replica/lease.ts
 * take turns on one prefix. Each side must see the other's owner, expiry and generation and refuse
 * an unexpired lease; ltxkit takes Go's expired lock with the next generation.
 *
 * Found on the way: Go v0.5.16's leaser sends the ETag in If-Match as S3 returned it, quoted, and
 * RGW matches only the unquoted form, so on RGW Go can create a lock (If-None-Match) and release it,
 * but neither renew it nor take over an expired one (both end in a precondition failure).
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { Leaser, decodeLease, encodeLease, parseLeaseTime } from "../lib/replica/lease.ts";
import { S3Store } from "../lib/store/s3.ts";
import { haveS3, requireS3, s3env } from "../test/store/s3-env.ts";
import { goTool, skipWithoutGo } from "./go-tools.ts";

// Long enough that starting the Go program under load never outlasts a lease the test expects held.
const TTL = 8000;
const skip = skipWithoutGo("leaser-v0.5.16") || (!haveS3 && !requireS3);

interface GoResult {
  ok: boolean;
  owner_self: string;
  generation?: number;
  expires_at?: string;
  owner?: string;
  etag?: string;
  error?: string;
  exists?: boolean;
  not_held?: boolean;
}

describe.skipIf(skip)("lock.json between Litestream v0.5.16's S3 leaser and ltxkit's Leaser (Ceph RGW)", () => {
  const prefix = `lease-go-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const go = (sub: string, cmd: string, ...args: string[]): GoResult =>
    JSON.parse(execFileSync(goTool("leaser-v0.5.16")!, [cmd, "-bucket", s3env.bucket, "-path", `${prefix}/${sub}`, "-ttl", `${TTL}ms`, ...args], { env: { ...process.env, LTXKIT_S3_ENDPOINT: s3env.endpoint, AWS_REGION: s3env.region }, encoding: "utf8" }));
  const store = () => new S3Store({ bucket: s3env.bucket, endpoint: s3env.endpoint, region: s3env.region, accessKeyId: s3env.accessKeyId, secretAccessKey: s3env.secretAccessKey });
  const sleepPast = async (expiresAt: string) => {
    const ms = Number(parseLeaseTime(expiresAt) / 1_000_000n) - Date.now() + 50;
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  };

  it("Go acquires; ltxkit reads its lock byte for byte, refuses it while unexpired and takes generation 2 after (If-Match of Go's ETag); Go then sees ltxkit's owner and expiry; Go takes a released lock and ltxkit sees it", async () => {
    if (requireS3 && !haveS3) throw new Error("LTXKIT_REQUIRE_S3=1 but no S3 server configured");
    const s = store();
    const key = `${prefix}/a/lock.json`;
    const g1 = go("a", "acquire");
    expect(g1).toMatchObject({ ok: true, generation: 1 });
    const raw = (await s.get(key))!;
    const rec = decodeLease(raw);
    expect(rec).toEqual({ generation: 1, owner: g1.owner_self, expiresAtNs: parseLeaseTime(g1.expires_at!) });
    // ltxkit's encoder writes exactly the bytes Go wrote for the same fields.
    expect(new TextDecoder().decode(encodeLease(rec))).toBe(new TextDecoder().decode(raw));
    const mine = new Leaser(s, { key, ttl: TTL, owner: "ltxkit-host:4242" });
    await expect(mine.acquire()).rejects.toMatchObject({ code: "LEASE_HELD", details: { owner: g1.owner_self, generation: 1 } });

    await sleepPast(g1.expires_at!);
    const l2 = await mine.acquire();
    expect(l2).toMatchObject({ generation: 2, owner: "ltxkit-host:4242" });
    const g2 = go("a", "acquire");
    expect(g2).toMatchObject({ ok: false, exists: true, owner: "ltxkit-host:4242" });
    expect(parseLeaseTime(g2.expires_at!)).toBe(l2.expiresAtNs);
    const l2r = await mine.renew(l2);
    expect(l2r.generation).toBe(2);

    // Past ltxkit's expiry Go finds the lock expired and tries to take it with If-Match of the
    // quoted ETag, which RGW refuses: Go v0.5.16 reports the (expired) holder it read.
    await sleepPast(l2r.expiresAt);
    const g3 = go("a", "acquire");
    expect(g3).toMatchObject({ ok: false, exists: true, owner: "ltxkit-host:4242" });
    expect(parseLeaseTime(g3.expires_at!)).toBe(l2r.expiresAtNs);
    expect(Number(parseLeaseTime(g3.expires_at!) / 1_000_000n)).toBeLessThan(Date.now());

    // A released lock: Go creates it (If-None-Match), ltxkit sees Go's lock and waits; Go's release empties it.
    expect(await mine.release(l2r)).toBe(true);
    const g4 = go("a", "acquire");
    expect(g4).toMatchObject({ ok: true, generation: 1 });
    await expect(mine.acquire()).rejects.toMatchObject({ code: "LEASE_HELD", details: { owner: g4.owner_self } });
    expect(go("a", "release", "-generation", "1", "-etag", g4.etag!)).toMatchObject({ ok: true });
    expect(await mine.read()).toBeNull();
  }, 60_000);

  it("Go v0.5.16's renew on RGW fails with 'lease not held': it sends the quoted ETag in If-Match, which RGW does not match (ltxkit sends it unquoted)", async () => {
    const s = store();
    const key = `${prefix}/b/lock.json`;
    const g = go("b", "acquire");
    expect(g.ok).toBe(true);
    expect(g.etag).toMatch(/^".*"$/);
    expect(go("b", "renew", "-generation", String(g.generation), "-etag", g.etag!)).toMatchObject({ ok: false, not_held: true });
    // The same renewal with the unquoted ETag, from ltxkit's side, succeeds on the lock Go wrote.
    const mine = new Leaser(s, { key, ttl: TTL, owner: g.owner_self });
    const cur = (await mine.read())!;
    expect(cur.etag).toBe(g.etag!.slice(1, -1));
    const r = await mine.renew(cur);
    expect(r.generation).toBe(g.generation);
    expect(await mine.release(r)).toBe(true);
  }, 60_000);
});
