/** The committed CRD manifests (deploy/crds/), and installing them into the envtest API server. */
import { readdirSync, readFileSync } from "node:fs";
import {
  ApiextensionsV1Api,
  type KubeConfig,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";

export const CRD_DIR = new URL("../../../deploy/crds/", import.meta.url);

/** The committed CRD manifests, as client-node models: its serializer writes only the fields it knows
 * by their model names (`xKubernetesValidations`, `_enum`, ...), so plain parsed YAML would lose them. */
export function committedCrds(): V1CustomResourceDefinition[] {
  return readdirSync(CRD_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => loadYaml<V1CustomResourceDefinition>(readFileSync(new URL(f, CRD_DIR), "utf8")));
}

/** Server-side apply the committed CRDs and wait until the API server serves them. */
export async function applyCrds(kubeConfig: KubeConfig): Promise<V1CustomResourceDefinition[]> {
  const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  const crds = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const applied: V1CustomResourceDefinition[] = [];
  for (const crd of committedCrds()) {
    await objects.patch(crd, undefined, undefined, "carrier2-tests", true, PatchStrategy.ServerSideApply);
    for (;;) {
      const current = await crds.readCustomResourceDefinition({ name: crd.metadata!.name! });
      if (current.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) {
        applied.push(current);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return applied;
}
