// vitest globalSetup of the integration project: one envtest control plane for the whole run,
// with the CRDs installed; tests get its kubeconfig through inject("kubeconfig").
import { KubeConfig } from "@kubernetes/client-node";
import type { TestProject } from "vitest/node";
import { applyCrds } from "./crds.ts";
import { startEnvTest } from "./envtest.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = await startEnvTest();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(env.kubeconfig);
  try {
    await applyCrds(kubeConfig);
  } catch (err) {
    await env.stop();
    throw err;
  }
  project.provide("kubeconfig", env.kubeconfig);
  return env.stop;
}
