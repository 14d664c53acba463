/**
 * A list-watch of one kind in one namespace that feeds a controller: every add, update and delete,
 * and every object again each `resyncMs` (so drift in objects the operator does not watch is
 * repaired). The watch is restarted after errors, which client-node's informer does not do itself.
 */
import { type KubeConfig, type KubernetesListObject, type KubernetesObject, makeInformer, type ObjectCache } from "@kubernetes/client-node";
import { describeError } from "../errors.ts";
import type { Logger } from "../log.ts";

export interface WatchOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  onObject: (object: T) => void;
  resyncMs: number;
  log: Logger;
  /** Delay before restarting a failed watch. */
  restartMs?: number;
}

export interface Watch<T> {
  cache: ObjectCache<T>;
  stop(): Promise<void>;
}

export async function watchKind<T extends KubernetesObject>(options: WatchOptions<T>): Promise<Watch<T>> {
  const { onObject, log, path } = options;
  const informer = makeInformer<T>(options.kubeConfig, path, options.list);
  let stopped = false;
  let restart: NodeJS.Timeout | undefined;
  informer.on("add", onObject);
  informer.on("update", onObject);
  informer.on("delete", onObject);
  const restartLater = (err: unknown) => {
    if (stopped) return;
    log.warn("watch failed; restarting", { path, error: describeError(err) });
    clearTimeout(restart);
    restart = setTimeout(() => informer.start().catch(restartLater), options.restartMs ?? 2_000);
  };
  informer.on("error", restartLater);
  await informer.start();
  const resync = setInterval(() => {
    for (const object of informer.list()) onObject(object);
  }, options.resyncMs);
  return {
    cache: informer,
    async stop() {
      stopped = true;
      clearInterval(resync);
      clearTimeout(restart);
      await informer.stop();
    },
  };
}
