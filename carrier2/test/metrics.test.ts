/**
 * Request metrics are plain numbers per (port, route), moved into prom-client only at snapshot time.
 * What a scrape shows must stay exactly what prom-client's own counter and histogram showed when every
 * request went through them: same series, order, labels, values, and the same sums over workers.
 */
import { AggregatorRegistry, Counter, Histogram, type Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import * as metrics from "../src/observability/metrics.ts";
import { buildPortTable } from "../src/proxy/route-table.ts";
import type { Bridge } from "../src/routes/index.ts";

type Metrics = typeof metrics;
type Snapshot = metrics.MetricsSnapshot;
/** Histogram values name their series (`_bucket`, `_sum`, `_count`). */
const metricName = (v: object) => (v as { metricName?: string }).metricName;
const REQUESTS = "carrier2_requests_total";
const DURATION = "carrier2_request_duration_seconds";
const NAMES = [REQUESTS, DURATION];

/** The metrics exactly as they were recorded before: prom-client children, one `inc`/`observe` per request. */
class Reference {
  readonly registry: Registry = new AggregatorRegistry();
  readonly #requests = new Counter({
    name: REQUESTS,
    help: "Proxied requests by port, route (bridge name, cluster, or none when refused before routing) and status class.",
    labelNames: ["port", "route", "status_class"] as const,
    registers: [this.registry],
  });
  readonly #duration = new Histogram({
    name: DURATION,
    help: "Time from the request's arrival to the end of its response, by port and route.",
    labelNames: ["port", "route"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  record(port: number, route: string, status: number, seconds: number): void {
    const statusClass = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx"][Math.trunc(status / 100)] ?? "5xx";
    this.#requests.labels(String(port), route, statusClass).inc();
    this.#duration.labels(String(port), route).observe(seconds);
  }
}

interface Request {
  port: number;
  route: string;
  status: number;
  seconds: number;
}

/** Deterministic pseudo-random requests over the given ports and routes, hitting every bucket and edge. */
function requests(count: number, ports: number[], routes: string[], seed = 1): Request[] {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  const statuses = [200, 200, 200, 101, 204, 301, 304, 404, 499, 500, 502, 504, 0, 99, 600, 999];
  const edges = [0, 0.001, 0.0025, 0.005, 30, 30.000001, 1e-9, 120];
  const out: Request[] = [];
  for (let i = 0; i < count; i++) {
    const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)]!;
    const seconds = next() < 0.1 ? pick(edges) : 10 ** (next() * 6 - 4.5);
    out.push({ port: pick(ports), route: pick(routes), status: pick(statuses), seconds });
  }
  return out;
}

function record(m: Metrics, list: Request[]): void {
  for (const r of list) m.recordRequest(m.routeMetrics(r.port, r.route), r.status, r.seconds);
}

/** The two request metrics of a snapshot, keeping only the series of `ports`. */
function requestMetrics(snapshot: Snapshot, ports: number[]): Snapshot {
  const wanted = new Set(ports.map(String));
  return snapshot
    .filter((m) => NAMES.includes(m.name))
    .map((m) => ({ ...m, values: m.values.filter((v) => wanted.has(String(v.labels.port))) }));
}

/** The Prometheus text of those metrics after the primary's aggregation, series of `ports` only. */
async function rendered(snapshots: Snapshot[], ports: number[]): Promise<string[]> {
  const text = await AggregatorRegistry.aggregate(snapshots.map((s) => requestMetrics(s, ports))).metrics();
  return text.split("\n").filter((l) => l.startsWith("#") ? NAMES.some((n) => l.includes(` ${n} `)) : NAMES.some((n) => l.startsWith(n)));
}

