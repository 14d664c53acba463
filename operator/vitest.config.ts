import { defineConfig } from "vitest/config";
import { sharedTestConfig } from "../vitest.shared.ts";

// Two projects: `unit` (pure code, no cluster) and `integration` (a real etcd + kube-apiserver,
// started once per run by test/env/global-setup.ts; each test works in its own namespace).
export default defineConfig({
  test: {
    ...sharedTestConfig,
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/env/global-setup.ts"],
          // Generous: a loaded CI machine makes API calls slow; no test asserts on timing.
          testTimeout: 60_000,
        },
      },
    ],
  },
});
