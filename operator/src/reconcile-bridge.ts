/**
 * GefyraBridge reconcile (level-triggered). For now it checks what a bridge depends on and reports
 * it: the mount it names must exist in the bridge's namespace, agree on the target namespace, and be
 * ACTIVE before routes could be pushed. Pushing the route table to Carrier2 is not implemented yet,
 * and the bridge's Ready condition says so. (No finalizer: deleting a bridge needs no cleanup until
 * route tables exist; then the mount's route table is rebuilt from the bridges that remain.)
 */
import type { ObjectKey, ReconcileResult } from "./controller/controller.ts";
import type { BridgeState, GefyraBridge, GefyraBridgeMount } from "./crds.ts";
import type { ReconcileContext } from "./reconcile-mount.ts";
import type { Report } from "./status.ts";

export async function reconcileBridge(ctx: ReconcileContext, key: ObjectKey): Promise<ReconcileResult> {
  const bridge = await ctx.api.bridges.get(key.namespace, key.name);
  if (!bridge || bridge.metadata.deletionTimestamp) return;
  const mount = await ctx.api.mounts.get(key.namespace, bridge.target);
  const report = bridgeReport(bridge, mount);
  const previous = bridge.status?.conditions?.find((c) => c.type === "Ready");
  await ctx.api.bridges.report(bridge, report, ctx.now());
  const ready = report.conditions[0]!;
  if (previous?.reason !== ready.reason) {
    await ctx.events.record(bridge, report.state === "ERROR" ? "Warning" : "Normal", ready.reason, ready.message);
  }
}

/** What a bridge's state and Ready condition are, given its mount (pure). */
export function bridgeReport(bridge: GefyraBridge, mount: GefyraBridgeMount | undefined): Report<BridgeState> {
  const waiting = (reason: string, message: string): Report<BridgeState> => ({
    state: "REQUESTED",
    conditions: [{ type: "Ready", status: "False", reason, message }],
  });
  const name = `GefyraBridgeMount ${bridge.metadata.namespace}/${bridge.target}`;
  if (!mount) return waiting("MountNotFound", `${name} not found`);
  if (mount.metadata.deletionTimestamp) return waiting("MountDeleting", `${name} is being deleted`);
  if (bridge.targetNamespace && bridge.targetNamespace !== mount.targetNamespace) {
    return {
      state: "ERROR",
      conditions: [
        {
          type: "Ready",
          status: "False",
          reason: "TargetNamespaceMismatch",
          message: `targetNamespace ${bridge.targetNamespace} differs from the mount's ${mount.targetNamespace}`,
        },
      ],
    };
  }
  if (mount.state !== "ACTIVE") return waiting("MountNotActive", `${name} is ${mount.state ?? "not yet seen"}, not ACTIVE`);
  return waiting("RoutesNotImplemented", "pushing this bridge's routes to Carrier2 is not implemented yet");
}
