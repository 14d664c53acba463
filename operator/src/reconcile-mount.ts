/**
 * GefyraBridgeMount reconcile (level-triggered: gets namespace/name, reads the world, makes it right).
 *
 *   read mount ── gone ──────────────────────────────► done
 *     │ being deleted ──► delete its shadow objects ─► drop finalizer ─► done
 *     ▼
 *   ensure finalizer; first time: state REQUESTED
 *     ▼
 *   read target Deployment ── missing ──► delete shadow objects, state MISSING, look again later
 *     ▼
 *   create/update/delete shadow Deployment, Service, HPA copies (desired-shadow.ts), state PREPARING
 *     ▼
 *   write state + conditions (only what changed)
 *
 * Not implemented yet (the mount says so in its Ready condition): swapping the target container's
 * image to Carrier2 and pushing its config (INSTALLING → ACTIVE).
 */
import { randomUUID } from "node:crypto";
import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import type { ObjectKey, ReconcileResult } from "./controller/controller.ts";
import type { GefyraBridgeMount, MountState } from "./crds.ts";
import {
  desiredShadowDeployment,
  desiredShadowHpa,
  desiredShadowService,
  type MountRef,
  scalesDeployment,
  shadowName,
} from "./desired-shadow.ts";
import { describeError, isAlreadyExists, isConflict, OperatorError } from "./errors.ts";
import type { ChildClient, KubeApi } from "./kube/api.ts";
import type { EventRecorder } from "./kube/events.ts";
import { DESIRED_HASH_ANNOTATION, DUPLICATION_ID_LABEL, MOUNT_FINALIZER, MOUNT_UID_LABEL } from "./labels.ts";
import type { Logger } from "./log.ts";
import type { ConditionInput, Report } from "./status.ts";
import { parseTarget } from "./target.ts";

export interface ReconcileContext {
  api: KubeApi;
  events: EventRecorder;
  log: Logger;
  now: () => Date;
  /** A fresh duplication id for a new shadow workload. */
  newId: () => string;
}

export const defaultIds = { now: () => new Date(), newId: () => randomUUID() };

/** How often to look at a mount whose target or shadow is not there yet (Deployments are not watched). */
export const RECHECK_MS = 15_000;

export async function reconcileMount(ctx: ReconcileContext, key: ObjectKey): Promise<ReconcileResult> {
  const { api } = ctx;
  let mount = await api.mounts.get(key.namespace, key.name);
  if (!mount) return;
  if (mount.metadata.deletionTimestamp) return finalize(ctx, mount);

  const finalizers = mount.metadata.finalizers ?? [];
  if (!finalizers.includes(MOUNT_FINALIZER)) {
    mount = await api.mounts.patch(mount, { metadata: { finalizers: [...finalizers, MOUNT_FINALIZER] } });
  }
  if (mount.state === undefined) {
    mount = await api.mounts.report(mount, requested, ctx.now());
  }

  try {
    const { report, requeueAfterMs } = await ensureShadow(ctx, mount);
    await api.mounts.report(mount, report, ctx.now());
    return { requeueAfterMs };
  } catch (err) {
    if (isConflict(err)) throw err; // someone wrote meanwhile: retry against the new version
    await reportFailure(ctx, mount, err);
    throw err;
  }
}

const requested: Report<MountState> = {
  state: "REQUESTED",
  conditions: [{ type: "Ready", status: "False", reason: "Requested", message: "seen by the operator" }],
};

async function ensureShadow(
  ctx: ReconcileContext,
  mount: GefyraBridgeMount,
): Promise<{ report: Report<MountState>; requeueAfterMs?: number }> {
  const { api } = ctx;
  const target = parseTarget(mount.target);
  if (target.kind !== "deployment") {
    throw new OperatorError("OP_TARGET_KIND_UNSUPPORTED", `${target.kind}/${target.name}`);
  }
  const namespace = mount.targetNamespace;
  const ref: MountRef = { namespace: mount.metadata.namespace, name: mount.metadata.name, uid: mount.metadata.uid! };
  const original = await api.deployments.get(namespace, target.name);
  if (!original) {
    await deleteShadow(ctx, mount);
    const message = `deployment ${namespace}/${target.name} not found`;
    return {
      report: { state: "MISSING", conditions: [notReady("TargetNotFound", message), shadowCondition("False", "TargetNotFound", message)] },
      requeueAfterMs: RECHECK_MS,
    };
  }

  // Keep the duplication id of an existing shadow: a new one would orphan its pods from the Service.
  const existing = await api.deployments.get(namespace, shadowName(target.name));
  const duplicationId =
    (existing?.metadata?.labels?.[MOUNT_UID_LABEL] === ref.uid && existing.metadata.labels[DUPLICATION_ID_LABEL]) ||
    ctx.newId();
  const hpas = (await api.hpas.list(namespace, "")).filter(
    (h) => scalesDeployment(h, target.name) && h.metadata?.labels?.[MOUNT_UID_LABEL] === undefined,
  );
  const deployment = desiredShadowDeployment(original, ref, duplicationId);
  const service = desiredShadowService(original, mount.targetContainer, ref, duplicationId);

  const [shadow] = await syncChildren(ctx, mount, api.deployments, [deployment]);
  await syncChildren(ctx, mount, api.services, [service]);
  await syncChildren(
    ctx,
    mount,
    api.hpas,
    hpas.map((h) => desiredShadowHpa(h, ref)),
  );

  const names = `deployment ${namespace}/${deployment.metadata!.name} and service ${service.metadata!.name}`;
  const ready = shadowReady(shadow!);
  return {
    report: {
      state: "PREPARING",
      conditions: [
        notReady(
          "CarrierNotInstalled",
          `${names} are in place; replacing the target container with Carrier2 is not implemented yet`,
        ),
        shadowCondition(ready.ok ? "True" : "False", ready.ok ? "ShadowReady" : "ShadowNotReady", `${ready.message} (${names})`),
      ],
    },
    ...(ready.ok ? {} : { requeueAfterMs: RECHECK_MS }),
  };
}

