/**
 * Kubernetes Events about the objects the operator manages (`kubectl describe gbridgemount X`).
 * Recording is best effort: a failed Event is logged, never fails a reconcile.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { CoreV1Api, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { describeError } from "../errors.ts";
import { CONTROLLER_NAME } from "../labels.ts";
import type { Logger } from "../log.ts";

export type EventType = "Normal" | "Warning";

export interface EventRecorder {
  record(object: KubernetesObject, type: EventType, reason: string, message: string): Promise<void>;
}

export function eventRecorder(kubeConfig: KubeConfig, log: Logger): EventRecorder {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const instance = `${CONTROLLER_NAME}-${hostname()}`;
  return {
    async record(object, type, reason, message) {
      const { name, namespace, uid, resourceVersion } = object.metadata!;
      const now = new Date();
      try {
        await core.createNamespacedEvent({
          namespace: namespace!,
          body: {
            metadata: { name: `${name}.${randomBytes(8).toString("hex")}`, namespace },
            involvedObject: { apiVersion: object.apiVersion, kind: object.kind, name, namespace, uid, resourceVersion },
            type,
            reason,
            message,
            action: reason,
            count: 1,
            firstTimestamp: now,
            lastTimestamp: now,
            source: { component: CONTROLLER_NAME },
            reportingComponent: CONTROLLER_NAME,
            reportingInstance: instance,
          },
        });
      } catch (err) {
        log.warn("event not recorded", { object: `${namespace}/${name}`, reason, error: describeError(err) });
      }
    },
  };
}
