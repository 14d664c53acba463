// The generated CRDs against the real API server: served, validating, defaulting, with a status
// subresource. (global-setup.ts already applied deploy/crds/; this applies them again: idempotent.)
import { ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { API_VERSION, BRIDGE_PLURAL, GROUP, MOUNT_PLURAL, VERSION } from "../../src/crds.ts";
import { createNamespace, testKubeConfig } from "../env/cluster.ts";
import { applyCrds } from "../env/crds.ts";

const kubeConfig = testKubeConfig();
const custom = kubeConfig.makeApiClient(CustomObjectsApi);
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
let namespace: string;
let names = 0;

beforeAll(async () => {
  namespace = await createNamespace(kubeConfig, "crds");
});

const mount = (name: string, fields: Record<string, unknown> = {}) => ({
  apiVersion: API_VERSION,
  kind: "GefyraBridgeMount",
  metadata: { name },
  targetNamespace: "demo",
  target: "deployment/backend",
  targetContainer: "app",
  ...fields,
});
const bridge = (name: string, fields: Record<string, unknown> = {}) => ({
  apiVersion: API_VERSION,
  kind: "GefyraBridge",
  metadata: { name },
  target: "backend-mount",
  ...fields,
});

const create = (plural: string, body: object) =>
  custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, body });

/** The API server's message for a rejected create. */
async function rejection(plural: string, body: object): Promise<string> {
  try {
    await create(plural, body);
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    expect(err.code).toBe(422);
    return JSON.parse(err.body as string).message;
  }
  throw new Error("the API server accepted it");
}

describe("CRDs on a real API server", () => {
  it("are established with names, short names, status subresource and printer columns", async () => {
    const crds = await applyCrds(kubeConfig);
    expect(crds.map((c) => [c.spec.names.plural, c.spec.names.shortNames])).toEqual([
      [MOUNT_PLURAL, ["gbridgemount"]],
      [BRIDGE_PLURAL, ["gbridge"]],
    ]);
    for (const crd of crds) {
      const version = crd.spec.versions[0]!;
      expect(version.subresources?.status).toEqual({});
      expect(version.additionalPrinterColumns!.map((c) => c.name)).toEqual(
        expect.arrayContaining(["State", "Ready", "Age"]),
      );
    }
  });

  it("accept a valid mount, defaulting the provider, and return it unchanged", async () => {
    const tls = { tls: { certificate: "/etc/tls/tls.crt", key: { secret: { namespace: "demo", name: "tls", key: "tls.key" } } } };
    const created = await create(MOUNT_PLURAL, mount("valid", { providerParameter: tls, missingGracePeriod: 60 }));
    expect(created).toMatchObject({ ...mount("valid"), provider: "carrier2mount", providerParameter: tls, missingGracePeriod: 60 });
    const perPort = { "8443": { tls: { certificate: "/c", key: "/k", sni: "example.com" } } };
    expect(await create(MOUNT_PLURAL, mount("per-port", { providerParameter: perPort }))).toMatchObject({ providerParameter: perPort });
  });

  it.each([
    ["target", { target: "service/backend" }],
    ["target", { target: "deployment/Backend" }],
    ["targetNamespace", { targetNamespace: "Not_A_Namespace" }],
    ["provider", { provider: "carrier" }],
    ["state", { state: "SLEEPING" }],
    ["providerParameter", { providerParameter: { web: { tls: { certificate: "/c", key: "/k" } } } }],
    ["providerParameter", { providerParameter: { "8443": { certificate: "/c", key: "/k" } } }],
    ["providerParameter", { providerParameter: { "8443": { tls: { certificate: "/c" } } } }],
  ])("reject a mount with an invalid %s, naming the field", async (field, fields) => {
    expect(await rejection(MOUNT_PLURAL, mount(`invalid-${++names}`, fields))).toContain(field);
  });

  it("reject a mount without a target container", async () => {
    const { targetContainer: _, ...body } = mount("no-container");
    expect(await rejection(MOUNT_PLURAL, body)).toMatch(/targetContainer: Required value/);
  });

  it("keep a mount's target immutable", async () => {
    await create(MOUNT_PLURAL, mount("immutable"));
    const patch = custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace, plural: MOUNT_PLURAL, name: "immutable", body: { target: "deployment/other" } },
      mergePatch,
    );
    await expect(patch).rejects.toMatchObject({ code: 422, body: expect.stringContaining("target is immutable") });
  });

  it("write status only through the status subresource", async () => {
    const ref = { group: GROUP, version: VERSION, namespace, plural: MOUNT_PLURAL, name: "with-status" };
    const status = { observedGeneration: 1, conditions: [] };
    const created = await create(MOUNT_PLURAL, { ...mount("with-status"), status });
    expect(created.status).toBeUndefined();
    const updated = await custom.patchNamespacedCustomObjectStatus({ ...ref, body: { status } }, mergePatch);
    expect(updated.status).toEqual(status);
  });

  it("accept a valid bridge and keep its rules as given", async () => {
    const fields = {
      providerParameter: { rules: [{ match: [{ matchHeader: { name: "x-gefyra", value: "user-1" } }] }] },
      connectionProvider: "stowaway",
      targetNamespace: "demo",
      targetContainer: "app",
      client: "user-1",
      destinationIP: "192.168.99.2",
      portMappings: ["8080:80"],
      clusterEndpoint: { "80": "user-1.gefyra.svc.cluster.local:8080" },
    };
    expect(await create(BRIDGE_PLURAL, bridge("valid", fields))).toMatchObject({ ...fields, provider: "carrier2" });
  });

  it.each([
    ["destinationIP", { destinationIP: "not-an-ip" }],
    ["portMappings", { portMappings: ["8080"] }],
    ["clusterEndpoint", { clusterEndpoint: { http: "host:80" } }],
    ["clusterEndpoint", { clusterEndpoint: { "80": "no-port" } }],
    ["target", { target: "Not/A/Mount" }],
  ])("reject a bridge with an invalid %s, naming the field", async (field, fields) => {
    expect(await rejection(BRIDGE_PLURAL, bridge(`invalid-${++names}`, fields))).toContain(field);
  });
});
