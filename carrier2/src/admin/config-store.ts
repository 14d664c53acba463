/**
 * The one place configuration changes go through — admin API, SIGHUP, start-up and state-file
 * restore — so there is one generation counter and one order of changes.
 *
 * A change runs alone (changes queue): check `If-Match` against the current generation → build and
 * validate the whole new configuration → apply it to every worker (the supervisor resolves once all
 * serve it) → write the state file → publish the new snapshot. Any failure leaves the snapshot, the
 * workers and the state file as they were.
 *
 * It also owns the request event hub, which outlives idle mode: consumers may connect before the first
 * configuration starts the data plane.
 */
import type { Carrier2Config, ValidationResult } from "../config/index.ts";
import { EventHub } from "../observability/events.ts";
import { log } from "../observability/log.ts";
import { type ApplySource, configApplied, configRejected, eventConsumersChanged, type RejectReason, slowConsumerDropped } from "../observability/metrics.ts";
import { ApplyError, createSupervisor, type Supervisor } from "../runtime/supervisor.ts";
import { AdminError, type AdminErrorCode } from "./errors.ts";
import { writeStateFile } from "./state-file.ts";
import { type Warning, warningsOf } from "./warnings.ts";

/** What is serving now. `generation` 0 and no config: idle. */
export interface Snapshot {
  readonly generation: number;
  readonly config: Carrier2Config | undefined;
  readonly warnings: readonly Warning[];
}

export interface ChangeOptions {
  source: ApplySource;
  /** The `If-Match` header: the change applies only if it names the current generation. */
  ifMatch?: string | undefined;
  /** Use this generation instead of the next one (restoring a state file). */
  generation?: number;
}

/** Builds the proposed configuration from the current snapshot; may throw an AdminError (404...). */
export type Proposal = (current: Snapshot) => ValidationResult | Promise<ValidationResult>;

const REASONS: Partial<Record<AdminErrorCode, RejectReason>> = {
  C2_ADMIN_INVALID_CONFIG: "invalid",
  C2_ADMIN_BAD_REQUEST: "invalid",
  C2_ADMIN_PRECONDITION_FAILED: "precondition_failed",
  C2_ADMIN_PORT_NOT_FOUND: "not_found",
  C2_ADMIN_BRIDGE_NOT_FOUND: "not_found",
  C2_ADMIN_PORT_UNAVAILABLE: "port_unavailable",
};

/**
 * Does an `If-Match` value name this generation? Entity tags are `"<generation>"` (a bare number is
 * accepted too); `*` matches any existing configuration; weak tags never match (strong comparison).
 */
export function ifMatchHolds(header: string, generation: number): boolean {
  for (const raw of header.split(",")) {
    const tag = raw.trim();
    if (tag === "*") {
      if (generation > 0) return true;
      continue;
    }
    const m = /^"?(\d{1,15})"?$/.exec(tag);
    if (m && Number(m[1]) === generation) return true;
  }
  return false;
}

export class ConfigStore {
  #supervisor: Supervisor | undefined;
  #snapshot: Snapshot = { generation: 0, config: undefined, warnings: [] };
  #queue: Promise<unknown> = Promise.resolve();
  readonly #stateFile: string | undefined;
  readonly #makeSupervisor: (threads: number) => Promise<Supervisor>;
  readonly events: EventHub = new EventHub({
    onActive: (on) => this.#supervisor?.streamEvents(on ? this.#deliver : undefined),
    onCount: eventConsumersChanged,
    onSlow: slowConsumerDropped,
  });
  readonly #deliver = this.events.publish.bind(this.events);

  constructor(opts: { stateFile?: string | undefined; createSupervisor?: (threads: number) => Promise<Supervisor> } = {}) {
    this.#stateFile = opts.stateFile;
    this.#makeSupervisor = opts.createSupervisor ?? createSupervisor;
  }

  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  /** Undefined while idle (no configuration has been applied yet). */
  get supervisor(): Supervisor | undefined {
    return this.#supervisor;
  }

  /** Apply a change (queued behind any other); resolves with the new snapshot, or throws an AdminError. */
  change(propose: Proposal, opts: ChangeOptions): Promise<Snapshot> {
    const run = this.#queue.then(() => this.#change(propose, opts));
    this.#queue = run.catch(() => {});
    return run;
  }

  async close(drainMs = 0): Promise<void> {
    await this.#queue;
    await this.#supervisor?.close(drainMs);
  }

  async #change(propose: Proposal, opts: ChangeOptions): Promise<Snapshot> {
    try {
      const current = this.#snapshot;
      if (opts.ifMatch !== undefined && !ifMatchHolds(opts.ifMatch, current.generation)) {
        throw new AdminError("C2_ADMIN_PRECONDITION_FAILED", `If-Match ${opts.ifMatch} does not name the current generation "${current.generation}"`, {
          details: { generation: current.generation },
        });
      }
      const result = await propose(current);
      if (!result.ok) throw new AdminError("C2_ADMIN_INVALID_CONFIG", `invalid configuration: ${result.issues.length} issue${result.issues.length === 1 ? "" : "s"}`, { issues: result.issues });
      const generation = opts.generation ?? current.generation + 1;
      await this.#apply(result.config, generation);
      const warnings = warningsOf(result.config, result.warnings);
      if (this.#stateFile) {
        try {
          await writeStateFile(this.#stateFile, generation, result.config);
        } catch (err) {
          const message = `state file ${this.#stateFile} not written: ${(err as Error).message}`;
          log.error({ generation }, message);
          warnings.push({ path: "", message });
        }
      }
      this.#snapshot = { generation, config: result.config, warnings };
      configApplied(opts.source, generation);
      return this.#snapshot;
    } catch (err) {
      const error = err instanceof AdminError ? err : new AdminError("C2_ADMIN_INTERNAL", (err as Error).message, { cause: err });
      configRejected(opts.source, REASONS[error.code] ?? "apply_failed");
      throw error;
    }
  }

  async #apply(config: Carrier2Config, generation: number): Promise<void> {
    if (!this.#supervisor) {
      this.#supervisor = await this.#makeSupervisor(config.threads);
      if (this.events.active) this.#supervisor.streamEvents(this.#deliver);
    }
    try {
      await this.#supervisor.apply(config, generation);
    } catch (err) {
      if (err instanceof ApplyError && err.port !== undefined) {
        throw new AdminError("C2_ADMIN_PORT_UNAVAILABLE", err.message, { details: { port: err.port }, cause: err });
      }
      throw new AdminError("C2_ADMIN_APPLY_FAILED", `applying the configuration failed: ${(err as Error).message}`, { cause: err });
    }
  }
}
