/**
 * A port's route table for one configuration generation: the compiled matcher plus, per bridge and for
 * the cluster, the upstream endpoints. Immutable once built; a new generation builds a new table and
 * the listener swaps one reference (requests keep the table they started with).
 */
import type { ProxyConfig } from "../config/index.ts";
import { type RouteMetrics, routeMetrics } from "../observability/metrics.ts";
import { compileRouteSet, type RouteSet } from "../routes/index.ts";
import { type Endpoint, parseEndpoint } from "../upstream/endpoint.ts";

export interface Route {
  kind: "bridge" | "cluster";
  /** Bridge name, or `cluster`. */
  name: string;
  endpoints: readonly Endpoint[];
  /** For bridges: go to the cluster when the endpoint cannot be reached. */
  fallbackToCluster: boolean;
  /** `name` as a JSON string, for the access log. */
  nameJson: string;
  /** This route's request metrics (the same object in every generation). */
  metrics: RouteMetrics;
}

export interface PortTable {
  port: number;
  generation: number;
  /** The port terminates TLS (for X-Forwarded-Proto). */
  secure: boolean;
  routes: RouteSet;
  /** Same order as `routes.names`. */
  bridges: readonly Route[];
  cluster: Route;
  /** A request that already passed this instance this many times gets 508. */
  loopLimit: number;
  /** Connect timeout toward upstreams (used directly by tcp ports; HTTP pools have their own). */
  connectMs: number;
  /** Round-robin cursor over the cluster endpoints. */
  cursor: { next: number };
  /** Request metrics of requests refused before routing (route `none`). */
  unroutedMetrics: RouteMetrics;
}

export function buildPortTable(proxy: ProxyConfig, generation: number, limits: { loopLimit: number; connectMs: number }): PortTable {
  const compiled = compileRouteSet(proxy.bridges, `port ${proxy.port} bridges`);
  if (compiled.issues) {
    // Configurations are validated before they reach here; this is a bug, not bad input.
    throw new Error(`unvalidated route table: ${compiled.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  }
  const secure = proxy.tls !== undefined;
  const sni = proxy.tls?.sni || undefined;
  const bridges = compiled.routes.names.map(
    (name, i): Route => {
      const b = compiled.routes.bridges[i]!;
      return {
        kind: "bridge",
        name,
        endpoints: [parseEndpoint(b.endpoint, b.tls ?? secure, b.sni || sni)],
        fallbackToCluster: b.fallback === "cluster",
        nameJson: JSON.stringify(name),
        metrics: routeMetrics(proxy.port, name),
      };
    },
  );
  const clusterTls = proxy.clusterUpstreamTls ?? secure;
  const cluster: Route = {
    kind: "cluster",
    name: "cluster",
    endpoints: proxy.clusterUpstream.map((u) => parseEndpoint(u, clusterTls, sni)),
    fallbackToCluster: false,
    nameJson: '"cluster"',
    metrics: routeMetrics(proxy.port, "cluster"),
  };
  return {
    port: proxy.port,
    generation,
    secure,
    routes: compiled.routes,
    bridges,
    cluster,
    ...limits,
    cursor: { next: 0 },
    unroutedMetrics: routeMetrics(proxy.port, "none"),
  };
}

/** The endpoint to use for a route now (round-robin for the cluster). */
export function pickEndpoint(table: PortTable, route: Route): Endpoint | undefined {
  const list = route.endpoints;
  if (list.length <= 1) return list[0];
  const i = table.cursor.next++ % list.length;
  if (table.cursor.next > 1e9) table.cursor.next = 0;
  return list[i];
}

/** Every endpoint key a table uses (to keep their pools open). */
export function endpointKeys(table: PortTable): string[] {
  return [...table.bridges, table.cluster].flatMap((r) => r.endpoints.map((e) => e.key));
}
