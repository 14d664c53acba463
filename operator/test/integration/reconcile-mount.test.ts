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
import { editShadow, editShadowService } from "./hand-edits.ts";
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

const readShadow = () => apps.readNamespacedDeployment({ namespace: workloadNs, name: "backend-gefyra" });
const readShadowService = () => core.readNamespacedService({ namespace: workloadNs, name: "backend-app-gefyra-svc" });
const shadowEvents = async (mount: GefyraBridgeMount) =>
  (await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.uid=${mount.metadata.uid}` })).items.map((e) => e.reason);

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

  it("reverts hand edits of the shadow Deployment's replicas, labels and image (annotations kept)", async () => {
    // Without an HPA the shadow's replicas are the original's.
    await autoscaling.deleteNamespacedHorizontalPodAutoscaler({ namespace: workloadNs, name: "backend" });
    const mount = await createMount();
    await reconcileMount(context(), key());
    const before = await readShadow();

    await editShadow(kubeConfig, workloadNs, (shadow) => {
      shadow.spec!.replicas = 5;
      // Changes one of the operator's label values, drops the others (the mount-uid label too), adds one.
      shadow.metadata!.labels = { app: "hacked", debug: "true" };
      shadow.spec!.template.spec!.containers[0]!.image = "registry.example.com/evil:latest";
    });
    const edited = await readShadow();
    expect([edited.spec!.replicas, edited.metadata!.labels!["app"], edited.metadata!.annotations]).toEqual([
      5,
      "hacked",
      before.metadata!.annotations,
    ]);

    await reconcileMount(context(), key());
    const after = await readShadow();
    expect(after.spec!.replicas).toBe(2);
    expect(after.spec!.template.spec!.containers.map((c) => c.image)).toEqual([
      "registry.example.com/backend:1.2.3",
      "registry.example.com/sidecar:1",
    ]);
    // What the operator sets is back; a label only the editor set is not the operator's to remove.
    expect(after.metadata!.labels).toEqual({ ...before.metadata!.labels, debug: "true" });
    expect(after.metadata!.annotations).toEqual(before.metadata!.annotations);
    expect(after.spec!.template).toEqual(before.spec!.template);
    expect(await shadowEvents(mount)).toContain("ShadowUpdated");

    // Repaired is stable: the next reconcile writes nothing.
    await reconcileMount(context(), key());
    expect((await readShadow()).metadata!.resourceVersion).toBe(after.metadata!.resourceVersion);
  });

  it("reverts a hand edit of the shadow Service's selector", async () => {
    await createMount();
    await reconcileMount(context(), key());
    const before = await readShadowService();

    await editShadowService(kubeConfig, workloadNs, (service) => {
      service.spec!.selector = { app: "backend" }; // the original's pods
    });
    await reconcileMount(context(), key());
    const after = await readShadowService();
    expect(after.spec!.selector).toEqual({ "bridge.gefyra.dev/duplication-id": "dup-1" });
    expect(after.spec).toEqual(before.spec);
  });

  it("reverts a hand edit that an apply alone cannot (a new port reusing a port name of the operator's)", async () => {
    const mount = await createMount();
    await reconcileMount(context(), key());
    const before = await readShadowService();

    await editShadowService(kubeConfig, workloadNs, (service) => {
      service.spec!.ports = [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }];
    });
    await reconcileMount(context(), key());
    const after = await readShadowService();
    expect(after.spec).toEqual(before.spec); // the same cluster IP too
    // The operator owns its fields through its apply alone, so it can still drop them later.
    expect(after.metadata!.managedFields!.map((m) => [m.manager, m.operation])).toEqual([["carrier2-operator", "Apply"]]);
    expect(await shadowEvents(mount)).toContain("ShadowUpdated");

    await reconcileMount(context(), key());
    expect((await readShadowService()).metadata!.resourceVersion).toBe(after.metadata!.resourceVersion);
  });

  it("leaves the shadow's replicas to its HPA copy, and still reverts other hand edits", async () => {
    await createMount();
    await reconcileMount(context(), key());
    // What the HPA controller would do to the shadow: scale it through the scale subresource.
    const scale = await apps.readNamespacedDeploymentScale({ namespace: workloadNs, name: "backend-gefyra" });
    await apps.replaceNamespacedDeploymentScale({
      namespace: workloadNs,
      name: "backend-gefyra",
      body: { ...scale, spec: { replicas: 4 } },
      fieldManager: "horizontal-pod-autoscaler",
    });
    await editShadow(kubeConfig, workloadNs, (shadow) => {
      shadow.spec!.template.spec!.containers[0]!.image = "registry.example.com/evil:latest";
    });

    await reconcileMount(context(), key());
    const after = await readShadow();
    expect(after.spec!.replicas).toBe(4);
    expect(after.spec!.template.spec!.containers[0]!.image).toBe("registry.example.com/backend:1.2.3");
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
