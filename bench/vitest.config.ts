import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The smoke run starts real processes (upstream, Carrier2, load generator) for a few seconds.
    testTimeout: 120_000,
    hookTimeout: 30_000,
    fileParallelism: false,
  },
});
