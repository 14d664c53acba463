import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests start real processes and sockets; 2 cores: keep files sequential and predictable.
    fileParallelism: false,
  },
});
