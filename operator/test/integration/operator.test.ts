// The whole operator (informers, work queues, both reconciles) against the real API server: it
// reacts to watch events alone, with resync far away.
import { AppsV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { API_VERSION, BRIDGE_PLURAL, GROUP, type GefyraBridge, type GefyraBridgeMount, MOUNT_PLURAL, VERSION } from "../../src/crds.ts";
import { kubeApi } from "../../src/kube/api.ts";
import { type Logger, silentLogger } from "../../src/log.ts";
import { type Operator, startOperator } from "../../src/operator.ts";
import { createNamespace, testKubeConfig } from "../env/cluster.ts";
import { backendDeployment, createBackendMount } from "../fixtures.ts";
import { InterferingMounts } from "./interfering-mounts.ts";

const kubeConfig = testKubeConfig();
const apps = kubeConfig.makeApiClient(AppsV1Api);
const custom = kubeConfig.makeApiClient(CustomObjectsApi);
const eventually = { timeout: 30_000, interval: 100 };

let ns: string;
let workloadNs: string;
let operator: Operator | undefined;

beforeEach(async () => {
  ns = await createNamespace(kubeConfig, "gefyra");
  workloadNs = await createNamespace(kubeConfig, "demo");
  await apps.createNamespacedDeployment({ namespace: workloadNs, body: backendDeployment(workloadNs) });
});

afterEach(async () => {
  await operator?.stop();
  operator = undefined;
});

const ref = (plural: string, name: string) => ({ group: GROUP, version: VERSION, namespace: ns, plural, name });
const getMount = (): Promise<GefyraBridgeMount> => custom.getNamespacedCustomObject(ref(MOUNT_PLURAL, "backend-mount"));
const getBridge = (): Promise<GefyraBridge> => custom.getNamespacedCustomObject(ref(BRIDGE_PLURAL, "user-1"));
const readyReason = (o: GefyraBridge | GefyraBridgeMount) => o.status?.conditions?.find((c) => c.type === "Ready")?.reason;

const createMount = () => createBackendMount(kubeConfig, ns, workloadNs);

describe("operator", () => {
  it("mounts on create, reports bridges against their mount, and cleans up on delete", async () => {
    operator = await startOperator({ kubeConfig, namespace: ns, log: silentLogger, resyncMs: 3_600_000 });
    await createMount();
    await vi.waitFor(async () => {
      expect((await getMount()).state).toBe("PREPARING");
      await apps.readNamespacedDeployment({ namespace: workloadNs, name: "backend-gefyra" });
    }, eventually);

    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: BRIDGE_PLURAL,
      body: { apiVersion: API_VERSION, kind: "GefyraBridge", metadata: { name: "user-1" }, target: "backend-mount" },
    });
    await vi.waitFor(async () => {
      const bridge = await getBridge();
      expect([bridge.state, readyReason(bridge)]).toEqual(["REQUESTED", "MountNotActive"]);
    }, eventually);

    await custom.deleteNamespacedCustomObject(ref(MOUNT_PLURAL, "backend-mount"));
    await vi.waitFor(async () => {
      await expect(getMount()).rejects.toMatchObject({ code: 404 });
      expect((await apps.listNamespacedDeployment({ namespace: workloadNs })).items.map((d) => d.metadata!.name)).toEqual([
        "backend",
      ]);
    }, eventually);
    // The mount's deletion woke the bridge that names it.
    await vi.waitFor(async () => expect(readyReason(await getBridge())).toBe("MountNotFound"), eventually);
  });

  it("retries a reconcile that hit a resourceVersion conflict until it succeeds", async () => {
    const mounts = new InterferingMounts(kubeConfig, MOUNT_PLURAL);
    const logged: string[] = [];
    const log: Logger = { ...silentLogger, info: (message) => logged.push(message) };
    operator = await startOperator({
      kubeConfig,
      namespace: ns,
      log,
      resyncMs: 3_600_000,
      context: { api: { ...kubeApi(kubeConfig), mounts } },
    });
    await createMount();
    await vi.waitFor(async () => {
      const mount = await getMount();
      expect([mount.state, readyReason(mount), mount.metadata.labels]).toEqual([
        "PREPARING",
        "CarrierNotInstalled",
        { touched: "yes" },
      ]);
    }, eventually);
    expect(mounts.interfered).toBe(true);
    expect(logged).toContain("conflict (object changed meanwhile); retrying");
  });
});
