// The lock.json lease on an R2 bucket binding inside workerd: the conditional-write probe, five
// writers racing for a free lock and for an expired one (exactly one wins each race), renewal and
// the loser's LEASE_LOST.
import { Leaser, decodeLease, probeConditionalWrites } from "../../lib/replica/lease.ts";
import type { Clock } from "../../lib/replica/clock.ts";
import { R2Store, type R2BucketLike } from "../../lib/store/r2.ts";

const code = (e: unknown) => (e as { code?: string }).code ?? String(e);

export default {
  async fetch(_req: Request, env: { BUCKET: R2BucketLike }): Promise<Response> {
    const store = new R2Store(env.BUCKET);
    const dir = `lease-${Date.now()}/`;
    const key = dir + "lock.json";
    const probe = await probeConditionalWrites(store, dir).then(() => "ok", code);
    let now = Date.now();
    const clock: Clock = { now: () => now, sleep: () => Promise.resolve() };
    const leasers = Array.from({ length: 5 }, (_, i) => new Leaser(store, { key, owner: `w${i}:1`, ttl: 30_000, clock }));
    const race = async () => {
      const r = await Promise.allSettled(leasers.map((l) => l.acquire()));
      return {
        winners: r.flatMap((x, i) => (x.status === "fulfilled" ? [i] : [])),
        losers: r.flatMap((x) => (x.status === "rejected" ? [code(x.reason)] : [])),
        lease: r.find((x) => x.status === "fulfilled") as PromiseFulfilledResult<Awaited<ReturnType<Leaser["acquire"]>>> | undefined,
      };
    };
    const free = await race();
    const first = free.winners[0]!;
    const renewed = await leasers[first]!.renew(free.lease!.value);
    // nobody takes an unexpired lock
    const early = await race();
    // past the TTL the lock is free again: one of the five takes generation 2
    now += 31_000;
    const expired = await race();
    const second = expired.winners[0]!;
    const stale = await leasers[first]!.renew(renewed).then(() => "renewed", code);
    const lock = decodeLease((await store.get(key))!);
    return Response.json({
      probe,
      free: { winners: free.winners.length, losers: free.losers, generation: free.lease?.value.generation },
      renewedGeneration: renewed.generation,
      early: { winners: early.winners.length, losers: early.losers },
      expired: { winners: expired.winners.length, losers: expired.losers, generation: expired.lease?.value.generation },
      stale,
      lock: { generation: lock.generation, owner: lock.owner === `w${second}:1` },
    });
  },
};
