// Objects shared by the unit and integration tests.
import { CustomObjectsApi, type KubeConfig, type V1Deployment, type V2HorizontalPodAutoscaler } from "@kubernetes/client-node";
import { API_VERSION, GROUP, type GefyraBridgeMount, MOUNT_PLURAL, VERSION } from "../src/crds.ts";

export function backendDeployment(namespace: string): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "backend",
      namespace,
      labels: { app: "backend", tier: "api" },
      annotations: {
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
        "deployment.kubernetes.io/revision": "3",
        "team.example.com/owner": "payments",
      },
    },
    spec: {
      replicas: 2,
      selector: {
        matchLabels: { app: "backend" },
        matchExpressions: [{ key: "tier", operator: "In", values: ["api"] }],
      },
      template: {
        metadata: { labels: { app: "backend", tier: "api" }, annotations: { "prometheus.io/scrape": "true" } },
        spec: {
          containers: [
            {
              name: "app",
              image: "registry.example.com/backend:1.2.3",
              ports: [{ name: "http", containerPort: 8080 }, { containerPort: 9090, protocol: "UDP" }],
            },
            { name: "sidecar", image: "registry.example.com/sidecar:1", ports: [{ containerPort: 15000 }] },
          ],
        },
      },
    },
  };
}

export function backendHpa(namespace: string): V2HorizontalPodAutoscaler {
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "backend", namespace, labels: { app: "backend" } },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "backend" },
      minReplicas: 2,
      maxReplicas: 5,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }],
    },
  };
}

/** Create the GefyraBridgeMount `backend-mount` (in `namespace`) of the backend Deployment's `app` container. */
export function createBackendMount(kubeConfig: KubeConfig, namespace: string, workloadNamespace: string): Promise<GefyraBridgeMount> {
  return kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: MOUNT_PLURAL,
    body: {
      apiVersion: API_VERSION,
      kind: "GefyraBridgeMount",
      metadata: { name: "backend-mount" },
      targetNamespace: workloadNamespace,
      target: "deploy/backend",
      targetContainer: "app",
    },
  });
}
