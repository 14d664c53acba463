/**
 * `POST /v1/explain` `{port, method?, path, headers?}`: which bridge (or the cluster) would serve such a
 * request under the current generation, and which rule matched. Uses the route model's reference
 * evaluator — the plain statement of the semantics that the compiled matcher is tested against.
 */
import type { FastifyInstance } from "fastify";
import { compileRouteSet, evaluateReference, MatchInput, type RouteSet } from "../routes/index.ts";
import { AdminError } from "./errors.ts";
import type { AdminContext } from "./http.ts";

interface ExplainBody {
  port: number;
  method?: string;
  path: string;
  headers?: Record<string, string | string[]>;
}

const bodySchema = {
  type: "object",
  additionalProperties: false,
  required: ["port", "path"],
  properties: {
    port: { type: "integer", minimum: 1, maximum: 65535 },
    method: { type: "string", minLength: 1, maxLength: 32, default: "GET" },
    path: { type: "string", pattern: "^/", maxLength: 65536 },
    headers: {
      type: "object",
      additionalProperties: { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
    },
  },
} as const;

export function registerExplainRoutes(app: FastifyInstance, { store }: AdminContext): void {
  /** Route sets of the current generation, compiled on first use. */
  let cache = { generation: -1, sets: new Map<number, RouteSet>() };

  app.post<{ Body: ExplainBody }>("/v1/explain", { schema: { body: bodySchema } }, async (req) => {
    const { generation, config } = store.snapshot;
    const { port, path } = req.body;
    const method = (req.body.method ?? "GET").toUpperCase();
    const proxy = config?.proxy.find((p) => p.port === port);
    if (!proxy) throw new AdminError("C2_ADMIN_PORT_NOT_FOUND", `no proxy on port ${port}`, { details: { port } });
    if (cache.generation !== generation) cache = { generation, sets: new Map() };
    let routes = cache.sets.get(port);
    if (!routes) {
      const compiled = compileRouteSet(proxy.bridges, `proxy(${port}).bridges`);
      if (!compiled.routes) throw new AdminError("C2_ADMIN_INTERNAL", "the current configuration does not compile");
      routes = compiled.routes;
      cache.sets.set(port, routes);
    }
    const headers: Record<string, string | string[]> = {};
    // As on the wire: Node hands request header bytes over as latin1 strings (see routes/facts.ts).
    const wire = (x: string) => Buffer.from(x, "utf8").toString("latin1");
    for (const [k, v] of Object.entries(req.body.headers ?? {})) headers[k.toLowerCase()] = Array.isArray(v) ? v.map(wire) : wire(v);
    const hit = evaluateReference(routes.conditions, new MatchInput({ method, target: path, headers }));
    if (!hit) {
      return { generation, port, method, path, route: "cluster", kind: "cluster", rule: null, match: null, upstreams: proxy.clusterUpstream };
    }
    const name = routes.names[hit.bridge]!;
    const bridge = routes.bridges[hit.bridge]!;
    return {
      generation,
      port,
      method,
      path,
      route: name,
      kind: "bridge",
      rule: hit.rule,
      match: bridge.rules[hit.rule]!.match,
      upstreams: [bridge.endpoint],
      fallback: bridge.fallback ?? "error",
    };
  });
}
