/**
 * The bench's data model: what a load run is asked to do (`LoadSpec`), what it measured
 * (`LoadResult`), and the report written to `bench/results/<timestamp>.json`.
 */

export type TargetKind = "direct" | "carrier2" | "http-proxy" | "nginx" | "haproxy";

/** The peers Carrier2 is compared with, in report order. */
export const PEERS = ["nginx", "haproxy", "http-proxy", "direct"] as const satisfies readonly TargetKind[];
export type Peer = (typeof PEERS)[number];

export interface RequestSpec {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  /** A request body of this many bytes (made once in the load process). */
  bodyBytes?: number;
}

/** One load run, executed by the load process (autocannon). */
export interface LoadSpec {
  url: string;
  connections: number;
  /** Seconds of load before measuring (same connections and requests; results discarded). */
  warmupS: number;
  /** Measured seconds (ignored when `amount` is set). */
  durationS: number;
  /** Stop after this many requests instead of after `durationS`. */
  amount?: number;
  /** Fixed request rate over all connections, paced (see `load/paced.ts`); unset: as fast as possible. */
  overallRate?: number;
  /** Requests in order, cycled per connection. */
  requests: RequestSpec[];
  timeoutS: number;
  /**
   * WebSocket mode: each connection upgrades with the first request's path and headers, then sends a
   * message of this many bytes, waits for its echo, and repeats (`rps` = echoed messages per second).
   */
  websocket?: { messageBytes: number };
}

export interface LatencyMs {
  p50: number;
  p90: number;
  p99: number;
  p99_9: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  durationS: number;
  /** Responses received (any status). */
  requests: number;
  rps: number;
  /** Per-response latency measured by the load process with microsecond resolution. */
  latencyMs: LatencyMs;
  /** Connection errors (including timeouts). */
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Response bytes (headers and bodies) received. */
  bytesRead: number;
  /** Request body bytes sent (uploads). */
  bytesSent: number;
  mbPerSecRead: number;
  mbPerSecSent: number;
  /** CPU used by the load process itself during the measured part (% of one core). */
  loadGenCpuPct: number;
}

/** What a load run counted, before latency and rates are derived (the WebSocket and paced clients). */
export type LoadCounts = Pick<LoadResult, "durationS" | "requests" | "errors" | "timeouts" | "non2xx" | "statusCodes" | "bytesRead" | "bytesSent">;

export interface Measurement {
  scenario: string;
  /** e.g. `1000 bridges`, `download 1 MB`, `with pushes` */
  variant: string;
  target: string;
  kind: TargetKind;
  workers: number;
  loadavg: [number, number, number];
  connections: number;
  result?: LoadResult;
  /** CPU used by the target's processes during the measured part (% of one core, summed). */
  targetCpuPct?: number;
  /** The target's CPU time per request (or message), in µs: efficiency, less sensitive to machine load. */
  cpuUsPerRequest?: number;
  skipped?: string;
  extra?: Record<string, unknown>;
}

export interface Ratio {
  variant: string;
  workers: number;
  metric: "rps" | "MB/s";
  peer: Peer;
  /** carrier2 / peer; undefined when either side did not run. */
  value: number | undefined;
  /**
   * CPU efficiency: peer CPU µs per request / Carrier2's (> 1: Carrier2 spends less CPU per request).
   * Steadier than `value` when other work shares the machine; undefined for direct.
   */
  cpu?: number;
}

export type ScenarioStatus = "ran" | "skipped" | "not available";

export interface ScenarioReport {
  id: string;
  title: string;
  description: string;
  status: ScenarioStatus;
  notices: string[];
  measurements: Measurement[];
  ratios: Ratio[];
  /** Scenario-specific figures (push latencies, RSS samples). */
  extra?: Record<string, unknown>;
}

export interface RunReport {
  format: "carrier2-bench/1";
  mode: "smoke" | "quick" | "full";
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: {
    cpus: number;
    cpuModel: string;
    memGiB: number;
    node: string;
    platform: string;
    loadavgStart: [number, number, number];
    loadavgEnd: [number, number, number];
  };
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  peers: Record<string, { available: boolean; reason?: string }>;
  notices: string[];
  scenarios: ScenarioReport[];
}
