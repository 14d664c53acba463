import { describe, expect, it } from "vitest";
import {
  desiredShadowDeployment,
  desiredShadowHpa,
  desiredShadowService,
  isShadowOf,
  scalesDeployment,
  suffixLabels,
} from "../../src/desired-shadow.ts";
import { OperatorError } from "../../src/errors.ts";
import { backendDeployment, backendHpa } from "../fixtures.ts";

const mount = { namespace: "gefyra", name: "backend-mount", uid: "0b7e1c0e-0000-4000-8000-000000000001" };
const id = "dup-1";

describe("desiredShadowDeployment", () => {
  const shadow = desiredShadowDeployment(backendDeployment("demo"), mount, id);

  it("is named <name>-gefyra in the original's namespace", () => {
    expect(shadow.metadata).toMatchObject({ name: "backend-gefyra", namespace: "demo" });
  });

  it("suffixes every label value and adds the duplication id and the mount's uid", () => {
    expect(shadow.metadata!.labels).toEqual({
      app: "backend-gefyra",
      tier: "api-gefyra",
      "bridge.gefyra.dev/duplication-id": id,
      "bridge.gefyra.dev/mount-uid": mount.uid,
    });
    expect(shadow.spec!.selector).toEqual({
      matchLabels: { app: "backend-gefyra", "bridge.gefyra.dev/duplication-id": id },
      matchExpressions: [{ key: "tier", operator: "In", values: ["api-gefyra"] }],
    });
    expect(shadow.spec!.template.metadata!.labels).toEqual({
      app: "backend-gefyra",
      tier: "api-gefyra",
      "bridge.gefyra.dev/duplication-id": id,
    });
  });

  it("drops last-applied-configuration and revision, keeps other annotations, names its mount", () => {
    expect(shadow.metadata!.annotations).toEqual({
      "team.example.com/owner": "payments",
      "bridge.gefyra.dev/mount": "gefyra/backend-mount",
    });
    expect(shadow.spec!.template.metadata!.annotations).toEqual({ "prometheus.io/scrape": "true" });
  });

  it("keeps the pod spec and replicas, and does not touch the original", () => {
    const original = backendDeployment("demo");
    const copy = desiredShadowDeployment(original, mount, id);
    expect(copy.spec!.template.spec).toEqual(original.spec!.template.spec);
    expect(copy.spec!.replicas).toBe(2);
    expect(original).toEqual(backendDeployment("demo"));
  });

  it("keeps the replica count an HPA copy set, when given one", () => {
    expect(desiredShadowDeployment(backendDeployment("demo"), mount, id, 4).spec!.replicas).toBe(4);
  });
});

describe("isShadowOf", () => {
  const other = { ...mount, uid: "0b7e1c0e-0000-4000-8000-000000000002" };

  it("knows a mount's shadow by its mount-uid label, or by its mount annotation if the label was edited", () => {
    const labelled = desiredShadowDeployment(backendDeployment("demo"), mount, id);
    expect(isShadowOf(labelled, mount)).toBe(true);
    expect(isShadowOf({ metadata: { labels: { "bridge.gefyra.dev/mount-uid": mount.uid } } }, mount)).toBe(true);
    expect(isShadowOf({ metadata: { annotations: { "bridge.gefyra.dev/mount": "gefyra/backend-mount" } } }, mount)).toBe(true);
  });

  it("does not claim an object of another mount or of nobody", () => {
    expect(isShadowOf(desiredShadowDeployment(backendDeployment("demo"), { ...other, name: "other" }, id), mount)).toBe(false);
    expect(isShadowOf(backendDeployment("demo"), mount)).toBe(false);
    expect(isShadowOf({ metadata: {} }, mount)).toBe(false);
  });
});

describe("suffixLabels", () => {
  it("turns an empty value into 'gefyra' (a value may not start with '-')", () => {
    expect(suffixLabels({ a: "", b: "x" })).toEqual({ a: "gefyra", b: "x-gefyra" });
  });

  it("refuses a value that the suffix would make longer than 63 characters", () => {
    expect(() => suffixLabels({ app: "a".repeat(57) })).toThrow(OperatorError);
    expect(suffixLabels({ app: "a".repeat(56) })["app"]).toHaveLength(63);
  });
});

describe("desiredShadowService", () => {
  it("is <workload>-<container>-gefyra-svc selecting the duplication id, one port per container port", () => {
    const service = desiredShadowService(backendDeployment("demo"), "app", mount, id);
    expect(service.metadata).toMatchObject({
      name: "backend-app-gefyra-svc",
      namespace: "demo",
      labels: { "bridge.gefyra.dev/mount-uid": mount.uid, "bridge.gefyra.dev/duplication-id": id },
    });
    expect(service.spec).toEqual({
      type: "ClusterIP",
      selector: { "bridge.gefyra.dev/duplication-id": id },
      ports: [
        { name: "http", protocol: "TCP", port: 8080, targetPort: 8080 },
        { name: "udp-9090", protocol: "UDP", port: 9090, targetPort: 9090 },
      ],
    });
  });

  it("names the containers there are when the target container is not one of them", () => {
    expect(() => desiredShadowService(backendDeployment("demo"), "web", mount, id)).toThrow(
      /deployment\/backend has app, sidecar, not web/,
    );
  });

  it("refuses a container without ports", () => {
    const deployment = backendDeployment("demo");
    delete deployment.spec!.template.spec!.containers[1]!.ports;
    const err = (() => {
      try {
        desiredShadowService(deployment, "sidecar", mount, id);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toMatchObject({ code: "OP_TARGET_NO_PORTS", retryable: false });
  });
});

describe("desiredShadowHpa", () => {
  it("copies an HPA of the original as <name>-gefyra scaling the shadow", () => {
    const hpa = desiredShadowHpa(backendHpa("demo"), mount);
    expect(hpa.metadata).toMatchObject({
      name: "backend-gefyra",
      namespace: "demo",
      labels: { app: "backend-gefyra", "bridge.gefyra.dev/mount-uid": mount.uid },
    });
    expect(hpa.spec).toEqual({
      ...backendHpa("demo").spec,
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "backend-gefyra" },
    });
  });

  it("recognises only HPAs that scale that Deployment", () => {
    const hpa = backendHpa("demo");
    expect(scalesDeployment(hpa, "backend")).toBe(true);
    expect(scalesDeployment(hpa, "frontend")).toBe(false);
    hpa.spec!.scaleTargetRef.kind = "StatefulSet";
    expect(scalesDeployment(hpa, "backend")).toBe(false);
  });
});
