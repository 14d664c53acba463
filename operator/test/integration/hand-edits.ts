import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment, type V1Service } from "@kubernetes/client-node";

/** Someone edits an object by hand, as `kubectl edit` would: read, change, write back, as a field
 * manager that is not the operator's. Annotations stay unless `edit` changes them. */
async function editByHand<T>(read: () => Promise<T>, write: (body: T) => Promise<unknown>, edit: (object: T) => void): Promise<void> {
  const object = await read();
  edit(object);
  await write(object);
}

const fieldManager = "kubectl-edit";

/** Edit the shadow Deployment `backend-gefyra` of the fixtures' backend. */
export function editShadow(kubeConfig: KubeConfig, namespace: string, edit: (shadow: V1Deployment) => void): Promise<void> {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const name = "backend-gefyra";
  return editByHand(
    () => apps.readNamespacedDeployment({ namespace, name }),
    (body) => apps.replaceNamespacedDeployment({ namespace, name, body, fieldManager }),
    edit,
  );
}

/** Edit the shadow Service `backend-app-gefyra-svc` of the fixtures' backend. */
export function editShadowService(kubeConfig: KubeConfig, namespace: string, edit: (service: V1Service) => void): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const name = "backend-app-gefyra-svc";
  return editByHand(
    () => core.readNamespacedService({ namespace, name }),
    (body) => core.replaceNamespacedService({ namespace, name, body, fieldManager }),
    edit,
  );
}
