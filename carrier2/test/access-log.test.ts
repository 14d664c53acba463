/**
 * The access-log line is formatted by hand with pre-escaped parts: it must stay byte for byte what the
 * straightforward `JSON.stringify` formatting writes (field order, escaping, number formatting).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { accessLine, jsonString, millis } from "../src/observability/access-log.ts";
import type { RequestContext } from "../src/proxy/context.ts";
import { ProxyError } from "../src/proxy/errors.ts";
import { buildPortTable, type PortTable, type Route } from "../src/proxy/route-table.ts";
import { type Endpoint, parseEndpoint } from "../src/upstream/endpoint.ts";

const json = JSON.stringify;

/** The line as the logging phase wrote it before it was optimized (the reference). */
function referenceLine(ctx: RequestContext, status: number, micros: number, time: string): string {
  const route = ctx.route?.name ?? null;
  const path = ctx.target || ctx.req.url || "";
  const durationMs = micros / 1000;
  let line = `{"level":"info","time":"${time}","pid":${process.pid},"service":"carrier2","request_id":${json(ctx.requestId)},"port":${ctx.table.port},"method":${json(ctx.req.method ?? "")},"path":${json(path)},"route":${route === null ? "null" : json(route)},"upstream":${ctx.endpoint ? json(ctx.endpoint.address) : "null"},"status":${status},"duration_ms":${durationMs},"generation":${ctx.table.generation}`;
  if (ctx.hit) line += `,"rule":${ctx.hit.rule}`;
  if (ctx.fellBack) line += `,"fallback":true`;
  if (ctx.error) line += `,"error":${json(ctx.error.code)},"error_detail":${json(ctx.error.message)}`;
  return `${line},"msg":"request"}\n`;
}

const rule = (value: string) => ({ match: [{ matchHeader: { name: "x-gefyra", value } }] });

function table(bridges: Record<string, string>, generation = 4): PortTable {
  const config = Object.fromEntries(Object.entries(bridges).map(([name, endpoint]) => [name, { endpoint, rules: [rule(name)] }]));
  return buildPortTable({ port: 7301, clusterUpstream: ["10.0.0.1:8080", "[fd00::1]:8080"], bridges: config }, generation, { loopLimit: 5, connectMs: 1000 });
}

interface Fields {
  requestId?: string;
  method?: string | undefined;
  target?: string;
  url?: string;
  route?: Route | undefined;
  endpoint?: Endpoint | undefined;
  hit?: { bridge: number; rule: number } | undefined;
  fellBack?: boolean;
  error?: ProxyError | undefined;
}

function ctxOf(t: PortTable, f: Fields): RequestContext {
  return {
    table: t,
    req: { method: "method" in f ? f.method : "GET", url: f.url ?? "/u", headers: {} },
    requestId: f.requestId ?? "0b6c4a57-2f4c-4d0e-9a49-6c2f3c1d9e8a",
    target: f.target ?? "/t",
    route: f.route,
    endpoint: f.endpoint,
    hit: f.hit,
    fellBack: f.fellBack ?? false,
    error: f.error,
  } as unknown as RequestContext;
}

/** accessLine with its time replaced by the reference's (the clock moves between the two calls). */
function lineWithTime(ctx: RequestContext, status: number, micros: number): { line: string; time: string } {
  const line = accessLine(ctx, status, micros);
  const time = /^\{"level":"info","time":"([^"]+)"/.exec(line)?.[1] ?? "";
  return { line, time };
}

function expectSameLine(ctx: RequestContext, status: number, micros: number): void {
  const { line, time } = lineWithTime(ctx, status, micros);
  expect(line).toBe(referenceLine(ctx, status, micros, time));
  expect(JSON.parse(line).msg).toBe("request");
}

