/**
 * The supervisor applies configuration generations to the data plane(s) and is what the command line
 * and the admin API talk to. `threads: 1` runs the data plane in this process; `threads: N` runs N
 * cluster workers and applies each generation to all of them atomically (prepare everywhere, then
 * commit everywhere; any failure aborts everywhere and the old generation keeps serving). A worker
 * that dies is replaced and given the current generation.
 *
 * It also gathers what the workers observe: their metrics (on request, over IPC) and their request
 * events (produced and forwarded in batches only while someone streams them).
 */
import cluster, { type Worker } from "node:cluster";
import { fileURLToPath } from "node:url";
import type { Carrier2Config } from "../config/index.ts";
import { type BatchSink, EventBatcher } from "../observability/events.ts";
import { log } from "../observability/log.ts";
import { dataSnapshot, eventsWereDropped, type MetricsSnapshot } from "../observability/metrics.ts";
import { DataPlane, ListenError } from "./data-plane.ts";
import { instanceId } from "./instance.ts";
import type { FromWorker, ToWorker } from "./messages.ts";

/** Applying a configuration failed; the previous generation keeps serving. */
export class ApplyError extends Error {
  override name = "ApplyError";
  /** The port that could not be bound, when that was the reason. */
  readonly port: number | undefined;

  constructor(message: string, port: number | undefined, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.port = port;
  }
}

export interface WorkerStatus {
  /** Cluster worker id (0 for the single process). */
  id: number;
  pid: number | undefined;
  /** The generation this worker committed last (0: none yet). */
  generation: number;
}

/** How long a worker may take to answer a prepare/commit/metrics round. */
const ROUND_DEADLINE_MS = 30_000;

export interface Supervisor {
  readonly generation: number;
  readonly config: Carrier2Config | undefined;
  /**
   * Apply a validated configuration as `generation` (default: the current one + 1); resolves with the
   * generation once every worker serves it. Rejects with an ApplyError, and then nothing changed.
   */
  apply(config: Carrier2Config, generation?: number): Promise<number>;
  /** Every data plane's metrics snapshot (workers that do not answer are left out). */
  metrics(): Promise<MetricsSnapshot[]>;
  workers(): WorkerStatus[];
  /** Deliver every data plane's request events to `sink` in batches; undefined stops producing them. */
  streamEvents(sink: BatchSink | undefined): void;
  close(drainMs?: number): Promise<void>;
}

