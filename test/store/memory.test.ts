import { describe, it, expect } from "vitest";
import { MemoryStore } from "../../lib/store/memory.ts";
import { storeSuite } from "./suite.ts";

storeSuite("memory", () => new MemoryStore(), { metadata: true, bigListing: true, chunked: true });


describe("MemoryStore: shared reads and transferred puts", () => {
  it("a put copies its body unless it is transferred; getShared returns the stored array itself, get a copy", async () => {
    const s = new MemoryStore();
    const a = new Uint8Array([1, 2, 3]);
    await s.put("a", a);
    a[0] = 9; // the caller's array: the store kept a copy
    expect(await s.get("a")).toEqual(new Uint8Array([1, 2, 3]));
    const b = new Uint8Array([4, 5, 6]);
    await s.put("b", b, { transfer: true });
    expect(s.getShared("b")).toBe(b);
    expect(s.getShared("missing")).toBeNull();
    const got = await s.get("b");
    expect(got).toEqual(new Uint8Array([4, 5, 6]));
    expect(got).not.toBe(b);
    // A transferred stream body is collected as usual.
    await s.put("c", new ReadableStream({ start: (c) => (c.enqueue(new Uint8Array([7])), c.close()) }), { transfer: true });
    expect(await s.get("c")).toEqual(new Uint8Array([7]));
  });
});
