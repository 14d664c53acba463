/**
 * Playing the parts of the cluster that envtest lacks: the Deployment/ReplicaSet controllers and the
 * kubelet. `runPods` creates a Deployment's pods from its template and reports them Running and
 * Ready with pod IPs, as a kubelet would; `markDeploymentReady` writes the status the Deployment
 * controller would.
 */
import { randomBytes } from "node:crypto";
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment, type V1Pod } from "@kubernetes/client-node";

let nextIp = 1;

/** Create `replicas` (default: the Deployment's) Running, Ready pods for the Deployment's template. */
export async function runPods(kubeConfig: KubeConfig, deployment: V1Deployment, replicas?: number): Promise<V1Pod[]> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const namespace = deployment.metadata!.namespace!;
  const template = deployment.spec!.template;
  const pods: V1Pod[] = [];
  for (let i = 0; i < (replicas ?? deployment.spec!.replicas ?? 1); i++) {
    const pod = await core.createNamespacedPod({
      namespace,
      body: {
        metadata: {
          name: `${deployment.metadata!.name}-${randomBytes(4).toString("hex")}`,
          namespace,
          labels: template.metadata?.labels,
          annotations: template.metadata?.annotations,
        },
        spec: { ...template.spec!, nodeName: "envtest-node" },
      },
    });
    pods.push(await setRunning(kubeConfig, pod));
  }
  return pods;
}

/** Report a pod Running and Ready with a fresh IP from 10.244.0.0/16, all containers started. */
export async function setRunning(kubeConfig: KubeConfig, pod: V1Pod): Promise<V1Pod> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const n = nextIp++;
  const ip = `10.244.${(n >> 8) & 255}.${n & 255}`;
  const now = new Date();
  const ready = (type: string) => ({ type, status: "True", lastTransitionTime: now });
  return core.replaceNamespacedPodStatus({
    namespace: pod.metadata!.namespace!,
    name: pod.metadata!.name!,
    body: {
      ...pod,
      status: {
        phase: "Running",
        hostIP: "10.0.0.1",
        podIP: ip,
        podIPs: [{ ip }],
        startTime: now,
        conditions: [ready("PodScheduled"), ready("Initialized"), ready("ContainersReady"), ready("Ready")],
        containerStatuses: pod.spec!.containers.map((c) => ({
          name: c.name,
          image: c.image!,
          imageID: "",
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: now } },
        })),
      },
    },
  });
}

/** Write the status the Deployment controller would once all replicas are up. */
export async function markDeploymentReady(kubeConfig: KubeConfig, namespace: string, name: string): Promise<V1Deployment> {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const deployment = await apps.readNamespacedDeployment({ namespace, name });
  const replicas = deployment.spec!.replicas ?? 1;
  return apps.replaceNamespacedDeploymentStatus({
    namespace,
    name,
    body: {
      ...deployment,
      status: {
        observedGeneration: deployment.metadata!.generation,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
      },
    },
  });
}