function shadowReady(shadow: V1Deployment): { ok: boolean; message: string } {
  const wanted = shadow.spec?.replicas ?? 1;
  const ready = shadow.status?.readyReplicas ?? 0;
  return { ok: ready >= wanted, message: `${ready}/${wanted} shadow pods ready` };
}

const notReady = (reason: string, message: string): ConditionInput => ({ type: "Ready", status: "False", reason, message });
const shadowCondition = (status: "True" | "False", reason: string, message: string): ConditionInput => ({
  type: "ShadowReady",
  status,
  reason,
  message,
});

/**
 * Make the mount's children of one kind in its target namespace exactly `desired`: create the
 * missing, replace those whose desired hash changed, delete the rest. Returns the objects as stored.
 */
async function syncChildren<T extends KubernetesObject>(
  ctx: ReconcileContext,
  mount: GefyraBridgeMount,
  client: ChildClient<T>,
  desired: T[],
): Promise<T[]> {
  const existing = await client.list(mount.targetNamespace, `${MOUNT_UID_LABEL}=${mount.metadata.uid}`);
  const result: T[] = [];
  for (const object of desired) {
    const name = object.metadata!.name!;
    const current = existing.find((e) => e.metadata!.name === name);
    const where = `${client.kind} ${mount.targetNamespace}/${name}`;
    if (!current) {
      try {
        result.push(await client.create(object));
      } catch (err) {
        if (isAlreadyExists(err)) throw new OperatorError("OP_SHADOW_NAME_TAKEN", where, err);
        throw err;
      }
      await ctx.events.record(mount, "Normal", "ShadowCreated", `created ${where}`);
    } else if (hashOf(current) !== hashOf(object)) {
      result.push(await client.replace(current, object));
      await ctx.events.record(mount, "Normal", "ShadowUpdated", `updated ${where}`);
    } else {
      result.push(current);
    }
  }
  for (const stale of existing.filter((e) => !desired.some((d) => d.metadata!.name === e.metadata!.name))) {
    await client.delete(stale);
    await ctx.events.record(mount, "Normal", "ShadowDeleted", `deleted ${client.kind} ${mount.targetNamespace}/${stale.metadata!.name}`);
  }
  return result;
}

const hashOf = (object: KubernetesObject) => object.metadata?.annotations?.[DESIRED_HASH_ANNOTATION];

async function deleteShadow(ctx: ReconcileContext, mount: GefyraBridgeMount): Promise<void> {
  await syncChildren(ctx, mount, ctx.api.hpas, []);
  await syncChildren(ctx, mount, ctx.api.services, []);
  await syncChildren(ctx, mount, ctx.api.deployments, []);
}

async function finalize(ctx: ReconcileContext, mount: GefyraBridgeMount): Promise<undefined> {
  const finalizers = mount.metadata.finalizers ?? [];
  if (!finalizers.includes(MOUNT_FINALIZER)) return;
  await deleteShadow(ctx, mount);
  await ctx.api.mounts.patch(mount, { metadata: { finalizers: finalizers.filter((f) => f !== MOUNT_FINALIZER) } });
  ctx.log.info("mount cleaned up", { mount: `${mount.metadata.namespace}/${mount.metadata.name}` });
}

/** Put a failed reconcile into the mount's Ready condition (and an Event, once per new message). */
async function reportFailure(ctx: ReconcileContext, mount: GefyraBridgeMount, err: unknown): Promise<void> {
  const terminal = err instanceof OperatorError && !err.retryable;
  const reason = err instanceof OperatorError ? err.reason : "ReconcileError";
  const message = describeError(err);
  const previous = mount.status?.conditions?.find((c) => c.type === "Ready");
  try {
    await ctx.api.mounts.report(
      mount,
      { state: terminal ? "ERROR" : (mount.state ?? "REQUESTED"), conditions: [notReady(reason, message)] },
      ctx.now(),
    );
  } catch (reportErr) {
    ctx.log.warn("could not report failure", { error: describeError(reportErr) });
  }
  if (previous?.message !== message) await ctx.events.record(mount, "Warning", reason, message);
}
