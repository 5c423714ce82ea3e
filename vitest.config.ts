import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "conformance/**/*.test.ts"],
    // Records which runtime runs each file when test/run.mjs asks (LTXKIT_RUNTIME_PROBE); otherwise a no-op.
    setupFiles: ["test/setup/runtime-probe.ts"],
    // Builds dist/ once before any file runs (tests spawn the built CLI; none rebuilds it meanwhile).
    globalSetup: ["test/setup/build-dist.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "threads",
    maxWorkers: 2,
  },
});
