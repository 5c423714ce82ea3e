/**
 * sqlite-wasm in workerd (miniflare) with the precompiled trampolines: start-up, a UDF and a JS VFS
 * all install JS functions, which workerd allows only through the trampoline bundle.
 */
import { describe, expect, it } from "vitest";
import { bundleWorker, skipWithoutWorkerd, wasmModules, root } from "./workerd/harness.ts";
import { join } from "node:path";

describe.skipIf(skipWithoutWorkerd())("sqlite-wasm in workerd", () => {
  it("starts with the trampolines, runs a UDF over 500 rows and passes integrity_check", async () => {
    const { Miniflare } = await import("miniflare");
    const code = await bundleWorker(join(root, "conformance", "workerd", "smoke-worker.ts"));
    const mf = new Miniflare({ modules: [{ type: "ESModule", path: "worker.mjs", contents: code }, ...wasmModules()], compatibilityDate: "2026-07-01" });
    try {
      const r = await mf.dispatchFetch("http://worker/");
      const body = await r.text();
      expect(r.status, body).toBe(200);
      const j = JSON.parse(body);
      // sum of 2*a over 1..500
      expect(j.sum).toBe(250500);
      expect(j.ok).toBe("ok");
    } finally {
      await mf.dispose();
    }
  });

  it("does not start without them: workerd refuses to compile sqlite-wasm's trampolines from bytes", async () => {
    const { Miniflare } = await import("miniflare");
    const code = await bundleWorker(join(root, "conformance", "workerd", "smoke-worker.ts"));
    const mf = new Miniflare({ modules: [{ type: "ESModule", path: "worker.mjs", contents: code }, ...wasmModules()], compatibilityDate: "2026-07-01", bindings: { BARE: "1" } });
    try {
      const r = await mf.dispatchFetch("http://worker/");
      const j = await r.json() as { started: boolean; error?: string };
      expect(j.started).toBe(false);
      expect(j.error).toMatch(/Wasm code generation disallowed by embedder/);
    } finally {
      await mf.dispose();
    }
  });
});
