/**
 * The logging phase: one JSON line per request (always runs last, whatever happened), the request's
 * metrics, and — only while someone watches `GET /v1/events` — its routing event.
 */
import type { RequestContext } from "../proxy/context.ts";
import { requestChannel } from "./events.ts";
import { isoNow, log, writeLine } from "./log.ts";
import { recordRequest } from "./metrics.ts";

const json = JSON.stringify;
/** Access lines are `info`: off when the level is above it (fixed at start, like the logger's level). */
const logsRequests = log.isLevelEnabled("info");
const PID = process.pid;

/**
 * The access-log line, formatted by hand (same fields and format as every other log line: pino's
 * `level`, `time`, `pid`, `service`, ..., `msg`). Strings go through JSON.stringify for escaping.
 */
function accessLine(ctx: RequestContext, status: number, path: string, route: string | null, durationMs: number): string {
  let line = `{"level":"info","time":"${isoNow()}","pid":${PID},"service":"carrier2","request_id":${json(ctx.requestId)},"port":${ctx.table.port},"method":${json(ctx.req.method ?? "")},"path":${json(path)},"route":${route === null ? "null" : json(route)},"upstream":${ctx.endpoint ? json(ctx.endpoint.address) : "null"},"status":${status},"duration_ms":${durationMs},"generation":${ctx.table.generation}`;
  if (ctx.hit) line += `,"rule":${ctx.hit.rule}`;
  if (ctx.fellBack) line += `,"fallback":true`;
  if (ctx.error) line += `,"error":${json(ctx.error.code)},"error_detail":${json(ctx.error.message)}`;
  return `${line},"msg":"request"}\n`;
}

export function logRequest(ctx: RequestContext, status: number): void {
  const ms = performance.now() - ctx.startedAt;
  const route = ctx.route?.name ?? null;
  const path = ctx.target || ctx.req.url || "";
  const durationMs = Math.round(ms * 1000) / 1000;
  if (logsRequests) writeLine(accessLine(ctx, status, path, route, durationMs));
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
      duration_ms: durationMs,
      generation: ctx.table.generation,
      upstream: ctx.endpoint?.address ?? null,
      request_id: ctx.requestId,
      error: ctx.error?.code ?? null,
    });
  }
}
