// The committed RBAC (deploy/operator/rbac.yaml) against the real API server, which authorizes with
// RBAC: the operator, authenticated as its ServiceAccount by a bound token, runs the whole mount flow
// (shadow objects, bridge report, Events, drift repair, cleanup) with no permission error, and may
// not do what it has no business doing. The operator's namespace is the real one, `gefyra`.
import {
  ApiextensionsV1Api,
  type ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1ResourceAttributes,
} from "@kubernetes/client-node";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { API_VERSION, BRIDGE_PLURAL, GROUP, type GefyraBridge, type GefyraBridgeMount, MOUNT_PLURAL, VERSION } from "../../src/crds.ts";
import { DEFAULT_OPERATOR_NAMESPACE } from "../../src/labels.ts";
import type { Logger } from "../../src/log.ts";
import { type Operator, startOperator } from "../../src/operator.ts";
import { SERVICE_ACCOUNT } from "../../src/rbac.ts";
import { createNamespace, testKubeConfig } from "../env/cluster.ts";
import { runPods } from "../env/kubelet.ts";
import { applyRbac, canI, ensureNamespace, serviceAccountKubeConfig } from "../env/rbac.ts";
import { backendDeployment, backendHpa, createBackendMount } from "../fixtures.ts";
import { editShadow, editShadowService } from "./hand-edits.ts";

const admin = testKubeConfig();
const apps = admin.makeApiClient(AppsV1Api);
const core = admin.makeApiClient(CoreV1Api);
const autoscaling = admin.makeApiClient(AutoscalingV2Api);
const custom = admin.makeApiClient(CustomObjectsApi);
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const eventually = { timeout: 30_000, interval: 100 };
const ns = DEFAULT_OPERATOR_NAMESPACE;

/** Authenticated as system:serviceaccount:gefyra:carrier2-operator. */
let operatorConfig: KubeConfig;
let workloadNs: string;
let operator: Operator | undefined;

beforeAll(async () => {
  await ensureNamespace(admin, ns);
  await applyRbac(admin);
  operatorConfig = await serviceAccountKubeConfig(admin, ns, SERVICE_ACCOUNT);
});

beforeEach(async () => {
  workloadNs = await createNamespace(admin, "demo");
  await apps.createNamespacedDeployment({ namespace: workloadNs, body: backendDeployment(workloadNs) });
  await autoscaling.createNamespacedHorizontalPodAutoscaler({ namespace: workloadNs, body: backendHpa(workloadNs) });
});

afterEach(async () => {
  await operator?.stop();
  operator = undefined;
});

