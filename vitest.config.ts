import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "conformance/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "threads",
    maxWorkers: 2,
  },
});
