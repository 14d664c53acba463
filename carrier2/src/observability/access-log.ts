/**
 * The logging phase: one JSON line per request (always runs last, whatever happened), the request's
 * metrics, and — only while someone watches `GET /v1/events` — its routing event.
 */
import type { RequestContext } from "../proxy/context.ts";
import { requestChannel } from "./events.ts";
import { log } from "./log.ts";
import { recordRequest } from "./metrics.ts";

export function logRequest(ctx: RequestContext, status: number): void {
  const ms = performance.now() - ctx.startedAt;
  const route = ctx.route?.name ?? null;
  const path = ctx.target || ctx.req.url || "";
  const entry: Record<string, unknown> = {
    request_id: ctx.requestId,
    port: ctx.table.port,
    method: ctx.req.method,
    path,
    route,
    upstream: ctx.endpoint?.address ?? null,
    status,
    duration_ms: Math.round(ms * 1000) / 1000,
    generation: ctx.table.generation,
  };
  if (ctx.hit) entry.rule = ctx.hit.rule;
  if (ctx.fellBack) entry.fallback = true;
  if (ctx.error) {
    entry.error = ctx.error.code;
    entry.error_detail = ctx.error.message;
  }
  log.info(entry, "request");
  recordRequest(ctx.table.port, route ?? "none", status, ms / 1000, ctx.error);
  if (requestChannel.hasSubscribers) {
    requestChannel.publish({
      type: "request",
      time: new Date().toISOString(),
      port: ctx.table.port,
      route,
      rule: ctx.hit && ctx.route?.kind === "bridge" ? ctx.hit.rule : null,
      method: ctx.req.method ?? "",
      path,
      status,
      duration_ms: entry.duration_ms as number,
      generation: ctx.table.generation,
      upstream: ctx.endpoint?.address ?? null,
      request_id: ctx.requestId,
      error: ctx.error?.code ?? null,
    });
  }
}