describe("access line", () => {
  const t = table({ alice: "10.0.0.7:8080", "b.o-b_2": "[::1]:9000" });
  const alice = t.bridges[0]!;
  const bob = t.bridges[1]!;

  it.each<[string, Fields, number, number]>([
    ["a bridge hit", { route: alice, endpoint: alice.endpoints[0], hit: { bridge: 0, rule: 0 } }, 200, 1234],
    ["the cluster, second endpoint", { route: t.cluster, endpoint: t.cluster.endpoints[1] }, 304, 0],
    ["an IPv6 bridge upstream", { route: bob, endpoint: bob.endpoints[0], hit: { bridge: 1, rule: 3 } }, 101, 999_999],
    ["refused before routing", { error: new ProxyError("C2_LOOP_DETECTED", 'passed "x" 5 times') }, 508, 17],
    ["no target yet: the raw url", { target: "", url: "http://h/a?b" }, 400, 1],
    ["no target, no url", { target: "", url: "" }, 400, 1],
    ["no method", { method: undefined }, 400, 1],
    [
      "fallback to the cluster after an upstream error",
      { route: t.cluster, endpoint: t.cluster.endpoints[0], hit: { bridge: 0, rule: 0 }, fellBack: true, error: new ProxyError("C2_UPSTREAM_CONNECT", "connect ECONNREFUSED 10.0.0.7:8080") },
      200,
      5_000_001,
    ],
    ["a client that went away", { route: alice, endpoint: alice.endpoints[0], error: new ProxyError("C2_DOWNSTREAM_ABORTED") }, 499, 120],
  ])("%s", (_name, fields, status, micros) => {
    expectSameLine(ctxOf(t, fields), status, micros);
  });

  it.each<[string, Fields]>([
    ["a request id from a header with quotes, backslash and non-ASCII", { requestId: 'request-id:a"b\\c\u00e9' }],
    ["a request id with control characters", { requestId: "x-amzn-trace-id:\u0000\t\n\u001f\u007f" }],
    ["a path with quotes, backslash, non-ASCII and a lone surrogate", { target: '/p"a\\t\u00e9\u20ac\ud83d\ude00?q=\ud800' }],
    ["a method needing escapes (not from Node's parser)", { method: 'G"E\\T' }],
    ["an error detail needing escapes", { error: new ProxyError("C2_BAD_REQUEST", 'unsupported request target "a\\b\u2028"') }],
  ])("%s", (_name, fields) => {
    expectSameLine(ctxOf(t, { route: alice, endpoint: alice.endpoints[0], ...fields }), 200, 42);
  });

  it("a route name and upstream needing escapes (names are validated, but escaping must not rely on it)", () => {
    const odd = table({ 'q"u\\o\u00e9': "10.0.0.9:80" });
    const route = odd.bridges[0]!;
    const endpoint = parseEndpoint('h"o\\st\u00e9:80', false, undefined);
    expectSameLine(ctxOf(odd, { route, endpoint, hit: { bridge: 0, rule: 0 } }), 200, 3);
  });

  it("the same for arbitrary request ids, paths and durations", () => {
    const anyString = fc.string({ unit: fc.oneof(fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), fc.constantFrom('"', "\\", "/", "a")) });
    fc.assert(
      fc.property(anyString, anyString, fc.integer({ min: 0, max: 2 ** 40 }), (requestId, target, micros) => {
        const ctx = ctxOf(t, { requestId, target: `/${target}`, route: alice, endpoint: alice.endpoints[0] });
        const { line, time } = lineWithTime(ctx, 200, micros);
        return line === referenceLine(ctx, 200, micros, time);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("formatting helpers", () => {
  it("jsonString is JSON.stringify", () => {
    for (const s of ["", "plain", '"', "\\", "\u0000", "\u001f", "\u007f", "\u00e9", "\u2028", "\ud800", "\udfff", "\ud83d\ude00", "a\ud83db"]) {
      expect(jsonString(s), json(s)).toBe(json(s));
    }
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => jsonString(s) === json(s)));
  });

  it("millis is String(micros / 1000)", () => {
    const wrong: number[] = [];
    for (let micros = 0; micros < 1_000_000; micros++) if (millis(micros) !== String(micros / 1000)) wrong.push(micros);
    expect(wrong).toEqual([]);
    for (const micros of [-0, -1, 1e12 - 1, 1e12, 2 ** 53, 0.5, Number.NaN]) expect(millis(micros)).toBe(String(micros / 1000));
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e12 }), (micros) => millis(micros) === String(micros / 1000)));
  });
});
