/** The logging phase: one JSON line per request (always runs last, whatever happened). */
import type { RequestContext } from "../proxy/context.ts";
import { log } from "./log.ts";

export function logRequest(ctx: RequestContext, status: number): void {
  const entry: Record<string, unknown> = {
    request_id: ctx.requestId,
    port: ctx.table.port,
    method: ctx.req.method,
    path: ctx.target || ctx.req.url,
    route: ctx.route?.name ?? null,
    upstream: ctx.endpoint?.address ?? null,
    status,
    duration_ms: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
    generation: ctx.table.generation,
  };
  if (ctx.hit) entry.rule = ctx.hit.rule;
  if (ctx.fellBack) entry.fallback = true;
  if (ctx.error) {
    entry.error = ctx.error.code;
    entry.error_detail = ctx.error.message;
  }
  log.info(entry, "request");
}
