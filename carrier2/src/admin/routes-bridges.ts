/**
 * One bridge at a time: `/v1/proxies/{port}/bridges/{name}`. The change is made to a copy of the
 * current configuration, which is then validated and applied whole, exactly like `PUT /v1/config`
 * (same If-Match, generation and error rules).
 *
 *   GET    → 200 the bridge                      (404 no such port / bridge)
 *   PUT    → 201 created, 200 replaced {generation, warnings}; a new bridge goes last (lowest
 *            precedence), a replaced one keeps its place
 *   DELETE → 204                                 (404 no such port / bridge)
 */
import type { FastifyInstance } from "fastify";
import { type Carrier2Config, type ProxyConfig, validateConfig } from "../config/index.ts";
import type { Bridge } from "../routes/index.ts";
import type { Snapshot } from "./config-store.ts";
import { AdminError } from "./errors.ts";
import { type AdminContext, bodyValue, etag, portParam } from "./http.ts";

interface BridgeParams {
  port: string;
  name: string;
}

const URL = "/v1/proxies/:port/bridges/:name";

function proxyIndex(current: Snapshot, port: number): number {
  const i = current.config?.proxy.findIndex((p) => p.port === port) ?? -1;
  if (i < 0) throw new AdminError("C2_ADMIN_PORT_NOT_FOUND", `no proxy on port ${port}`, { details: { port } });
  return i;
}

/** A mutable copy of the configuration with `edit` applied to the bridges of proxy `index`. */
function withBridges(config: Carrier2Config, index: number, edit: (bridges: Record<string, Bridge>) => void): Carrier2Config {
  const copy = structuredClone(config) as Carrier2Config & { proxy: ProxyConfig[] };
  edit(copy.proxy[index]!.bridges);
  return copy;
}

export function registerBridgeRoutes(app: FastifyInstance, { store }: AdminContext): void {
  app.get<{ Params: BridgeParams }>(URL, async (req, reply) => {
    const port = portParam(req.params.port);
    const current = store.snapshot;
    const bridge = current.config!.proxy[proxyIndex(current, port)]!.bridges[req.params.name];
    if (!bridge) throw new AdminError("C2_ADMIN_BRIDGE_NOT_FOUND", `no bridge ${req.params.name} on port ${port}`);
    reply.header("etag", etag(current.generation));
    return bridge;
  });

  app.put<{ Params: BridgeParams }>(URL, async (req, reply) => {
    const port = portParam(req.params.port);
    const { name } = req.params;
    const bridge = bodyValue(req.body);
    let created = false;
    const next = await store.change(
      (current) => {
        const index = proxyIndex(current, port);
        created = !Object.hasOwn(current.config!.proxy[index]!.bridges, name);
        return validateConfig(withBridges(current.config!, index, (b) => (b[name] = bridge as Bridge)));
      },
      { source: "admin", ifMatch: req.headers["if-match"] },
    );
    reply.code(created ? 201 : 200).header("etag", etag(next.generation));
    if (created) reply.header("location", `/v1/proxies/${port}/bridges/${encodeURIComponent(name)}`);
    return { generation: next.generation, warnings: next.warnings };
  });

  app.delete<{ Params: BridgeParams }>(URL, async (req, reply) => {
    const port = portParam(req.params.port);
    const { name } = req.params;
    const next = await store.change(
      (current) => {
        const index = proxyIndex(current, port);
        if (!Object.hasOwn(current.config!.proxy[index]!.bridges, name)) {
          throw new AdminError("C2_ADMIN_BRIDGE_NOT_FOUND", `no bridge ${name} on port ${port}`);
        }
        return validateConfig(withBridges(current.config!, index, (b) => delete b[name]));
      },
      { source: "admin", ifMatch: req.headers["if-match"] },
    );
    reply.code(204).header("etag", etag(next.generation));
    return reply.send();
  });
}