const ref = (plural: string, name: string) => ({ group: GROUP, version: VERSION, namespace: ns, plural, name });
const getMount = (): Promise<GefyraBridgeMount> => custom.getNamespacedCustomObject(ref(MOUNT_PLURAL, "backend-mount"));
const getBridge = (): Promise<GefyraBridge> => custom.getNamespacedCustomObject(ref(BRIDGE_PLURAL, "rbac-user"));
const readShadow = () => apps.readNamespacedDeployment({ namespace: workloadNs, name: "backend-gefyra" });
const readShadowService = () => core.readNamespacedService({ namespace: workloadNs, name: "backend-app-gefyra-svc" });
const eventReasons = async (uid: string) =>
  (await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.uid=${uid}` })).items.map((e) => e.reason);
/** Wake the mount's reconcile (the operator does not watch shadow objects). */
const touchMount = (value: string) =>
  custom.patchNamespacedCustomObject({ ...ref(MOUNT_PLURAL, "backend-mount"), body: { metadata: { annotations: { touched: value } } } }, mergePatch);

describe("the operator's RBAC", () => {
  it("suffices for the whole mount flow, run as the operator's ServiceAccount", async () => {
    // Event recording is best effort: a forbidden Event, like any failed reconcile or watch, only shows in the log.
    const problems: string[] = [];
    const note = (message: string, fields?: Record<string, unknown>) => problems.push(`${message} ${JSON.stringify(fields)}`);
    const log: Logger = { info() {}, warn: note, error: note };
    operator = await startOperator({ kubeConfig: operatorConfig, namespace: ns, log, resyncMs: 3_600_000 });

    const mount = await createBackendMount(admin, ns, workloadNs);
    await vi.waitFor(async () => {
      expect((await getMount()).state).toBe("PREPARING");
      await readShadow();
      await readShadowService();
      await autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace: workloadNs, name: "backend-gefyra" });
      expect(await eventReasons(mount.metadata.uid!)).toEqual(["ShadowCreated", "ShadowCreated", "ShadowCreated"]);
    }, eventually);

    const bridge: GefyraBridge = await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: BRIDGE_PLURAL,
      body: { apiVersion: API_VERSION, kind: "GefyraBridge", metadata: { name: "rbac-user" }, target: "backend-mount" },
    });
    await vi.waitFor(async () => {
      const current = await getBridge();
      expect([current.state, current.status?.conditions?.[0]?.reason]).toEqual(["REQUESTED", "MountNotActive"]);
      expect(await eventReasons(bridge.metadata.uid!)).toEqual(["MountNotActive"]);
    }, eventually);

    // Drift repair by apply (patch) and by replace (update, then a patch of managedFields).
    const { ports } = (await readShadowService()).spec!;
    await editShadow(admin, workloadNs, (shadow) => {
      shadow.spec!.template.spec!.containers[0]!.image = "registry.example.com/evil:latest";
    });
    await editShadowService(admin, workloadNs, (service) => {
      service.spec!.ports = [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }];
    });
    await touchMount("1");
    await vi.waitFor(async () => {
      expect((await readShadow()).spec!.template.spec!.containers[0]!.image).toBe("registry.example.com/backend:1.2.3");
      expect((await readShadowService()).spec!.ports).toEqual(ports);
    }, eventually);

    await custom.deleteNamespacedCustomObject(ref(MOUNT_PLURAL, "backend-mount"));
    await vi.waitFor(async () => {
      await expect(getMount()).rejects.toMatchObject({ code: 404 });
      const [deployments, services, hpas] = await Promise.all([
        apps.listNamespacedDeployment({ namespace: workloadNs }),
        core.listNamespacedService({ namespace: workloadNs }),
        autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: workloadNs }),
      ]);
      expect([deployments, services, hpas].map((l) => l.items.map((o) => o.metadata!.name))).toEqual([["backend"], [], ["backend"]]);
      expect(readyReason(await getBridge())).toBe("MountNotFound");
    }, eventually);
    await custom.deleteNamespacedCustomObject(ref(BRIDGE_PLURAL, "rbac-user"));

    // (A fresh API server may answer the first watches with 429 while its watch cache starts: retried, not RBAC.)
    expect(problems.filter((p) => / 403\b|forbidden/i.test(p))).toEqual([]);
  });

  it("lets the next step patch a target pod's container image", async () => {
    const [pod] = await runPods(admin, await apps.readNamespacedDeployment({ namespace: workloadNs, name: "backend" }), 1);
    const asOperator = operatorConfig.makeApiClient(CoreV1Api);
    const name = pod!.metadata!.name!;
    expect((await asOperator.listNamespacedPod({ namespace: workloadNs })).items.map((p) => p.metadata!.name)).toEqual([name]);
    const patched = await asOperator.patchNamespacedPod(
      {
        namespace: workloadNs,
        name,
        body: { spec: { containers: [{ name: "app", image: "ghcr.io/carrier2/carrier2:test" }] } },
        fieldManager: SERVICE_ACCOUNT,
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    expect(patched.spec!.containers.map((c) => c.image)).toEqual(["ghcr.io/carrier2/carrier2:test", "registry.example.com/sidecar:1"]);
    expect(await canI(operatorConfig, { verb: "watch", resource: "pods", namespace: workloadNs })).toBe(true);
  });

  it("may not read Secrets, delete namespaces, change CRDs or RBAC, exec into pods, or use mounts elsewhere", async () => {
    const rbac = "rbac.authorization.k8s.io";
    const denied: V1ResourceAttributes[] = [
      { verb: "get", resource: "secrets", namespace: workloadNs },
      { verb: "get", resource: "secrets", namespace: ns },
      { verb: "list", resource: "secrets" },
      { verb: "watch", resource: "secrets" },
      { verb: "get", resource: "configmaps", namespace: ns },
      { verb: "delete", resource: "namespaces", name: workloadNs },
      { verb: "create", resource: "namespaces" },
      ...["create", "update", "patch", "delete"].map((verb) => ({ verb, group: "apiextensions.k8s.io", resource: "customresourcedefinitions" })),
      { verb: "create", group: rbac, resource: "clusterrolebindings" },
      { verb: "update", group: rbac, resource: "roles", namespace: ns },
      { verb: "escalate", group: rbac, resource: "clusterroles" },
      { verb: "bind", group: rbac, resource: "clusterroles" },
      { verb: "impersonate", resource: "serviceaccounts" },
      { verb: "create", resource: "serviceaccounts", subresource: "token", namespace: workloadNs },
      { verb: "create", resource: "pods", subresource: "exec", namespace: workloadNs },
      { verb: "create", resource: "pods", namespace: workloadNs },
      { verb: "delete", resource: "pods", namespace: workloadNs },
      { verb: "deletecollection", group: "apps", resource: "deployments", namespace: workloadNs },
      { verb: "get", group: GROUP, resource: MOUNT_PLURAL, namespace: workloadNs },
      { verb: "create", group: GROUP, resource: MOUNT_PLURAL, namespace: ns },
      { verb: "delete", group: GROUP, resource: BRIDGE_PLURAL, namespace: ns },
      { verb: "create", resource: "events", namespace: workloadNs },
    ];
    const allowed: V1ResourceAttributes[] = [
      { verb: "patch", group: GROUP, resource: MOUNT_PLURAL, subresource: "status", namespace: ns },
      { verb: "watch", group: GROUP, resource: BRIDGE_PLURAL, namespace: ns },
      { verb: "create", resource: "events", namespace: ns },
      { verb: "update", resource: "services", namespace: workloadNs },
      { verb: "delete", group: "autoscaling", resource: "horizontalpodautoscalers", namespace: workloadNs },
    ];
    const verdicts = async (list: V1ResourceAttributes[]) =>
      Promise.all(list.map(async (a) => [JSON.stringify(a), await canI(operatorConfig, a)]));
    expect(await verdicts(denied)).toEqual(denied.map((a) => [JSON.stringify(a), false]));
    expect(await verdicts(allowed)).toEqual(allowed.map((a) => [JSON.stringify(a), true]));

    // And by trying.
    await core.createNamespacedSecret({ namespace: workloadNs, body: { metadata: { name: "db" }, stringData: { password: "x" } } });
    const forbidden = async (call: Promise<unknown>) => expect(await call.then(() => 200, (err: ApiException<unknown>) => err.code)).toBe(403);
    await forbidden(operatorConfig.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: workloadNs, name: "db" }));
    await forbidden(operatorConfig.makeApiClient(CoreV1Api).deleteNamespace({ name: workloadNs }));
    await forbidden(
      operatorConfig.makeApiClient(ApiextensionsV1Api).patchCustomResourceDefinition(
        { name: `${MOUNT_PLURAL}.${GROUP}`, body: { metadata: { labels: { owned: "yes" } } } },
        mergePatch,
      ),
    );
  });
});

const readyReason = (o: GefyraBridge) => o.status?.conditions?.find((c) => c.type === "Ready")?.reason;
