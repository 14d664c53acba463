/** Helpers for tests that talk to the envtest API server (started once per run by global-setup.ts). */
import { randomBytes } from "node:crypto";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
  }
}

export function testKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(inject("kubeconfig"));
  return kubeConfig;
}

/** A fresh namespace for one test (never deleted: nothing would finish the deletion anyway). */
export async function createNamespace(kubeConfig: KubeConfig, prefix = "t"): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString("hex")}`;
  await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}
