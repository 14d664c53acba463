// reconcileMount against the real API server, called directly (no informers): what it creates,
// that it is idempotent, that it cleans up, and that it survives a resourceVersion conflict.
import {
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  CustomObjectsApi,
  type V1Deployment,
} from "@kubernetes/client-node";
import { beforeEach, describe, expect, it } from "vitest";
import { GROUP, type GefyraBridgeMount, MOUNT_PLURAL, VERSION } from "../../src/crds.ts";
import { isConflict } from "../../src/errors.ts";
import { kubeApi } from "../../src/kube/api.ts";
import { eventRecorder } from "../../src/kube/events.ts";
import { MOUNT_FINALIZER } from "../../src/labels.ts";
import { silentLogger } from "../../src/log.ts";
import { type ReconcileContext, reconcileMount } from "../../src/reconcile-mount.ts";
import { createNamespace, testKubeConfig } from "../env/cluster.ts";
import { markDeploymentReady, runPods } from "../env/kubelet.ts";
import { backendDeployment, backendHpa, createBackendMount } from "../fixtures.ts";
import { InterferingMounts } from "./interfering-mounts.ts";

const kubeConfig = testKubeConfig();
const apps = kubeConfig.makeApiClient(AppsV1Api);
const core = kubeConfig.makeApiClient(CoreV1Api);
const autoscaling = kubeConfig.makeApiClient(AutoscalingV2Api);
const custom = kubeConfig.makeApiClient(CustomObjectsApi);

/** Operator namespace (mounts) and workload namespace (Deployment, shadows), fresh per test. */
let ns: string;
let workloadNs: string;
let ids: number;

function context(overrides: Partial<ReconcileContext> = {}): ReconcileContext {
  return {
    api: kubeApi(kubeConfig),
    events: eventRecorder(kubeConfig, silentLogger),
    log: silentLogger,
    now: () => new Date(),
    newId: () => `dup-${++ids}`,
    ...overrides,
  };
}

const createMount = () => createBackendMount(kubeConfig, ns, workloadNs);

const getMount = (): Promise<GefyraBridgeMount> =>
  custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: MOUNT_PLURAL, name: "backend-mount" });
const key = () => ({ namespace: ns, name: "backend-mount" });
const shadowResourceVersions = async () => [
  (await apps.readNamespacedDeployment({ namespace: workloadNs, name: "backend-gefyra" })).metadata!.resourceVersion,
  (await core.readNamespacedService({ namespace: workloadNs, name: "backend-app-gefyra-svc" })).metadata!.resourceVersion,
  (await autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace: workloadNs, name: "backend-gefyra" })).metadata!
    .resourceVersion,
];

beforeEach(async () => {
  ns = await createNamespace(kubeConfig, "gefyra");
  workloadNs = await createNamespace(kubeConfig, "demo");
  ids = 0;
  await apps.createNamespacedDeployment({ namespace: workloadNs, body: backendDeployment(workloadNs) });
  await autoscaling.createNamespacedHorizontalPodAutoscaler({ namespace: workloadNs, body: backendHpa(workloadNs) });
});