/** In-process data plane (`threads: 1`). */
class SingleProcess implements Supervisor {
  readonly #plane = new DataPlane();
  #queue: Promise<unknown> = Promise.resolve();
  #sink: BatchSink | undefined;
  readonly #batcher = new EventBatcher((events, dropped) => {
    if (dropped > 0) eventsWereDropped(dropped);
    this.#sink?.(events, dropped);
  });

  get generation(): number {
    return this.#plane.generation;
  }

  get config(): Carrier2Config | undefined {
    return this.#plane.config;
  }

  apply(config: Carrier2Config, generation?: number): Promise<number> {
    const run = this.#queue.then(async () => {
      if (config.threads > 1) log.warn({ threads: config.threads }, "switching from a single process to workers takes effect at restart");
      const next = generation ?? this.#plane.generation + 1;
      try {
        await this.#plane.apply(config, next);
      } catch (err) {
        throw new ApplyError((err as Error).message, err instanceof ListenError ? err.port : undefined, err);
      }
      return next;
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async metrics(): Promise<MetricsSnapshot[]> {
    return [await dataSnapshot()];
  }

  workers(): WorkerStatus[] {
    return [{ id: 0, pid: process.pid, generation: this.#plane.generation }];
  }

  streamEvents(sink: BatchSink | undefined): void {
    this.#sink = sink;
    if (sink) this.#batcher.start();
    else this.#batcher.stop();
  }

  close(drainMs = 0): Promise<void> {
    this.#batcher.stop();
    return this.#plane.close(drainMs);
  }
}

interface Round {
  waiting: Set<number>;
  failures: { error: string; port?: number }[];
  snapshots: MetricsSnapshot[];
  done: () => void;
}

/** N workers (`threads: N`). */
class WorkerPool implements Supervisor {
  #workers = new Map<number, Worker>();
  /** Workers that said `ready` (only they are sent messages), with the generation they committed. */
  #ready = new Map<number, number>();
  #rounds = new Map<number, Round>();
  #round = 0;
  #generation = 0;
  #config: Carrier2Config | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closing = false;
  #wanted: number;
  #sink: BatchSink | undefined;

  constructor(threads: number) {
    this.#wanted = threads;
    cluster.setupPrimary({ exec: fileURLToPath(new URL("./worker.ts", import.meta.url)), silent: false });
    cluster.on("exit", (worker, code, signal) => this.#onExit(worker, code, signal));
  }

  get generation(): number {
    return this.#generation;
  }

  get config(): Carrier2Config | undefined {
    return this.#config;
  }

  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.#wanted }, () => this.#fork()));
  }

  apply(config: Carrier2Config, generation?: number): Promise<number> {
    const run = this.#queue.then(async () => {
      if (config.threads !== this.#wanted && config.threads > 1) await this.#resize(config.threads);
      else if (config.threads !== this.#wanted) log.warn({ threads: config.threads }, "switching to a single process takes effect at restart");
      const next = generation ?? this.#generation + 1;
      await this.#applyTo([...this.#workers.values()], config, next);
      this.#generation = next;
      this.#config = config;
      return next;
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async metrics(): Promise<MetricsSnapshot[]> {
    const round = ++this.#round;
    const { snapshots } = await this.#collect(round, this.#readyWorkers(), (w) => this.#send(w, { t: "metrics", round }));
    return snapshots;
  }

  workers(): WorkerStatus[] {
    return [...this.#workers.values()].map((w) => ({ id: w.id, pid: w.process.pid, generation: this.#ready.get(w.id) ?? 0 }));
  }

  streamEvents(sink: BatchSink | undefined): void {
    const changed = (sink === undefined) !== (this.#sink === undefined);
    this.#sink = sink;
    if (changed) for (const w of this.#readyWorkers()) this.#send(w, { t: "events", on: sink !== undefined });
  }

  async close(drainMs = 0): Promise<void> {
    this.#closing = true;
    const exits = [...this.#workers.values()].map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve();
          w.once("exit", () => resolve());
          this.#send(w, { t: "shutdown", drainMs });
        }),
    );
    await Promise.all(exits);
  }

  /** Two-phase apply: all prepare, then all commit (or all abort). */
  async #applyTo(workers: Worker[], config: Carrier2Config, generation: number): Promise<void> {
    const round = ++this.#round;
    const { failures } = await this.#collect(round, workers, (w) => this.#send(w, { t: "prepare", round, generation, config }));
    if (failures.length > 0) {
      for (const w of workers) this.#send(w, { t: "abort", round });
      // A port that cannot be bound is the reason to report, over "worker exited" and the like.
      const first = failures.find((f) => f.port !== undefined) ?? failures[0]!;
      throw new ApplyError(first.error, first.port);
    }
    await this.#collect(round, workers, (w) => this.#send(w, { t: "commit", round }));
  }

  /**
   * Send to every worker and wait for all answers. A worker that does not answer within
   * ROUND_DEADLINE_MS is counted as failed and replaced (killed; `#onExit` starts a new one), so one
   * hung worker can never block configuration changes or metrics forever.
   */
  #collect(round: number, workers: Worker[], sendTo: (w: Worker) => void): Promise<Round> {
    return new Promise((resolve) => {
      const state: Round = { waiting: new Set(workers.map((w) => w.id)), failures: [], snapshots: [], done: () => {} };
      const deadline = setTimeout(() => {
        for (const id of state.waiting) {
          state.failures.push({ error: `worker ${id} did not answer within ${ROUND_DEADLINE_MS} ms; replacing it` });
          this.#workers.get(id)?.process.kill("SIGKILL");
        }
        state.waiting.clear();
        state.done();
      }, ROUND_DEADLINE_MS);
      deadline.unref();
      state.done = () => {
        clearTimeout(deadline);
        this.#rounds.delete(round);
        resolve(state);
      };
      this.#rounds.set(round, state);
      if (state.waiting.size === 0) return state.done();
      for (const w of workers) sendTo(w);
    });
  }

  #onMessage(worker: Worker, msg: FromWorker): void {
    switch (msg.t) {
      case "ready":
        return;
      case "events":
        if (msg.dropped > 0) log.debug({ worker: worker.id, dropped: msg.dropped }, "request events dropped");
        this.#sink?.(msg.events, msg.dropped);
        return;
      case "committed":
        if (this.#ready.has(worker.id)) this.#ready.set(worker.id, msg.generation);
        break;
    }
    const round = this.#rounds.get(msg.round);
    if (!round) return;
    if (msg.t === "failed") round.failures.push(msg.port === undefined ? { error: msg.error } : { error: msg.error, port: msg.port });
    if (msg.t === "metrics") round.snapshots.push(msg.metrics);
    round.waiting.delete(worker.id);
    if (round.waiting.size === 0) round.done();
  }

  #fork(): Promise<Worker> {
    const worker = cluster.fork({ CARRIER2_INSTANCE_ID: instanceId });
    this.#workers.set(worker.id, worker);
    worker.on("message", (msg: FromWorker) => this.#onMessage(worker, msg));
    return new Promise((resolve, reject) => {
      const onReady = (msg: FromWorker) => {
        if (msg.t !== "ready") return;
        worker.off("message", onReady);
        this.#ready.set(worker.id, 0);
        if (this.#sink) this.#send(worker, { t: "events", on: true });
        resolve(worker);
      };
      worker.on("message", onReady);
      worker.once("exit", (code) => reject(new Error(`worker exited during start (code ${code})`)));
    });
  }

  #readyWorkers(): Worker[] {
    return [...this.#workers.values()].filter((w) => this.#ready.has(w.id));
  }

  async #resize(threads: number): Promise<void> {
    this.#wanted = threads;
    while (this.#workers.size > threads) {
      const [id, w] = [...this.#workers.entries()].at(-1)!;
      this.#workers.delete(id);
      this.#ready.delete(id);
      this.#send(w, { t: "shutdown", drainMs: this.#config?.timeouts.drainMs ?? 0 });
    }
    const added: Worker[] = [];
    while (this.#workers.size < threads) added.push(await this.#fork());
    if (this.#config) await this.#applyTo(added, this.#config, this.#generation);
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    const known = this.#workers.delete(worker.id);
    this.#ready.delete(worker.id);
    // A dead worker cannot answer: release any round waiting for it.
    for (const round of this.#rounds.values()) {
      if (round.waiting.delete(worker.id)) {
        round.failures.push({ error: `worker ${worker.id} exited` });
        if (round.waiting.size === 0) round.done();
      }
    }
    if (!known || this.#closing) return;
    log.error({ worker: worker.id, code, signal }, "worker died; starting a replacement");
    this.#queue = this.#queue.then(async () => {
      const fresh = await this.#fork();
      if (this.#config) await this.#applyTo([fresh], this.#config, this.#generation);
      log.info({ worker: fresh.id, pid: fresh.process.pid, generation: this.#generation }, "replacement worker serving");
    }).catch((err: unknown) => log.error({ err }, "replacing a worker failed"));
  }

  #send(worker: Worker, msg: ToWorker): void {
    if (worker.isConnected()) worker.send(msg);
  }
}

export async function createSupervisor(threads: number): Promise<Supervisor> {
  if (threads <= 1) return new SingleProcess();
  const pool = new WorkerPool(threads);
  await pool.start();
  return pool;
}
