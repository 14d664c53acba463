import { defineConfig } from "vitest/config";
import { sharedTestConfig } from "../vitest.shared.ts";

export default defineConfig({
  test: {
    ...sharedTestConfig,
    include: ["test/**/*.test.ts"],
    // The smoke run starts real processes (upstream, Carrier2, load generator) for a few seconds.
    testTimeout: 120_000,
  },
});
