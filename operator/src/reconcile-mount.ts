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
 *   server-side apply shadow Deployment, Service, HPA copies (desired-shadow.ts), delete stale ones,
 *   state PREPARING
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
  isShadowOf,
  type MountRef,
  scalesDeployment,
  shadowName,
} from "./desired-shadow.ts";
import { apiStatus, describeError, isConflict, OperatorError } from "./errors.ts";
import type { ChildClient, KubeApi } from "./kube/api.ts";
import type { EventRecorder } from "./kube/events.ts";
import { DUPLICATION_ID_LABEL, MOUNT_FINALIZER, MOUNT_UID_LABEL } from "./labels.ts";
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
  const ref = mountRef(mount);
  const original = await api.deployments.get(namespace, target.name);
  if (!original) {
    await deleteShadow(ctx, mount);
    const message = `deployment ${namespace}/${target.name} not found`;
    return {
      report: { state: "MISSING", conditions: [notReady("TargetNotFound", message), shadowCondition("False", "TargetNotFound", message)] },
      requeueAfterMs: RECHECK_MS,
    };
  }

  // Keep the duplication id of our shadow, read from its selector (immutable, unlike its labels): a new
  // one would orphan its pods from the Service.
  const found = await api.deployments.get(namespace, shadowName(target.name));
  const existing = found && isShadowOf(found, ref) ? found : undefined;
  const duplicationId = existing?.spec?.selector.matchLabels?.[DUPLICATION_ID_LABEL] ?? ctx.newId();
  const hpas = (await api.hpas.list(namespace, "")).filter(
    (h) => scalesDeployment(h, target.name) && h.metadata?.labels?.[MOUNT_UID_LABEL] === undefined,
  );
  // With HPA copies, the shadow's replica count is theirs to set: keep what it is.
  const scaledReplicas = hpas.length > 0 ? existing?.spec?.replicas : undefined;
  const deployment = desiredShadowDeployment(original, ref, duplicationId, scaledReplicas);
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
 * Server-side apply `object`, forcing over our own `current`. Should the API server reject the
 * result as invalid because of what someone else added next to the operator's fields (say a port
 * that reuses the name of one of ours), replace the object, then apply to own its fields again.
 */
async function applyChild<T extends KubernetesObject>(client: ChildClient<T>, object: T, current: T | undefined): Promise<T> {
  try {
    return await client.apply(object, { force: current !== undefined });
  } catch (err) {
    if (current === undefined || apiStatus(err) !== 422) throw err;
    await client.replace(current, object);
    return client.apply(object, { force: true });
  }
}

const mountRef = (mount: GefyraBridgeMount): MountRef => ({
  namespace: mount.metadata.namespace,
  name: mount.metadata.name,
  uid: mount.metadata.uid!,
});

/**
 * Make the mount's children of one kind in its target namespace exactly `desired`: server-side apply
 * each (creating the missing; forcing over our own, so that hand edits of the fields the operator
 * sets are reverted), and delete the rest. Returns the objects as stored.
 *
 * An object with a desired name that is not the mount's (isShadowOf) is never touched. A new
 * object is applied without force: should someone create one of that name between the read and the
 * apply, the apply conflicts (409), and the retry finds it taken.
 */
async function syncChildren<T extends KubernetesObject>(
  ctx: ReconcileContext,
  mount: GefyraBridgeMount,
  client: ChildClient<T>,
  desired: T[],
): Promise<T[]> {
  const ref = mountRef(mount);
  const namespace = mount.targetNamespace;
  const existing = await client.list(namespace, `${MOUNT_UID_LABEL}=${ref.uid}`);
  const result: T[] = [];
  for (const object of desired) {
    const name = object.metadata!.name!;
    const where = `${client.kind} ${namespace}/${name}`;
    // Not listed: absent, someone else's, or ours with its mount-uid label edited away.
    const current = existing.find((e) => e.metadata!.name === name) ?? (await client.get(namespace, name));
    if (current && !isShadowOf(current, ref)) throw new OperatorError("OP_SHADOW_NAME_TAKEN", where);
    const stored = await applyChild(client, object, current);
    result.push(stored);
    if (!current) {
      await ctx.events.record(mount, "Normal", "ShadowCreated", `created ${where}`);
    } else if (stored.metadata!.resourceVersion !== current.metadata!.resourceVersion) {
      await ctx.events.record(mount, "Normal", "ShadowUpdated", `updated ${where}`);
    }
  }
  for (const stale of existing.filter((e) => !desired.some((d) => d.metadata!.name === e.metadata!.name))) {
    await client.delete(stale);
    await ctx.events.record(mount, "Normal", "ShadowDeleted", `deleted ${client.kind} ${namespace}/${stale.metadata!.name}`);
  }
  return result;
}

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
