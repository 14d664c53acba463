/**
 * The admin API (fastify): route-table changes, explain, metrics, the event stream. One module per
 * concern; this one wires them with what they share — body parsers (JSON, YAML), authentication,
 * error responses with codes, and one log line per request (never the token).
 *
 * Request lifecycle: onRequest (auth → 401) → body parsing (→ 400/413/415) → schema (→ 400) → handler
 * (→ 2xx, or an AdminError: 404/409/412/400/500) → onResponse (log).
 */
import type { AddressInfo } from "node:net";
import { type FastifyBaseLogger, type FastifyError, type FastifyInstance, fastify, LogController } from "fastify";
import { log } from "../observability/log.ts";
import { AdminError } from "./errors.ts";
import { type AdminContext, YAML_TYPES, YamlBody } from "./http.ts";
import { registerBridgeRoutes } from "./routes-bridges.ts";
import { registerConfigRoutes } from "./routes-config.ts";
import { registerEventRoutes } from "./routes-events.ts";
import { registerExplainRoutes } from "./routes-explain.ts";
import { registerStatusRoutes } from "./routes-status.ts";

/** Configurations with thousands of bridges are large. */
const BODY_LIMIT = 16 * 1024 * 1024;
const PUBLIC = new Set(["/healthz", "/readyz"]);
const QUIET = new Set(["/healthz", "/readyz", "/metrics", "/v1/status"]);

/** fastify's own errors (body parsing, schema) as admin errors. */
function toAdminError(err: FastifyError): AdminError {
  if (err instanceof AdminError) return err;
  if (err.validation) {
    const issues = err.validation.map((v) => {
      const missing = (v.params as { missingProperty?: string }).missingProperty;
      const path = [...v.instancePath.split("/").filter(Boolean), ...(missing ? [missing] : [])].join(".");
      return { path, message: missing ? "is required" : (v.message ?? "invalid") };
    });
    return new AdminError("C2_ADMIN_BAD_REQUEST", `invalid request ${err.validationContext ?? "body"}`, { issues });
  }
  switch (err.code) {
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new AdminError("C2_ADMIN_UNSUPPORTED_MEDIA_TYPE");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AdminError("C2_ADMIN_BODY_TOO_LARGE", `request body larger than ${BODY_LIMIT} bytes`);
  }
  if (err.statusCode === 400) return new AdminError("C2_ADMIN_BAD_REQUEST", err.message, { issues: [{ path: "", message: err.message }] });
  return new AdminError("C2_ADMIN_INTERNAL", err.message, { cause: err });
}

export function buildAdminApp(ctx: AdminContext): FastifyInstance {
  const app = fastify({
    loggerInstance: log.child({ component: "admin" }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    forceCloseConnections: true,
  });

  app.removeContentTypeParser("text/plain");
  app.addContentTypeParser(YAML_TYPES, { parseAs: "string" }, (_req, body, done) => done(null, new YamlBody(body as string)));

  app.addHook("onRequest", async (req, reply) => {
    const route = req.routeOptions.url;
    if (route !== undefined && PUBLIC.has(route)) return;
    if (route === "/metrics" && !ctx.metricsAuth) return;
    if (!ctx.auth.check(req.headers.authorization)) {
      reply.header("www-authenticate", 'Bearer realm="carrier2"');
      throw new AdminError("C2_ADMIN_UNAUTHORIZED");
    }
  });

  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url;
    const entry = { method: req.method, path: req.url.split("?")[0], status: reply.statusCode, duration_ms: Math.round(reply.elapsedTime * 1000) / 1000 };
    if (route !== undefined && QUIET.has(route) && reply.statusCode < 400) log.debug(entry, "admin request");
    else log.info(entry, "admin request");
  });

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const error = toAdminError(err);
    if (error.status >= 500) log.error({ err: error.cause ?? error, code: error.code }, "admin request failed");
    return reply.code(error.status).type("application/json").send(error.body());
  });

  app.setNotFoundHandler((req) => {
    if (!ctx.auth.check(req.headers.authorization)) throw new AdminError("C2_ADMIN_UNAUTHORIZED");
    throw new AdminError("C2_ADMIN_NOT_FOUND", `no endpoint ${req.method} ${req.url.split("?")[0]}`);
  });

  registerStatusRoutes(app, ctx);
  registerConfigRoutes(app, ctx);
  registerBridgeRoutes(app, ctx);
  registerExplainRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  return app;
}

export interface AdminServer {
  /** `host:port` actually bound (the port is chosen when 0 was asked). */
  address: string;
  close(): Promise<void>;
}

export async function startAdmin(ctx: AdminContext, host: string, port: number): Promise<AdminServer> {
  const app = buildAdminApp(ctx);
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close().catch(() => {});
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot listen on admin address ${host.includes(":") ? `[${host}]` : host}:${port}: ${e.code ?? e.message}`, { cause: err });
  }
  const addr = app.server.address() as AddressInfo;
  return {
    address: addr.family === "IPv6" ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`,
    close: async () => {
      await app.close();
      ctx.auth.close();
    },
  };
}
