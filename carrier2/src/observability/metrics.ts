/**
 * Prometheus metrics (prom-client). Two registries, by who owns the numbers:
 *  - `dataRegistry`: per data-plane process (a worker, or the only process with `threads: 1`) —
 *    requests, latency, upstream errors, open connections, dropped events. The primary collects every
 *    worker's snapshot over IPC and sums them (`renderMetrics`).
 *  - `controlRegistry`: the process that runs the admin API — configuration generation, applies,
 *    rejections, event consumers.
 * Recording costs about a microsecond per request (label hashing in prom-client); nothing here
 * allocates per request beyond the label object.
 */
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ProxyError } from "../proxy/errors.ts";

/** One process's metrics as JSON (what a worker sends to the primary). */
export type MetricsSnapshot = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

export const dataRegistry = new Registry();
export const controlRegistry = new Registry();

const requests = new Counter({
  name: "carrier2_requests_total",
  help: "Proxied requests by port, route (bridge name, cluster, or none when refused before routing) and status class.",
  labelNames: ["port", "route", "status_class"] as const,
  registers: [dataRegistry],
});

const duration = new Histogram({
  name: "carrier2_request_duration_seconds",
  help: "Time from the request's arrival to the end of its response, by port and route.",
  labelNames: ["port", "route"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [dataRegistry],
});

const upstreamErrors = new Counter({
  name: "carrier2_upstream_errors_total",
  help: "Failed exchanges with an upstream by port, route and kind (connect, connect_timeout, tls, timeout, body_timeout, reset, protocol).",
  labelNames: ["port", "route", "kind"] as const,
  registers: [dataRegistry],
});

const openConnections = new Gauge({
  name: "carrier2_open_connections",
  help: "Client connections currently open on each proxy port.",
  labelNames: ["port"] as const,
  registers: [dataRegistry],
});

const eventsDropped = new Counter({
  name: "carrier2_events_dropped_total",
  help: "Request events not delivered to the event stream because its buffer was full (traffic is never slowed).",
  registers: [dataRegistry],
});

const generation = new Gauge({
  name: "carrier2_config_generation",
  help: "The configuration generation every worker serves (0: idle, no configuration).",
  aggregator: "max",
  registers: [controlRegistry],
});

const applies = new Counter({
  name: "carrier2_config_applies_total",
  help: "Configurations applied on every worker, by source (startup, state-file, admin, sighup).",
  labelNames: ["source"] as const,
  registers: [controlRegistry],
});

const rejections = new Counter({
  name: "carrier2_config_rejections_total",
  help: "Configuration changes refused, by source and reason (invalid, precondition_failed, not_found, port_unavailable, apply_failed).",
  labelNames: ["source", "reason"] as const,
  registers: [controlRegistry],
});

const eventConsumers = new Gauge({
  name: "carrier2_event_consumers",
  help: "Connected event stream (GET /v1/events) consumers.",
  registers: [controlRegistry],
});

const slowConsumers = new Counter({
  name: "carrier2_event_consumers_dropped_total",
  help: "Event stream consumers disconnected because they did not keep up.",
  registers: [controlRegistry],
});

const STATUS_CLASSES = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx"];

// ── data plane (hot path) ────────────────────────────────────────────────────────────────────────────

/** Labelled children, cached: prom-client hashes label objects on every call otherwise. */
const requestCounters = new Map<string, ReturnType<typeof requests.labels>>();
const durationHistograms = new Map<string, ReturnType<typeof duration.labels>>();

/** Record one finished request. `seconds`: arrival to end; `error`: what went wrong, if anything. */
export function recordRequest(port: number, route: string, status: number, seconds: number, error: ProxyError | undefined): void {
  const statusClass = STATUS_CLASSES[Math.trunc(status / 100)] ?? "5xx";
  const routeKey = `${port}\u0000${route}`;
  const countKey = `${routeKey}\u0000${statusClass}`;
  let counter = requestCounters.get(countKey);
  if (!counter) {
    counter = requests.labels(String(port), route, statusClass);
    requestCounters.set(countKey, counter);
  }
  counter.inc();
  let histogram = durationHistograms.get(routeKey);
  if (!histogram) {
    histogram = duration.labels(String(port), route);
    durationHistograms.set(routeKey, histogram);
  }
  histogram.observe(seconds);
  if (error && error.source === "upstream") {
    upstreamErrors.inc({ port: String(port), route, kind: error.code.slice("C2_UPSTREAM_".length).toLowerCase() });
  }
}

export function connectionOpened(port: number): void {
  openConnections.inc({ port: String(port) });
}

export function connectionClosed(port: number): void {
  openConnections.dec({ port: String(port) });
}

export function eventsWereDropped(count: number): void {
  eventsDropped.inc(count);
}

/** This process's data-plane metrics, for the primary to aggregate. */
export function dataSnapshot(): Promise<MetricsSnapshot> {
  return dataRegistry.getMetricsAsJSON();
}

// ── control plane ────────────────────────────────────────────────────────────────────────────────────

export type ApplySource = "startup" | "state-file" | "admin" | "sighup";
export type RejectReason = "invalid" | "precondition_failed" | "not_found" | "port_unavailable" | "apply_failed";

export function configApplied(source: ApplySource, gen: number): void {
  applies.inc({ source });
  generation.set(gen);
}

export function configRejected(source: ApplySource, reason: RejectReason): void {
  rejections.inc({ source, reason });
}

export function eventConsumersChanged(count: number): void {
  eventConsumers.set(count);
}

export function slowConsumerDropped(): void {
  slowConsumers.inc();
}

export const METRICS_CONTENT_TYPE = controlRegistry.contentType;

/** Prometheus text: the data-plane snapshots summed over workers, plus this process's control metrics. */
export async function renderMetrics(workers: readonly MetricsSnapshot[]): Promise<string> {
  // `aggregate` needs every metric name at least once, even with no worker up yet.
  const all = workers.length > 0 ? [...workers] : [await dataSnapshot()];
  all.push(await controlRegistry.getMetricsAsJSON());
  return AggregatorRegistry.aggregate(all).metrics();
}
