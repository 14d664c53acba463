/**
 * The operator: one controller per kind, fed by list-watches of the operator's namespace (where
 * Gefyra keeps its GefyraBridgeMounts and GefyraBridges). A mount's change also wakes the bridges
 * that name it, since a bridge's state follows its mount's.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { Controller } from "./controller/controller.ts";
import type { BackoffOptions } from "./controller/queue.ts";
import { type Watch, watchKind } from "./controller/informer.ts";
import type { GefyraBridge, GefyraBridgeMount } from "./crds.ts";
import { kubeApi } from "./kube/api.ts";
import { eventRecorder } from "./kube/events.ts";
import { jsonLogger, type Logger } from "./log.ts";
import { reconcileBridge } from "./reconcile-bridge.ts";
import { defaultIds, type ReconcileContext, reconcileMount } from "./reconcile-mount.ts";

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** Where the GefyraBridgeMounts and GefyraBridges live (Gefyra's default: `gefyra`). */
  namespace: string;
  /** Every object is reconciled again this often, changed or not. */
  resyncMs?: number;
  log?: Logger;
  backoff?: BackoffOptions;
  /** Replaces parts of the reconcile context (tests wrap the API adapters). */
  context?: Partial<ReconcileContext>;
}

export interface Operator {
  mounts: Controller;
  bridges: Controller;
  stop(): Promise<void>;
}

export async function startOperator(options: OperatorOptions): Promise<Operator> {
  const { kubeConfig, namespace } = options;
  const log = options.log ?? jsonLogger();
  const api = kubeApi(kubeConfig);
  const ctx: ReconcileContext = { api, events: eventRecorder(kubeConfig, log), log, ...defaultIds, ...options.context };
  const resyncMs = options.resyncMs ?? 5 * 60_000;
  const backoff = options.backoff && { backoff: options.backoff };

  const mounts = new Controller({ name: "gefyrabridgemount", reconcile: (key) => reconcileMount(ctx, key), log, ...backoff });
  const bridges = new Controller({ name: "gefyrabridge", reconcile: (key) => reconcileBridge(ctx, key), log, ...backoff });
  const watches: Watch<unknown>[] = [];
  const key = (o: { metadata?: { name?: string; namespace?: string } }) => ({
    namespace: o.metadata!.namespace!,
    name: o.metadata!.name!,
  });

  const bridgeWatch = await watchKind<GefyraBridge>({
    kubeConfig,
    path: ctx.api.bridges.path(namespace),
    list: () => ctx.api.bridges.list(namespace),
    onObject: (bridge) => bridges.enqueue(key(bridge)),
    resyncMs,
    log,
  });
  watches.push(bridgeWatch);
  watches.push(
    await watchKind<GefyraBridgeMount>({
      kubeConfig,
      path: ctx.api.mounts.path(namespace),
      list: () => ctx.api.mounts.list(namespace),
      onObject: (mount) => {
        mounts.enqueue(key(mount));
        for (const bridge of bridgeWatch.cache.list(namespace)) {
          if (bridge.target === mount.metadata.name) bridges.enqueue(key(bridge));
        }
      },
      resyncMs,
      log,
    }),
  );
  log.info("operator started", { namespace });

  return {
    mounts,
    bridges,
    async stop() {
      await Promise.all(watches.map((w) => w.stop()));
      await Promise.all([mounts.stop(), bridges.stop()]);
    },
  };
}
