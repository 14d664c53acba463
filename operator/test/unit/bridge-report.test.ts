import { describe, expect, it } from "vitest";
import type { GefyraBridge, GefyraBridgeMount } from "../../src/crds.ts";
import { bridgeReport } from "../../src/reconcile-bridge.ts";

const bridge: GefyraBridge = {
  apiVersion: "gefyra.dev/v1",
  kind: "GefyraBridge",
  metadata: { name: "user-1", namespace: "gefyra" },
  provider: "carrier2",
  target: "backend-mount",
  targetNamespace: "demo",
};
const mount = (state?: GefyraBridgeMount["state"]): GefyraBridgeMount => ({
  apiVersion: "gefyra.dev/v1",
  kind: "GefyraBridgeMount",
  metadata: { name: "backend-mount", namespace: "gefyra" },
  provider: "carrier2mount",
  target: "deployment/backend",
  targetNamespace: "demo",
  targetContainer: "app",
  ...(state && { state }),
});
const reason = (b: GefyraBridge, m?: GefyraBridgeMount) => {
  const report = bridgeReport(b, m);
  return [report.state, report.conditions[0]!.reason];
};

describe("bridgeReport", () => {
  it("waits for its mount to exist and to be ACTIVE", () => {
    expect(reason(bridge)).toEqual(["REQUESTED", "MountNotFound"]);
    expect(reason(bridge, mount("PREPARING"))).toEqual(["REQUESTED", "MountNotActive"]);
    expect(reason(bridge, { ...mount(), metadata: { ...mount().metadata, deletionTimestamp: new Date() } })).toEqual([
      "REQUESTED",
      "MountDeleting",
    ]);
  });

  it("is an error when it names another target namespace than its mount", () => {
    expect(reason({ ...bridge, targetNamespace: "other" }, mount("ACTIVE"))).toEqual(["ERROR", "TargetNamespaceMismatch"]);
  });

  it("says honestly that routes are not pushed yet", () => {
    expect(reason(bridge, mount("ACTIVE"))).toEqual(["REQUESTED", "RoutesNotImplemented"]);
  });
});
