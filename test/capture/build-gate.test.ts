import { describe, expect, it } from "vitest";
import { ByteGate } from "../../lib/capture/build-gate.ts";

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

/** A task that records its start and ends when told. */
function tasks(g: ByteGate) {
  const started: string[] = [];
  const finish = new Map<string, () => void>();
  const run = (name: string, bytes: number) => g.run(bytes, () => new Promise<string>((r) => (started.push(name), finish.set(name, () => r(name)))));
  return { started, run, end: (name: string) => finish.get(name)!() };
}

describe("ByteGate", () => {
  it("runs tasks while their bytes fit, and the waiting ones in arrival order: a large one is not passed over by small ones after it", async () => {
    const g = new ByteGate(10);
    const t = tasks(g);
    const all = [t.run("a", 4), t.run("b", 4), t.run("big", 10), t.run("c", 1)];
    await tick();
    expect([t.started, g.used, g.waiting]).toEqual([["a", "b"], 8, 2]);
    t.end("a");
    await tick();
    expect(t.started, "c would fit, but waits behind big").toEqual(["a", "b"]);
    t.end("b");
    await tick();
    expect([t.started, g.used]).toEqual([["a", "b", "big"], 10]);
    t.end("big");
    await tick();
    expect([t.started, g.used]).toEqual([["a", "b", "big", "c"], 1]);
    t.end("c");
    expect(await Promise.all(all)).toEqual(["a", "b", "big", "c"]);
    expect([g.used, g.waiting]).toEqual([0, 0]);
  });

  it("wakes as many waiters as fit at once, counts a task above the limit as the whole limit, and never holds more than the limit", async () => {
    const g = new ByteGate(10);
    const t = tasks(g);
    const all = [t.run("huge", 1e9), t.run("x", 3), t.run("y", 3), t.run("z", 5)];
    await tick();
    expect([t.started, g.used]).toEqual([["huge"], 10]);
    t.end("huge");
    await tick();
    expect([t.started, g.used]).toEqual([["huge", "x", "y"], 6]);
    t.end("x");
    await tick();
    expect([t.started, g.used]).toEqual([["huge", "x", "y", "z"], 8]);
    t.end("y");
    t.end("z");
    await Promise.all(all);
    expect(g.used).toBe(0);
  });

  it("a task that throws passes its error on and frees its bytes", async () => {
    const g = new ByteGate(1);
    const boom = new Error("boom");
    const a = g.run(1, async () => {
      throw boom;
    });
    const b = g.run(1, async () => 7);
    await expect(a).rejects.toBe(boom);
    expect(await b).toBe(7);
    expect([g.used, g.waiting]).toEqual([0, 0]);
  });
});
