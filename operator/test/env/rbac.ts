/** The committed operator RBAC (deploy/operator/rbac.yaml) in the envtest API server, and a client
 * that authenticates as the operator's ServiceAccount with a real token, as the operator's pod would. */
import { readFileSync } from "node:fs";
import {
  ApiException,
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
  type V1ResourceAttributes,
} from "@kubernetes/client-node";

export const RBAC_FILE = new URL("../../../deploy/operator/rbac.yaml", import.meta.url);

/** Create the namespace unless it exists (the operator's is shared by a whole test file). */
export async function ensureNamespace(kubeConfig: KubeConfig, name: string): Promise<void> {
  try {
    await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
  }
}

/** Server-side apply every object of the committed rbac.yaml (as the admin). */
export async function applyRbac(kubeConfig: KubeConfig): Promise<void> {
  const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  for (const object of loadAllYaml(readFileSync(RBAC_FILE, "utf8"))) {
    await objects.patch(object, undefined, undefined, "carrier2-tests", true, PatchStrategy.ServerSideApply);
  }
}

/** A kubeconfig for the admin's cluster whose user is `namespace/name`'s ServiceAccount, by a bound token. */
export async function serviceAccountKubeConfig(admin: KubeConfig, namespace: string, name: string): Promise<KubeConfig> {
  const core = admin.makeApiClient(CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const kubeConfig = new KubeConfig();
  const user = { name: `${namespace}:${name}`, token: request.status!.token };
  kubeConfig.loadFromOptions({
    clusters: [admin.getCurrentCluster()!],
    users: [user],
    contexts: [{ name: "sa", cluster: admin.getCurrentCluster()!.name, user: user.name }],
    currentContext: "sa",
  });
  return kubeConfig;
}

/** May the identity of `kubeConfig` do this? (A SelfSubjectAccessReview, which any user may make.) */
export async function canI(kubeConfig: KubeConfig, attributes: V1ResourceAttributes): Promise<boolean> {
  const review = await kubeConfig.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
    body: { spec: { resourceAttributes: attributes } },
  });
  return review.status!.allowed;
}