describe("reconcileMount", () => {
  it("creates the shadow Deployment, Service and HPA with Gefyra's names and labels", async () => {
    const mount = await createMount();
    await reconcileMount(context(), key());

    const shadow = await apps.readNamespacedDeployment({ namespace: workloadNs, name: "backend-gefyra" });
    expect(shadow.metadata!.labels).toEqual({
      app: "backend-gefyra",
      tier: "api-gefyra",
      "bridge.gefyra.dev/duplication-id": "dup-1",
      "bridge.gefyra.dev/mount-uid": mount.metadata.uid,
    });
    expect(shadow.metadata!.annotations).toEqual({
      "team.example.com/owner": "payments",
      "bridge.gefyra.dev/mount": `${ns}/backend-mount`,
      "bridge.gefyra.dev/desired-hash": expect.stringMatching(/^[0-9a-f]{16}$/),
      // Written by the API server for the shadow itself, not copied (the original said "3").
      ...(shadow.metadata!.annotations!["deployment.kubernetes.io/revision"] && { "deployment.kubernetes.io/revision": "1" }),
    });
    expect(shadow.spec!.selector.matchLabels).toEqual({ app: "backend-gefyra", "bridge.gefyra.dev/duplication-id": "dup-1" });
    expect(shadow.spec!.template.metadata!.labels).toEqual({
      app: "backend-gefyra",
      tier: "api-gefyra",
      "bridge.gefyra.dev/duplication-id": "dup-1",
    });
    expect(shadow.spec!.template.spec!.containers.map((c) => c.image)).toEqual([
      "registry.example.com/backend:1.2.3",
      "registry.example.com/sidecar:1",
    ]);

    const service = await core.readNamespacedService({ namespace: workloadNs, name: "backend-app-gefyra-svc" });
    expect(service.spec!.selector).toEqual({ "bridge.gefyra.dev/duplication-id": "dup-1" });
    expect(service.spec!.ports!.map((p) => [p.name, p.protocol, p.port, p.targetPort])).toEqual([
      ["http", "TCP", 8080, 8080],
      ["udp-9090", "UDP", 9090, 9090],
    ]);

    const hpa = await autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace: workloadNs, name: "backend-gefyra" });
    expect(hpa.spec!.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "backend-gefyra" });
    expect(hpa.spec!.maxReplicas).toBe(5);

    const after = await getMount();
    expect(after.metadata.finalizers).toEqual([MOUNT_FINALIZER]);
    expect(after.state).toBe("PREPARING");
    expect(Object.keys(after.stateTransitions!).sort()).toEqual(["PREPARING", "REQUESTED"]);
    expect(after.status!.observedGeneration).toBe(after.metadata.generation);
    expect(after.status!.conditions!.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["Ready", "False", "CarrierNotInstalled"],
      ["ShadowReady", "False", "ShadowNotReady"],
    ]);

    const events = await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.uid=${mount.metadata.uid}` });
    expect(events.items.map((e) => e.reason).sort()).toEqual(["ShadowCreated", "ShadowCreated", "ShadowCreated"]);
  });

  it("selects only shadow pods with the shadow Service, never with the original's selector", async () => {
    await createMount();
    await reconcileMount(context(), key());
    const original = await apps.readNamespacedDeployment({ namespace: workloadNs, name: "backend" });
    const shadow = await apps.readNamespacedDeployment({ namespace: workloadNs, name: "backend-gefyra" });
    const originalPods = await runPods(kubeConfig, original);
    const shadowPods = await runPods(kubeConfig, shadow);
    expect(shadowPods.every((p) => p.status!.phase === "Running" && p.status!.podIP)).toBe(true);

    const select = async (labels: Record<string, string>) =>
      (await core.listNamespacedPod({ namespace: workloadNs, labelSelector: selector(labels) })).items.map((p) => p.metadata!.name);
    const service = await core.readNamespacedService({ namespace: workloadNs, name: "backend-app-gefyra-svc" });
    expect((await select(service.spec!.selector!)).sort()).toEqual(shadowPods.map((p) => p.metadata!.name).sort());
    expect((await select(original.spec!.selector.matchLabels!)).sort()).toEqual(originalPods.map((p) => p.metadata!.name).sort());
  });

  it("reports the shadow ready once its Deployment is", async () => {
    await createMount();
    await reconcileMount(context(), key());
    await markDeploymentReady(kubeConfig, workloadNs, "backend-gefyra");
    const result = await reconcileMount(context(), key());
    const conditions = (await getMount()).status!.conditions!;
    expect(conditions.find((c) => c.type === "ShadowReady")).toMatchObject({ status: "True", reason: "ShadowReady" });
    expect(conditions.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "CarrierNotInstalled" });
    expect(result).toEqual({});
  });

  it("changes nothing when reconciled again", async () => {
    await createMount();
    await reconcileMount(context(), key());
    const mountVersion = (await getMount()).metadata.resourceVersion;
    const shadowVersions = await shadowResourceVersions();

    await reconcileMount(context(), key());
    await reconcileMount(context(), key());
    expect((await getMount()).metadata.resourceVersion).toBe(mountVersion);
    expect(await shadowResourceVersions()).toEqual(shadowVersions);
  });

  it("follows a change of the original and keeps the duplication id", async () => {
    await createMount();
    await reconcileMount(context(), key());
    const original = await apps.readNamespacedDeployment({ namespace: workloadNs, name: "backend" });
    original.spec!.template.spec!.containers[0]!.image = "registry.example.com/backend:1.2.4";
    await apps.replaceNamespacedDeployment({ namespace: workloadNs, name: "backend", body: original });

    await reconcileMount(context(), key());
    const shadow = await apps.readNamespacedDeployment({ namespace: workloadNs, name: "backend-gefyra" });
    expect(shadow.spec!.template.spec!.containers[0]!.image).toBe("registry.example.com/backend:1.2.4");
    expect(shadow.metadata!.labels!["bridge.gefyra.dev/duplication-id"]).toBe("dup-1");
  });

  it("deletes the shadow objects and its finalizer when the mount is deleted", async () => {
    await createMount();
    await reconcileMount(context(), key());
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: MOUNT_PLURAL, name: "backend-mount" });
    expect((await getMount()).metadata.deletionTimestamp).toBeDefined(); // held by the finalizer

    await reconcileMount(context(), key());
    await expect(getMount()).rejects.toMatchObject({ code: 404 });
    const remaining = await Promise.all([
      apps.listNamespacedDeployment({ namespace: workloadNs }),
      core.listNamespacedService({ namespace: workloadNs }),
      autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: workloadNs }),
    ]);
    expect(remaining.map((list) => list.items.map((o) => o.metadata!.name))).toEqual([["backend"], [], ["backend"]]);
  });

  it("reports a missing target as MISSING and removes the shadow", async () => {
    await createMount();
    await reconcileMount(context(), key());
    await apps.deleteNamespacedDeployment({ namespace: workloadNs, name: "backend" });
    const result = await reconcileMount(context(), key());
    const mount = await getMount();
    expect(mount.state).toBe("MISSING");
    expect(mount.status!.conditions![0]).toMatchObject({ type: "Ready", reason: "TargetNotFound" });
    expect(result!.requeueAfterMs).toBeGreaterThan(0);
    expect((await apps.listNamespacedDeployment({ namespace: workloadNs })).items).toEqual([]);
  });

  it("refuses to take over an object it does not own that has the shadow's name", async () => {
    const squatter: V1Deployment = { ...backendDeployment(workloadNs), metadata: { name: "backend-gefyra", namespace: workloadNs } };
    await apps.createNamespacedDeployment({ namespace: workloadNs, body: squatter });
    await createMount();
    await expect(reconcileMount(context(), key())).rejects.toMatchObject({ code: "OP_SHADOW_NAME_TAKEN", retryable: false });
    const mount = await getMount();
    expect(mount.state).toBe("ERROR");
    expect(mount.status!.conditions![0]).toMatchObject({ reason: "ShadowNameTaken" });
    const untouched = await apps.readNamespacedDeployment({ namespace: workloadNs, name: "backend-gefyra" });
    expect(untouched.metadata!.labels).toEqual(squatter.metadata!.labels);
  });

  it("fails with a conflict when the mount changed under it, and succeeds when run again", async () => {
    await createMount();
    const mounts = new InterferingMounts(kubeConfig, MOUNT_PLURAL);
    const ctx = context({ api: { ...kubeApi(kubeConfig), mounts } });

    const failure = await reconcileMount(ctx, key()).catch((err: unknown) => err);
    expect(mounts.interfered).toBe(true);
    expect(isConflict(failure)).toBe(true);
    await reconcileMount(ctx, key());
    const mount = await getMount();
    expect(mount.state).toBe("PREPARING");
    expect(mount.metadata.labels).toEqual({ touched: "yes" });
  });
});

function selector(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}
