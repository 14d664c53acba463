/**
 * Prometheus metrics (prom-client). Two registries, by who owns the numbers:
 *  - `dataRegistry`: per data-plane process (a worker, or the only process with `threads: 1`) —
 *    requests, latency, upstream errors, open connections, dropped events. The primary collects every
 *    worker's snapshot over IPC and sums them (`renderMetrics`).
 *  - `controlRegistry`: the process that runs the admin API — configuration generation, applies,
 *    rejections, event consumers.
 *
 * Requests and their latency are the hot path: each request adds to the plain numbers of its
 * (port, route) — a `RouteMetrics` that the route table hands out when it is built, so a request finds
 * it without building a key — and those numbers reach prom-client only when a snapshot is taken. The
 * snapshot is exactly what prom-client's own counter and histogram would report for the same requests
 * (same series, order, labels and values; `test/metrics.test.ts` compares them).
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
  collect: collectRequests,
});

/** `carrier2_request_duration_seconds` upper bounds (seconds). */
const BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STATUS_CLASSES = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx"] as const;

// Layout of `RouteMetrics.values`: latency sum and count, per-bucket (not cumulative) counts as
// prom-client keeps them, then request counts per status class.
const SUM = 0;
const COUNT = 1;
const BUCKET0 = 2;
const CLASS0 = BUCKET0 + BUCKETS.length;
const VALUES = CLASS0 + STATUS_CLASSES.length;

/**
 * The request metrics of one (port, route) pair, in every configuration generation: counters stay
 * monotonic when a new route table is built, because the table asks `routeMetrics()` for the same
 * object again.
 */
export class RouteMetrics {
  readonly port: string;
  readonly route: string;
  readonly values = new Float64Array(VALUES);

  constructor(port: number, route: string) {
    this.port = String(port);
    this.route = route;
  }
}

/** A `carrier2_requests_total` series: one status class of one RouteMetrics. */
interface ClassSeries {
  metrics: RouteMetrics;
  /** Index into `metrics.values`. */
  index: number;
  labels: { port: string; route: string; status_class: string };
  /** How much of the count prom-client already has. */
  reported: number;
}

const byPort = new Map<number, Map<string, RouteMetrics>>();
/** Series in the order of their first request, the order prom-client would list them in. */
const classSeries: ClassSeries[] = [];
const observed: RouteMetrics[] = [];

/** The metrics of `route` on `port` (one object per pair for the life of the process). */
export function routeMetrics(port: number, route: string): RouteMetrics {
  let routes = byPort.get(port);
  if (!routes) {
    routes = new Map();
    byPort.set(port, routes);
  }
  let metrics = routes.get(route);
  if (!metrics) {
    metrics = new RouteMetrics(port, route);
    routes.set(route, metrics);
  }
  return metrics;
}

/** Moves the request counts into prom-client's counter (runs before every snapshot). */
function collectRequests(): void {
  for (const series of classSeries) {
    const count = series.metrics.values[series.index]!;
    if (count > series.reported) {
      requests.inc(series.labels, count - series.reported);
      series.reported = count;
    }
  }
}

type HistogramSnapshot = Awaited<ReturnType<Histogram<"port" | "route">["get"]>>;
type HistogramValues = HistogramSnapshot["values"];

const DURATION_NAME = "carrier2_request_duration_seconds";
const DURATION_HELP = "Time from the request's arrival to the end of its response, by port and route.";

/**
 * `carrier2_request_duration_seconds`, reported from the RouteMetrics. Only the snapshot is replaced:
 * `get()` returns what prom-client's histogram returns for the same observations (buckets cumulative,
 * then `+Inf`, `_sum` and `_count` per series, series in the order of their first observation).
 */
class RouteDurationHistogram extends Histogram<"port" | "route"> {
  override async get(): Promise<HistogramSnapshot> {
    const values: HistogramValues = [];
    const bucketName = `${DURATION_NAME}_bucket`;
    const sumName = `${DURATION_NAME}_sum`;
    const countName = `${DURATION_NAME}_count`;
    for (const m of observed) {
      const v = m.values;
      const { port, route } = m;
      let cumulative = 0;
      for (let b = 0; b < BUCKETS.length; b++) {
        cumulative += v[BUCKET0 + b]!;
        values.push(histogramValue(cumulative, bucketName, null, { le: BUCKETS[b]!, port, route }));
      }
      values.push(histogramValue(v[COUNT]!, bucketName, null, { le: "+Inf", port, route }));
      values.push(histogramValue(v[SUM]!, sumName, undefined, { port, route }));
      values.push(histogramValue(v[COUNT]!, countName, undefined, { port, route }));
    }
    // prom-client's keys and defaults (type histogram, aggregator sum); its typings also list `collect`.
    return { name: DURATION_NAME, help: DURATION_HELP, type: "histogram", values, aggregator: "sum" } as unknown as HistogramSnapshot;
  }

  /** What `Registry.metrics()` reads for histograms: the same values (labels already merged). */
  getForPromString(): ReturnType<RouteDurationHistogram["get"]> {
    return this.get();
  }
}

/** One histogram value, with prom-client's keys in prom-client's order. */
function histogramValue(value: number, metricName: string, exemplar: null | undefined, labels: Record<string, string | number>): HistogramValues[number] {
  return { value, metricName, exemplar, labels } as HistogramValues[number];
}

// Registers itself; its numbers come from the RouteMetrics.
new RouteDurationHistogram({
  name: DURATION_NAME,
  help: DURATION_HELP,
  labelNames: ["port", "route"] as const,
  buckets: [...BUCKETS],
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

// ── data plane (hot path) ────────────────────────────────────────────────────────────────────────────

/**
 * Record one finished request: a few additions to its route's numbers. `seconds`: arrival to end.
 * Status classes as before: `0xx`..`5xx` by the hundreds digit, anything from 600 up counts as `5xx`.
 */
export function recordRequest(metrics: RouteMetrics, status: number, seconds: number): void {
  const v = metrics.values;
  const index = CLASS0 + (status >= 0 && status < 600 ? Math.trunc(status / 100) : 5);
  const inClass = v[index]!;
  v[index] = inClass + 1;
  if (inClass === 0) classSeries.push(newClassSeries(metrics, index));
  v[SUM] = v[SUM]! + seconds;
  const count = v[COUNT]!;
  v[COUNT] = count + 1;
  if (count === 0) observed.push(metrics);
  // prom-client's bucket: the first upper bound >= seconds (none: only +Inf).
  let b = 0;
  while (b < BUCKETS.length && seconds > BUCKETS[b]!) b++;
  if (b < BUCKETS.length) v[BUCKET0 + b] = v[BUCKET0 + b]! + 1;
}

function newClassSeries(metrics: RouteMetrics, index: number): ClassSeries {
  const labels = { port: metrics.port, route: metrics.route, status_class: STATUS_CLASSES[index - CLASS0]! };
  return { metrics, index, labels, reported: 0 };
}

/** Count a failed exchange with an upstream (rare: straight into prom-client). */
export function recordUpstreamError(port: number, route: string, error: ProxyError): void {
  upstreamErrors.inc({ port: String(port), route, kind: error.code.slice("C2_UPSTREAM_".length).toLowerCase() });
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
