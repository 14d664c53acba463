/**
 * Thin adapters over @kubernetes/client-node: just the calls the reconciles make, with "not found"
 * turned into `undefined` and every write carrying the operator's field manager. No reconcile logic here.
 * Every call here needs a rule in rbac.ts (deploy/operator/rbac.yaml); test/integration/rbac.test.ts
 * runs the operator as its ServiceAccount to prove the rules suffice.
 */
import {
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Service,
  type V2HorizontalPodAutoscaler,
} from "@kubernetes/client-node";
import { BRIDGE_PLURAL, GROUP, type GefyraBridge, type GefyraBridgeMount, MOUNT_PLURAL, VERSION } from "../crds.ts";
import { isNotFound } from "../errors.ts";
import { CONTROLLER_NAME } from "../labels.ts";
import { type Report, type Reported, reportChanges } from "../status.ts";

const fieldManager = CONTROLLER_NAME;
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const applyPatch = setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply);
type PatchOptions = typeof mergePatch;

async function orUndefined<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

type CustomResource = KubernetesObject & Reported<string> & { metadata: { name: string; namespace: string } };

/** A gefyra.dev custom resource kind in one API group version. */
export class CustomResourceClient<T extends CustomResource> {
  readonly #api: CustomObjectsApi;
  readonly #plural: string;

  constructor(kubeConfig: KubeConfig, plural: string) {
    this.#api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.#plural = plural;
  }

  /** `/apis/<group>/<version>/namespaces/<ns>/<plural>`: the watch path for informers. */
  path(namespace: string): string {
    return `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${this.#plural}`;
  }

