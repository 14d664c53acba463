/**
 * The primary ↔ worker protocol (cluster IPC). Apply messages name the round they belong to; so do
 * metrics requests and their replies. A worker only receives messages after it has said `ready`.
 */
import type { Carrier2Config } from "../config/index.ts";
import type { RequestEvent } from "../observability/events.ts";
import type { MetricsSnapshot } from "../observability/metrics.ts";

export type ToWorker =
  | { t: "prepare"; round: number; generation: number; config: Carrier2Config }
  | { t: "commit"; round: number }
  | { t: "abort"; round: number }
  /** Send this worker's data-plane metrics. */
  | { t: "metrics"; round: number }
  /** Start (`on: true`) or stop forwarding request events: someone watches `GET /v1/events`. */
  | { t: "events"; on: boolean }
  | { t: "shutdown"; drainMs: number };

export type FromWorker =
  | { t: "ready" }
  | { t: "prepared"; round: number }
  /** `port`: the port that could not be bound, when that was the failure. */
  | { t: "failed"; round: number; error: string; port?: number }
  | { t: "committed"; round: number; generation: number }
  | { t: "metrics"; round: number; metrics: MetricsSnapshot }
  | { t: "events"; events: RequestEvent[]; dropped: number };
