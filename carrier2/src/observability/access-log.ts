/**
 * The logging phase: one JSON line per request (always runs last, whatever happened), the request's
 * metrics, and — only while someone watches `GET /v1/events` — its routing event.
 */
import type { RequestContext } from "../proxy/context.ts";
import { requestChannel } from "./events.ts";
import { isoNow, log, writeLine } from "./log.ts";
import { recordRequest, recordUpstreamError } from "./metrics.ts";

/** Access lines are `info`: off when the level is above it (fixed at start, like the logger's level). */
const logsRequests = log.isLevelEnabled("info");
const AFTER_TIME = `","pid":${process.pid},"service":"carrier2","request_id":`;

export function logRequest(ctx: RequestContext, status: number): void {
  const ms = performance.now() - ctx.startedAt;
  const micros = Math.round(ms * 1000);
  if (logsRequests) writeLine(accessLine(ctx, status, micros));
  const route = ctx.route;
  recordRequest(route ? route.metrics : ctx.table.unroutedMetrics, status, ms / 1000);
  const error = ctx.error;
  if (error && error.source === "upstream") recordUpstreamError(ctx.table.port, route ? route.name : "none", error);
  if (requestChannel.hasSubscribers) {
    requestChannel.publish({
      type: "request",
      time: new Date().toISOString(),
      port: ctx.table.port,
      route: route?.name ?? null,
      rule: ctx.hit && route?.kind === "bridge" ? ctx.hit.rule : null,
      method: ctx.req.method ?? "",
      path: ctx.target || ctx.req.url || "",
      status,
      duration_ms: micros / 1000,
      generation: ctx.table.generation,
      upstream: ctx.endpoint?.address ?? null,
      request_id: ctx.requestId,
      error: ctx.error?.code ?? null,
    });
  }
}

/**
 * The access-log line, formatted by hand (same fields and format as every other log line: pino's
 * `level`, `time`, `pid`, `service`, ..., `msg`), exactly as `JSON.stringify` would write each value.
 * What is fixed per route or upstream is escaped once; `micros`: the duration in whole microseconds.
 */
export function accessLine(ctx: RequestContext, status: number, micros: number): string {
  const route = ctx.route;
  const endpoint = ctx.endpoint;
  let line = `{"level":"info","time":"${isoNow()}${AFTER_TIME}${jsonString(ctx.requestId)},"port":${ctx.table.port},"method":${jsonString(ctx.req.method ?? "")},"path":${jsonString(ctx.target || ctx.req.url || "")},"route":${route ? route.nameJson : "null"},"upstream":${endpoint ? endpoint.addressJson : "null"},"status":${status},"duration_ms":${millis(micros)},"generation":${ctx.table.generation}`;
  if (ctx.hit) line += `,"rule":${ctx.hit.rule}`;
  if (ctx.fellBack) line += `,"fallback":true`;
  if (ctx.error) line += `,"error":${jsonString(ctx.error.code)},"error_detail":${jsonString(ctx.error.message)}`;
  return `${line},"msg":"request"}\n`;
}

/** What JSON.stringify must escape: `"`, `\`, control characters, surrogates (lone ones become \uXXXX). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `JSON.stringify(s)`, without its cost for the usual string that needs no escaping. */
export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** `.001` ... `.999` without trailing zeros, and `""` for 0. */
const FRACTIONS = Array.from({ length: 1000 }, (_, f) => (f === 0 ? "" : `.${String(f).padStart(3, "0").replace(/0+$/, "")}`));

/**
 * `String(micros / 1000)` (the milliseconds, as JSON), without number-to-string conversion of a
 * fraction. Equal for every whole `micros` from 0 to 1e12 (beyond, and for anything odd, it is that).
 */
export function millis(micros: number): string {
  if (!(micros >= 0 && micros < 1e12)) return String(micros / 1000);
  const whole = Math.floor(micros / 1000);
  const fraction = FRACTIONS[micros - whole * 1000];
  return fraction === undefined ? String(micros / 1000) : `${whole}${fraction}`;
}