  get(namespace: string, name: string): Promise<T | undefined> {
    return orUndefined(this.#api.getNamespacedCustomObject({ ...this.#ref(namespace), name }));
  }

  async list(namespace: string): Promise<{ items: T[]; metadata?: { resourceVersion?: string } }> {
    return this.#api.listNamespacedCustomObject({ ...this.#ref(namespace) });
  }

  /** JSON merge patch of the main resource, failing with 409 if `object` is no longer current. */
  patch(object: T, body: Record<string, unknown>): Promise<T> {
    const { name, namespace, resourceVersion } = object.metadata;
    return this.#api.patchNamespacedCustomObject(
      { ...this.#ref(namespace), name, body: { ...body, metadata: { ...(body["metadata"] as object), resourceVersion } }, fieldManager },
      mergePatch,
    );
  }

  /** Write the state/conditions report; each part only when it changed. Returns the object as written. */
  async report(object: T, report: Report<NonNullable<T["state"]>>, now: Date): Promise<T> {
    let current = object;
    const { object: top } = reportChanges(current, report, current.metadata.generation ?? 0, now);
    // `state` is a top-level field, so writing it bumps metadata.generation: observe the new one.
    if (top) current = await this.patch(current, top);
    const { status } = reportChanges(current, report, current.metadata.generation ?? 0, now);
    if (!status) return current;
    const { name, namespace, resourceVersion } = current.metadata;
    return this.#api.patchNamespacedCustomObjectStatus(
      { ...this.#ref(namespace), name, body: { metadata: { resourceVersion }, status }, fieldManager },
      mergePatch,
    );
  }

  #ref(namespace: string) {
    return { group: GROUP, version: VERSION, namespace, plural: this.#plural };
  }
}

/** A built-in kind the operator creates in workload namespaces (shadow Deployment, Service, HPA). */
export interface ChildClient<T extends KubernetesObject> {
  readonly kind: string;
  get(namespace: string, name: string): Promise<T | undefined>;
  list(namespace: string, labelSelector: string): Promise<T[]>;
  /**
   * Server-side apply `object` (the complete desired state) as the operator's field manager,
   * creating it if missing. Every field `object` sets is then owned by the operator; with `force`,
   * it takes the value in `object` even if someone else changed it since (drift is reverted), without
   * `force` such a field fails the call with 409. Fields the operator set before and `object` no
   * longer sets are removed; fields only others set are left alone.
   */
  apply(object: T, options: { force: boolean }): Promise<T>;
  /**
   * Replace `existing` with `object` (optimistic: 409 if `existing` is stale): for what an apply
   * cannot do, remove fields someone else added. The fields the replace changed are then the
   * operator's through an Update entry in managedFields, which later applies could not remove;
   * the entry is dropped, so that the next apply takes them over alone.
   */
  replace(existing: T, object: T): Promise<T>;
  /** Delete exactly this object (precondition on its uid); already gone is fine. */
  delete(existing: T): Promise<void>;
}

interface Ops<T> {
  read(p: { namespace: string; name: string }): Promise<T>;
  list(p: { namespace: string; labelSelector: string }): Promise<{ items: T[] }>;
  /** The typed client's patch; the kind of patch is in `options` (applyPatch, mergePatch). */
  patch(p: { namespace: string; name: string; body: object; fieldManager: string; force?: boolean }, options: PatchOptions): Promise<T>;
  replace(p: { namespace: string; name: string; body: T; fieldManager: string }): Promise<T>;
  delete(p: { namespace: string; name: string; propagationPolicy: string; body: { preconditions: { uid?: string } } }): Promise<unknown>;
}

function childClient<T extends KubernetesObject>(kind: string, ops: Ops<T>): ChildClient<T> {
  const key = (o: T) => ({ namespace: o.metadata!.namespace!, name: o.metadata!.name! });
  return {
    kind,
    get: (namespace, name) => orUndefined(ops.read({ namespace, name })),
    list: async (namespace, labelSelector) => (await ops.list({ namespace, labelSelector })).items,
    apply: (object, { force }) => ops.patch({ ...key(object), body: object, fieldManager, force }, applyPatch),
    replace: async (existing, object) => {
      const { resourceVersion } = existing.metadata!;
      const body = { ...object, metadata: { ...object.metadata, resourceVersion } };
      const replaced = await ops.replace({ ...key(existing), body, fieldManager });
      const managedFields = replaced.metadata!.managedFields ?? [];
      const kept = managedFields.filter((m) => !(m.manager === fieldManager && m.operation === "Update"));
      if (kept.length === managedFields.length) return replaced;
      const metadata = { managedFields: kept, resourceVersion: replaced.metadata!.resourceVersion };
      return ops.patch({ ...key(existing), body: { metadata }, fieldManager }, mergePatch);
    },
    delete: async (existing) => {
      const request = { ...key(existing), propagationPolicy: "Background", body: { preconditions: { uid: existing.metadata!.uid } } };
      await orUndefined(ops.delete(request));
    },
  };
}

export interface KubeApi {
  mounts: CustomResourceClient<GefyraBridgeMount>;
  bridges: CustomResourceClient<GefyraBridge>;
  deployments: ChildClient<V1Deployment>;
  services: ChildClient<V1Service>;
  hpas: ChildClient<V2HorizontalPodAutoscaler>;
}

export function kubeApi(kubeConfig: KubeConfig): KubeApi {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const autoscaling = kubeConfig.makeApiClient(AutoscalingV2Api);
  return {
    mounts: new CustomResourceClient<GefyraBridgeMount>(kubeConfig, MOUNT_PLURAL),
    bridges: new CustomResourceClient<GefyraBridge>(kubeConfig, BRIDGE_PLURAL),
    deployments: childClient<V1Deployment>("Deployment", {
      read: (p) => apps.readNamespacedDeployment(p),
      list: (p) => apps.listNamespacedDeployment(p),
      patch: (p, options) => apps.patchNamespacedDeployment(p, options),
      replace: (p) => apps.replaceNamespacedDeployment(p),
      delete: (p) => apps.deleteNamespacedDeployment(p),
    }),
    services: childClient<V1Service>("Service", {
      read: (p) => core.readNamespacedService(p),
      list: (p) => core.listNamespacedService(p),
      patch: (p, options) => core.patchNamespacedService(p, options),
      replace: (p) => core.replaceNamespacedService(p),
      delete: (p) => core.deleteNamespacedService(p),
    }),
    hpas: childClient<V2HorizontalPodAutoscaler>("HorizontalPodAutoscaler", {
      read: (p) => autoscaling.readNamespacedHorizontalPodAutoscaler(p),
      list: (p) => autoscaling.listNamespacedHorizontalPodAutoscaler(p),
      patch: (p, options) => autoscaling.patchNamespacedHorizontalPodAutoscaler(p, options),
      replace: (p) => autoscaling.replaceNamespacedHorizontalPodAutoscaler(p),
      delete: (p) => autoscaling.deleteNamespacedHorizontalPodAutoscaler(p),
    }),
  };
}
