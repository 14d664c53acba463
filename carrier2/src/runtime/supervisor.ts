/**
 * The supervisor applies configuration generations to the data plane(s) and is what the command line
 * and the admin API talk to. `threads: 1` runs the data plane in this process; `threads: N` runs N
 * cluster workers and applies each generation to all of them atomically (prepare everywhere, then
 * commit everywhere; any failure aborts everywhere and the old generation keeps serving). A worker
 * that dies is replaced and given the current generation.
 */
import cluster, { type Worker } from "node:cluster";
import { fileURLToPath } from "node:url";
import type { Carrier2Config } from "../config/index.ts";
import { log } from "../observability/log.ts";
import { DataPlane } from "./data-plane.ts";
import { instanceId } from "./instance.ts";
import type { FromWorker, ToWorker } from "./messages.ts";

export interface Supervisor {
  readonly generation: number;
  readonly config: Carrier2Config | undefined;
  /** Apply a validated configuration; resolves with its generation once every worker serves it. */
  apply(config: Carrier2Config): Promise<number>;
  close(drainMs?: number): Promise<void>;
}

/** In-process data plane (`threads: 1`). */
class SingleProcess implements Supervisor {
  readonly #plane = new DataPlane();
  #generation = 0;
  #queue: Promise<unknown> = Promise.resolve();

  get generation(): number {
    return this.#generation;
  }

  get config(): Carrier2Config | undefined {
    return this.#plane.config;
  }

  apply(config: Carrier2Config): Promise<number> {
    const run = this.#queue.then(async () => {
      const generation = this.#generation + 1;
      await this.#plane.apply(config, generation);
      this.#generation = generation;
      return generation;
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  close(drainMs = 0): Promise<void> {
    return this.#plane.close(drainMs);
  }
}

interface Round {
  waiting: Set<number>;
  failures: string[];
  done: () => void;
}

/** N workers (`threads: N`). */
class WorkerPool implements Supervisor {
  #workers = new Map<number, Worker>();
  #rounds = new Map<number, Round>();
  #round = 0;
  #generation = 0;
  #config: Carrier2Config | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closing = false;
  #wanted: number;

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

  apply(config: Carrier2Config): Promise<number> {
    const run = this.#queue.then(async () => {
      if (config.threads !== this.#wanted && config.threads > 1) await this.#resize(config.threads);
      else if (config.threads !== this.#wanted) log.warn({ threads: config.threads }, "switching to a single process takes effect at restart");
      const generation = this.#generation + 1;
      await this.#applyTo([...this.#workers.values()], config, generation);
      this.#generation = generation;
      this.#config = config;
      return generation;
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async close(drainMs = 0): Promise<void> {
    this.#closing = true;
    const exits = [...this.#workers.values()].map(
      (w) =>
        new Promise<void>((resolve) => {
          w.once("exit", () => resolve());
          this.#send(w, { t: "shutdown", drainMs });
        }),
    );
    await Promise.all(exits);
  }

  /** Two-phase apply: all prepare, then all commit (or all abort). */
  async #applyTo(workers: Worker[], config: Carrier2Config, generation: number): Promise<void> {
    const round = ++this.#round;
    const failures = await this.#collect(round, workers, (w) => this.#send(w, { t: "prepare", round, generation, config }));
    if (failures.length > 0) {
      for (const w of workers) this.#send(w, { t: "abort", round });
      throw new Error(failures[0]);
    }
    await this.#collect(round, workers, (w) => this.#send(w, { t: "commit", round }));
  }

  #collect(round: number, workers: Worker[], sendTo: (w: Worker) => void): Promise<string[]> {
    return new Promise((resolve) => {
      const state: Round = { waiting: new Set(workers.map((w) => w.id)), failures: [], done: () => {} };
      state.done = () => {
        this.#rounds.delete(round);
        resolve(state.failures);
      };
      this.#rounds.set(round, state);
      if (state.waiting.size === 0) return state.done();
      for (const w of workers) sendTo(w);
    });
  }

  #onMessage(worker: Worker, msg: FromWorker): void {
    if (msg.t === "ready") return;
    const round = this.#rounds.get(msg.round);
    if (!round) return;
    if (msg.t === "failed") round.failures.push(msg.error);
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
        resolve(worker);
      };
      worker.on("message", onReady);
      worker.once("exit", (code) => reject(new Error(`worker exited during start (code ${code})`)));
    });
  }

  async #resize(threads: number): Promise<void> {
    this.#wanted = threads;
    while (this.#workers.size > threads) {
      const [id, w] = [...this.#workers.entries()].at(-1)!;
      this.#workers.delete(id);
      this.#send(w, { t: "shutdown", drainMs: this.#config?.timeouts.drainMs ?? 0 });
    }
    const added: Worker[] = [];
    while (this.#workers.size < threads) added.push(await this.#fork());
    if (this.#config) await this.#applyTo(added, this.#config, this.#generation);
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    const known = this.#workers.delete(worker.id);
    // A dead worker cannot answer: release any round waiting for it.
    for (const round of this.#rounds.values()) {
      if (round.waiting.delete(worker.id)) {
        round.failures.push(`worker ${worker.id} exited`);
        if (round.waiting.size === 0) round.done();
      }
    }
    if (!known || this.#closing) return;
    log.error({ worker: worker.id, code, signal }, "worker died; starting a replacement");
    this.#queue = this.#queue.then(async () => {
      const fresh = await this.#fork();
      if (this.#config) await this.#applyTo([fresh], this.#config, this.#generation);
      log.info({ worker: fresh.id, generation: this.#generation }, "replacement worker serving");
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