describe("request metrics", () => {
  it("snapshot and rendering equal prom-client's own for the same requests", async () => {
    const ports = [7401, 7402];
    const list = requests(5000, ports, ["alice", "bob", "cluster", "none", 'we"ird\\\u00e9']);
    const reference = new Reference();
    for (const r of list) reference.record(r.port, r.route, r.status, r.seconds);
    record(metrics, list);
    const ours = requestMetrics(await metrics.dataSnapshot(), ports);
    const theirs = requestMetrics(await reference.registry.getMetricsAsJSON(), ports);
    // Same keys in the same order, same values (sums included, to the last bit).
    expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
    expect(ours).toStrictEqual(theirs);
    expect(await rendered([await metrics.dataSnapshot()], ports)).toEqual(await rendered([theirs], ports));
  });

  it("stays equal when snapshots are taken between requests", async () => {
    const ports = [7403];
    const list = requests(3000, ports, ["alice", "cluster", "none"], 7);
    const reference = new Reference();
    for (let i = 0; i < list.length; i += 250) {
      const part = list.slice(i, i + 250);
      for (const r of part) reference.record(r.port, r.route, r.status, r.seconds);
      record(metrics, part);
      const ours = requestMetrics(await metrics.dataSnapshot(), ports);
      expect(JSON.stringify(ours)).toBe(JSON.stringify(requestMetrics(await reference.registry.getMetricsAsJSON(), ports)));
    }
  });

  it("counters stay monotonic across configuration generations, per route and status class", async () => {
    const port = 7404;
    const rule = (value: string) => ({ match: [{ matchHeader: { name: "x-gefyra", value } }] });
    const bridge = (name: string, endpoint: string): [string, Bridge] => [name, { endpoint, rules: [rule(name)] } as Bridge];
    const build = (generation: number, bridges: [string, Bridge][]) =>
      buildPortTable({ port, clusterUpstream: ["10.0.0.1:80"], bridges: Object.fromEntries(bridges) }, generation, { loopLimit: 5, connectMs: 1000 });
    const reference = new Reference();
    const serve = (table: ReturnType<typeof build>, route: "alice" | "bob" | "carol" | "cluster" | "none", status: number, seconds: number) => {
      const target = route === "none" ? table.unroutedMetrics : route === "cluster" ? table.cluster.metrics : table.bridges.find((b) => b.name === route)!.metrics;
      metrics.recordRequest(target, status, seconds);
      reference.record(port, route, status, seconds);
    };

    const gen1 = build(1, [bridge("alice", "10.0.0.7:80"), bridge("bob", "10.0.0.8:80")]);
    for (let i = 0; i < 10; i++) serve(gen1, "alice", 200, 0.002 * i);
    for (let i = 0; i < 3; i++) serve(gen1, "bob", 502, 0.3);
    serve(gen1, "cluster", 404, 0.004);
    serve(gen1, "none", 400, 0.0001);
    // (A copy: prom-client's counter values are live objects.)
    const first = structuredClone(await metrics.dataSnapshot());

    // bob removed, carol added, alice now second and on another endpoint.
    const gen2 = build(2, [bridge("carol", "10.0.0.9:80"), bridge("alice", "10.0.0.70:80")]);
    expect(gen2.bridges[1]!.metrics).toBe(gen1.bridges[0]!.metrics);
    for (let i = 0; i < 5; i++) serve(gen2, "alice", 201, 0.05);
    serve(gen2, "carol", 200, 12);
    serve(gen2, "cluster", 503, 40);
    serve(gen2, "none", 508, 0.0002);
    // bob back: continues from where it was.
    const gen3 = build(3, [bridge("bob", "10.0.0.8:80")]);
    serve(gen3, "bob", 200, 0.001);
    const second = await metrics.dataSnapshot();

    const requestsOf = (s: Snapshot, route: string, statusClass: string) =>
      s.find((m) => m.name === REQUESTS)?.values.find((v) => v.labels.port === String(port) && v.labels.route === route && v.labels.status_class === statusClass)?.value;
    const durationOf = (s: Snapshot, suffix: "count" | "sum", route: string) =>
      s.find((m) => m.name === DURATION)?.values.find((v) => metricName(v) === `${DURATION}_${suffix}` && v.labels.port === String(port) && v.labels.route === route)?.value;

    expect(requestsOf(first, "alice", "2xx")).toBe(10);
    expect(requestsOf(second, "alice", "2xx")).toBe(15);
    expect(requestsOf(second, "bob", "5xx")).toBe(3);
    expect(requestsOf(second, "bob", "2xx")).toBe(1);
    expect(requestsOf(second, "carol", "2xx")).toBe(1);
    expect(requestsOf(second, "cluster", "4xx")).toBe(1);
    expect(requestsOf(second, "cluster", "5xx")).toBe(1);
    expect(requestsOf(second, "none", "4xx")).toBe(1);
    expect(requestsOf(second, "none", "5xx")).toBe(1);
    expect(durationOf(second, "count", "alice")).toBe(15);
    expect(durationOf(second, "count", "bob")).toBe(4);
    let aliceSum = 0;
    for (let i = 0; i < 10; i++) aliceSum += 0.002 * i;
    for (let i = 0; i < 5; i++) aliceSum += 0.05;
    expect(durationOf(second, "sum", "alice")).toBe(aliceSum);
    // And everything, buckets included, as prom-client had it.
    expect(JSON.stringify(requestMetrics(second, [port]))).toBe(JSON.stringify(requestMetrics(await reference.registry.getMetricsAsJSON(), [port])));
    // Monotonic: no series went down between the two snapshots.
    for (const name of NAMES) {
      for (const v of requestMetrics(first, [port]).find((m) => m.name === name)!.values) {
        const later = requestMetrics(second, [port])
          .find((m) => m.name === name)!
          .values.find((w) => metricName(w) === metricName(v) && JSON.stringify(w.labels) === JSON.stringify(v.labels));
        expect(later!.value).toBeGreaterThanOrEqual(v.value);
      }
    }
  });

  it("two workers' snapshots sum like prom-client's (threads > 1)", async () => {
    const ports = [7405, 7406];
    // A second data-plane process: a fresh copy of the module with its own registry and numbers.
    vi.resetModules();
    const worker2 = (await import("../src/observability/metrics.ts")) as Metrics;
    expect(worker2.dataSnapshot).not.toBe(metrics.dataSnapshot);
    const list1 = requests(2000, ports, ["alice", "cluster", "none"], 3);
    const list2 = requests(1500, ports, ["cluster", "bob", "alice"], 5);
    const ref1 = new Reference();
    const ref2 = new Reference();
    for (const r of list1) ref1.record(r.port, r.route, r.status, r.seconds);
    for (const r of list2) ref2.record(r.port, r.route, r.status, r.seconds);
    record(metrics, list1);
    record(worker2, list2);
    const ours = await rendered([await metrics.dataSnapshot(), await worker2.dataSnapshot()], ports);
    const theirs = await rendered([await ref1.registry.getMetricsAsJSON(), await ref2.registry.getMetricsAsJSON()], ports);
    expect(ours).toEqual(theirs);
    expect(ours.some((l) => l.startsWith(`${REQUESTS}{port="7405",route="alice",status_class="2xx"}`))).toBe(true);
    // renderMetrics (what GET /metrics serves) shows the same lines.
    const served = (await metrics.renderMetrics([await metrics.dataSnapshot(), await worker2.dataSnapshot()])).split("\n");
    expect(served.filter((l) => ports.some((p) => l.includes(`port="${p}"`)))).toEqual(ours.filter((l) => !l.startsWith("#")));
  });
});
