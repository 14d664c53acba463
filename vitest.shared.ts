/**
 * Settings every workspace's vitest config shares. Besides the console output, each run writes a JSON
 * report (`.vitest-report.json`, gitignored) that `.ci/run` sums into one closing line.
 */
import type { ViteUserConfig } from "vitest/config";

export const sharedTestConfig = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  // Tests start real processes and sockets on a 2-core machine: one file at a time.
  fileParallelism: false,
  reporters: ["default", ["json", { outputFile: ".vitest-report.json" }]],
} satisfies NonNullable<ViteUserConfig["test"]>;
