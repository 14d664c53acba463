/**
 * `GET /v1/config` and `PUT /v1/config`: the whole configuration, versioned by generation.
 *
 *   GET → 200 {generation, config, warnings}, ETag "<generation>"  (304 on a matching If-None-Match)
 *   PUT → 412 If-Match names another generation
 *       → 400 invalid (nothing changes) {error, code, issues}
 *       → 409 a new port cannot be bound (nothing changes)
 *       → 200 {generation, warnings} once every worker serves the new table
 */
import type { FastifyInstance } from "fastify";
import { stringify } from "yaml";
import { parseConfigText, validateConfig } from "../config/index.ts";
import { type AdminContext, etag, wantsYaml, YamlBody } from "./http.ts";

export function registerConfigRoutes(app: FastifyInstance, { store }: AdminContext): void {
  app.get("/v1/config", async (req, reply) => {
    const { generation, config, warnings } = store.snapshot;
    reply.header("etag", etag(generation));
    const inm = req.headers["if-none-match"]?.split(",") ?? [];
    if (inm.some((t) => t.trim().replace(/^W\//, "") === etag(generation))) {
      return reply.code(304).send();
    }
    const body = { generation, config: config ?? null, warnings };
    if (wantsYaml(req.headers.accept)) return reply.type("application/yaml").send(stringify(body));
    return body;
  });

  app.put("/v1/config", async (req, reply) => {
    const body = req.body;
    const next = await store.change(() => (body instanceof YamlBody ? parseConfigText(body.text) : validateConfig(body)), {
      source: "admin",
      ifMatch: req.headers["if-match"],
    });
    reply.header("etag", etag(next.generation));
    return { generation: next.generation, warnings: next.warnings };
  });
}
