import { describe, expect, it } from "vitest";
import { ERROR_CODES, isLtxError, LtxError, wrapError } from "../lib/errors.ts";

// A second copy of the module, as when the npm and the JSR package (or two versions) are loaded side
// by side: a distinct LtxError class whose instances fail `instanceof` against ours.
async function otherCopy(): Promise<typeof import("../lib/errors.ts")> {
  const url = "../lib/errors.ts?another-copy";
  return (await import(/* @vite-ignore */ url)) as typeof import("../lib/errors.ts");
}

describe("isLtxError recognises errors by name and code", () => {
  it("an error from another copy of the package is an LtxError with its code", async () => {
    const other = await otherCopy();
    expect(other.LtxError).not.toBe(LtxError);
    const e = new other.LtxError("STORE_ERROR", "get: 503");
    expect(e instanceof LtxError).toBe(false);
    expect(isLtxError(e)).toBe(true);
    expect(isLtxError(e, "STORE_ERROR")).toBe(true);
    expect(isLtxError(e, "TIMEOUT")).toBe(false);
    // and the other copy recognises ours
    expect(other.isLtxError(new LtxError("TIMEOUT", "slow"), "TIMEOUT")).toBe(true);
  });

  it("wrapError keeps the code of another copy's error instead of re-coding it", async () => {
    const other = await otherCopy();
    const w = wrapError(new other.LtxError("PRECONDITION_FAILED", "lost"), "put", "STORE_ERROR");
    expect(w).toBeInstanceOf(LtxError);
    expect(w.code).toBe("PRECONDITION_FAILED");
    expect(w.message).toBe("put: lost");
  });

  it("a plain object with the name and a code, as after structured cloning, is recognised", () => {
    expect(isLtxError({ name: "LtxError", code: "ABORTED", message: "aborted" }, "ABORTED")).toBe(true);
  });

  it("other errors are not LtxErrors", () => {
    for (const code of ERROR_CODES) expect(isLtxError(Object.assign(new Error("x"), { code }))).toBe(false);
    expect(isLtxError(Object.assign(new TypeError("x"), { name: "LtxError" }))).toBe(false); // no code
    expect(isLtxError({ name: "LtxError", code: 5, message: "x" })).toBe(false);
    expect(isLtxError(null)).toBe(false);
    expect(isLtxError("LtxError")).toBe(false);
    expect(isLtxError(undefined)).toBe(false);
  });
});
