/**
 * The shadow of a mounted workload, built without touching the cluster: a copy of the original
 * Deployment (`<name>-gefyra`) that keeps serving cluster traffic while Carrier2 takes over the
 * original pods, the Service `<workload>-<container>-gefyra-svc` in front of it, and copies of the
 * HPAs that scale the original. Gefyra's rules (shared/gefyra-compat.md §3): every label value
 * carries `-gefyra` (selector and pod template too, so the original's Services never select shadow
 * pods), plus a fresh `bridge.gefyra.dev/duplication-id` that the shadow Service selects on.
 *
 * Each builder returns the complete state the operator owns, to be server-side applied: whatever it
 * sets is restored on the next reconcile if someone changes it by hand; what it leaves out is not
 * the operator's (the API server's defaults, other controllers' fields).
 */
import type {
  KubernetesObject,
  V1Deployment,
  V1LabelSelector,
  V1ObjectMeta,
  V1Service,
  V1ServicePort,
  V2HorizontalPodAutoscaler,
} from "@kubernetes/client-node";
import { OperatorError } from "./errors.ts";
import {
  DROPPED_ANNOTATIONS,
  DUPLICATION_ID_LABEL,
  MOUNT_ANNOTATION,
  MOUNT_UID_LABEL,
  SHADOW_SUFFIX,
} from "./labels.ts";

/** The mount a shadow belongs to. */
export interface MountRef {
  namespace: string;
  name: string;
  uid: string;
}

export const shadowName = (workload: string): string => workload + SHADOW_SUFFIX;
export const shadowServiceName = (workload: string, container: string): string =>
  `${workload}-${container}${SHADOW_SUFFIX}-svc`;

/** The value of a shadow's `bridge.gefyra.dev/mount` annotation: `<namespace>/<name>` of its mount. */
const mountAnnotation = (mount: MountRef): string => `${mount.namespace}/${mount.name}`;

/**
 * Is this object a shadow of the mount? By its mount-uid label, or by its mount annotation should
 * someone have removed or changed the label by hand (the next apply writes it back). An object with
 * neither is someone else's, even if it has the shadow's name.
 */
export function isShadowOf(object: KubernetesObject, mount: MountRef): boolean {
  const { labels, annotations } = object.metadata ?? {};
  return labels?.[MOUNT_UID_LABEL] === mount.uid || annotations?.[MOUNT_ANNOTATION] === mountAnnotation(mount);
}

const MAX_LABEL_VALUE = 63;

/** `app: web` → `app: web-gefyra`. An empty value becomes `gefyra` (a value may not start with `-`). */
export function suffixLabels(labels: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels ?? {})) out[key] = suffixValue(key, value);
  return out;
}

function suffixValue(key: string, value: string): string {
  const suffixed = value === "" ? SHADOW_SUFFIX.slice(1) : value + SHADOW_SUFFIX;
  if (suffixed.length > MAX_LABEL_VALUE) {
    throw new OperatorError("OP_SHADOW_LABEL_INVALID", `${key}=${value} would exceed ${MAX_LABEL_VALUE} characters`);
  }
  return suffixed;
}

function suffixSelector(selector: V1LabelSelector, duplicationId: string): V1LabelSelector {
  return {
    matchLabels: { ...suffixLabels(selector.matchLabels), [DUPLICATION_ID_LABEL]: duplicationId },
    ...(selector.matchExpressions && {
      matchExpressions: selector.matchExpressions.map((e) => ({
        ...e,
        ...(e.values && { values: e.values.map((v) => suffixValue(e.key, v)) }),
      })),
    }),
  };
}

/** Labels and annotations that tie a shadow object to its mount. */
function shadowMeta(original: V1ObjectMeta, name: string, mount: MountRef, extraLabels: Record<string, string>) {
  const annotations = { ...original.annotations };
  for (const key of DROPPED_ANNOTATIONS) delete annotations[key];
  return {
    name,
    namespace: original.namespace,
    labels: { ...suffixLabels(original.labels), ...extraLabels, [MOUNT_UID_LABEL]: mount.uid },
    annotations: { ...annotations, [MOUNT_ANNOTATION]: mountAnnotation(mount) },
  } satisfies V1ObjectMeta;
}

/**
 * The shadow Deployment: the original's spec with suffixed labels and the duplication id. When a copy
 * of an HPA scales the shadow, pass the shadow's current replica count as `scaledReplicas`: the
 * replicas are then the HPA's to set, and applying the original's would undo its scaling.
 */
export function desiredShadowDeployment(
  original: V1Deployment,
  mount: MountRef,
  duplicationId: string,
  scaledReplicas?: number,
): V1Deployment {
  const spec = structuredClone(original.spec!);
  const template = spec.template;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: shadowMeta(original.metadata!, shadowName(original.metadata!.name!), mount, {
      [DUPLICATION_ID_LABEL]: duplicationId,
    }),
    spec: {
      ...spec,
      ...(scaledReplicas !== undefined && { replicas: scaledReplicas }),
      selector: suffixSelector(spec.selector, duplicationId),
      template: {
        ...template,
        metadata: {
          ...template.metadata,
          labels: { ...suffixLabels(template.metadata?.labels), [DUPLICATION_ID_LABEL]: duplicationId },
        },
      },
    },
  };
}

/** One port per port of the target container, selecting the shadow's pods by duplication id. */
export function desiredShadowService(
  original: V1Deployment,
  container: string,
  mount: MountRef,
  duplicationId: string,
): V1Service {
  const workload = original.metadata!.name!;
  const containers = original.spec!.template.spec?.containers ?? [];
  const target = containers.find((c) => c.name === container);
  if (!target) {
    const names = containers.map((c) => c.name).join(", ");
    throw new OperatorError("OP_TARGET_CONTAINER_NOT_FOUND", `deployment/${workload} has ${names}, not ${container}`);
  }
  const ports: V1ServicePort[] = (target.ports ?? []).map((p) => {
    const protocol = p.protocol ?? "TCP";
    return { name: p.name ?? `${protocol.toLowerCase()}-${p.containerPort}`, protocol, port: p.containerPort, targetPort: p.containerPort };
  });
  if (ports.length === 0) {
    throw new OperatorError("OP_TARGET_NO_PORTS", `container ${container} of deployment/${workload}`);
  }
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: shadowServiceName(workload, container),
      namespace: original.metadata!.namespace,
      labels: { [MOUNT_UID_LABEL]: mount.uid, [DUPLICATION_ID_LABEL]: duplicationId },
      annotations: { [MOUNT_ANNOTATION]: mountAnnotation(mount) },
    },
    spec: { type: "ClusterIP", selector: { [DUPLICATION_ID_LABEL]: duplicationId }, ports },
  };
}

/** Does this HPA scale the given Deployment? */
export function scalesDeployment(hpa: V2HorizontalPodAutoscaler, deployment: string): boolean {
  const ref = hpa.spec?.scaleTargetRef;
  return ref?.kind === "Deployment" && ref.name === deployment && (ref.apiVersion ?? "apps/v1").startsWith("apps/");
}

/** A copy of an HPA of the original that scales the shadow instead. */
export function desiredShadowHpa(original: V2HorizontalPodAutoscaler, mount: MountRef): V2HorizontalPodAutoscaler {
  const spec = structuredClone(original.spec!);
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: shadowMeta(original.metadata!, shadowName(original.metadata!.name!), mount, {}),
    spec: { ...spec, scaleTargetRef: { ...spec.scaleTargetRef, name: shadowName(spec.scaleTargetRef.name) } },
  };
}
