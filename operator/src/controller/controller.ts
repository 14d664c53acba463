/**
 * One controller per kind: watch events and resyncs add keys to a work queue, workers hand each key
 * to the kind's reconcile. The reconcile is level-triggered: it gets only namespace/name, never the
 * event. Throwing means "retry with backoff"; an OperatorError with `retryable: false` is not
 * retried (the object's next change or the resync brings it back).
 */
import { describeError, isConflict, OperatorError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { type BackoffOptions, DEFAULT_BACKOFF, WorkQueue } from "./queue.ts";

export interface ObjectKey {
  namespace: string;
  name: string;
}

/** `requeueAfterMs`: look again later even if nothing changes (for state the operator does not watch). */
export type ReconcileResult = { requeueAfterMs?: number } | undefined;

export type Reconcile = (key: ObjectKey) => Promise<ReconcileResult>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconcile;
  log: Logger;
  backoff?: BackoffOptions;
  workers?: number;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly #reconcile: Reconcile;
  readonly #log: Logger;
  readonly #workers: Promise<void>[] = [];

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.queue = new WorkQueue(options.backoff ?? DEFAULT_BACKOFF);
    this.#reconcile = options.reconcile;
    this.#log = options.log;
    for (let i = 0; i < (options.workers ?? 1); i++) this.#workers.push(this.#work());
  }

  enqueue(key: ObjectKey): void {
    this.queue.add(`${key.namespace}/${key.name}`);
  }

  /** Stop taking keys and wait for the reconciles in progress. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.#workers);
  }

  async #work(): Promise<void> {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      try {
        await this.#process(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  async #process(key: string): Promise<void> {
    const slash = key.indexOf("/");
    try {
      const result = await this.#reconcile({ namespace: key.slice(0, slash), name: key.slice(slash + 1) });
      this.queue.forget(key);
      if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      const fields = { controller: this.name, key, error: describeError(err) };
      if (err instanceof OperatorError && !err.retryable) {
        this.queue.forget(key);
        this.#log.warn("reconcile failed; waiting for a change", { ...fields, code: err.code });
        return;
      }
      this.queue.addRateLimited(key);
      const retryInMs = this.queue.backoffMs(this.queue.failures(key));
      if (isConflict(err)) this.#log.info("conflict (object changed meanwhile); retrying", { ...fields, retryInMs });
      else this.#log.error("reconcile failed; retrying", { ...fields, retryInMs });
    }
  }
}
