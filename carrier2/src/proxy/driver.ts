/**
 * The request path, read top to bottom. Each request passes these phases (Pingora's model):
 *
 *   requestFilter     validate; loop guard                          → 400, 508
 *   selectRoute       rules → bridge or cluster; pick the endpoint   → 502 (no upstream)
 *   upstreamRequest   rewrite headers; dispatch with a streaming body
 *   responseStart     status + filtered headers to the client (upgrade: `101` joins the two sockets)
 *   responseData      body chunks, with backpressure both ways
 *   failToProxy       map the failure (→ 502/504, or abort mid-body); `fallback: cluster` retries on the
 *                     cluster when nothing reached the bridge endpoint
 *   logging           always last: access log line, metrics, event stream
 *
 * Phases never throw into Node: every failure becomes a response or a clean abort.
 */
import type { Http2ServerRequest, Http2ServerResponse, OutgoingHttpHeaders } from "node:http2";
import { type Duplex, PassThrough } from "node:stream";
import type { Dispatcher } from "undici";
import { sessionClientIp } from "../listeners/protocols.ts";
import { logRequest } from "../observability/access-log.ts";
import { requestIdOf } from "../observability/request-id.ts";
import { MatchInput } from "../routes/index.ts";
import { instanceId } from "../runtime/instance.ts";
import type { UpstreamPools } from "../upstream/pools.ts";
import { RequestContext } from "./context.ts";
import { type Downstream, type ProxyRequest, SocketDownstream } from "./downstream.ts";
import { classifyUpstreamError, ProxyError } from "./errors.ts";
import { downstreamResponseFields, flatFields, hasField, passesThrough, upstreamRequestHeaders } from "./headers.ts";
import { type PortTable, pickEndpoint, type Route } from "./route-table.ts";

/** What a listener hands the driver: its current table (swapped atomically) and the process's pools. */
export interface PortState {
  table: PortTable;
  readonly pools: UpstreamPools;
  /** The port is draining: responses close their connections instead of keeping them alive. */
  closing: boolean;
}

// ── entry ────────────────────────────────────────────────────────────────────────────────────────────

/** A request (HTTP/1.1 or HTTP/2). `expectContinue`: the client waits for `100 Continue`. */
export function handleRequest(state: PortState, req: ProxyRequest, res: Downstream, expectContinue: boolean): void {
  run(new RequestContext(req, res, state), expectContinue);
}

/** An upgrade request (WebSocket and other `Upgrade:` protocols): same phases, socket downstream. */
export function handleUpgrade(state: PortState, req: ProxyRequest, socket: Duplex, head: Buffer): void {
  socket.on("error", () => {}); // errors surface through `close` and the logging phase
  run(new RequestContext(req, new SocketDownstream(socket), state, head), false);
}

function run(ctx: RequestContext, expectContinue: boolean): void {
  const res = ctx.res;
  res.on("close", () => logging(ctx));
  try {
    const rejected = requestFilter(ctx);
    if (rejected) {
      respondError(ctx, rejected);
      return;
    }
    const route = selectRoute(ctx);
    if (expectContinue) res.writeContinue();
    upstreamRequest(ctx, route);
  } catch (err) {
    respondError(ctx, new ProxyError("C2_INTERNAL", (err as Error).message, err));
  }
}

// ── phases ───────────────────────────────────────────────────────────────────────────────────────────

function requestFilter(ctx: RequestContext): ProxyError | undefined {
  const req = ctx.req;
  ctx.requestId = requestIdOf(req.headers);
  const target = originForm(req.url ?? "");
  if (target === undefined) return new ProxyError("C2_BAD_REQUEST", `unsupported request target ${JSON.stringify(req.url)}`);
  ctx.target = target;
  if (req.httpVersionMajor === 2) {
    ctx.hasBody = !(req as unknown as Http2ServerRequest).stream.endAfterHeaders;
  } else {
    const te = req.headers["transfer-encoding"];
    const cl = req.headers["content-length"];
    ctx.hasBody = te !== undefined || (cl !== undefined && cl !== "0");
  }
  const loopLimit = ctx.table.loopLimit;
  if (passesThrough(req.headers, instanceId) >= loopLimit) {
    return new ProxyError("C2_LOOP_DETECTED", `passed through ${instanceId} ${loopLimit} times`);
  }
  return undefined;
}

function selectRoute(ctx: RequestContext): Route {
  const table = ctx.table;
  const hit = table.routes.matcher.match(
    new MatchInput({ method: ctx.req.method ?? "GET", target: ctx.target, headers: ctx.req.headers }),
  );
  ctx.hit = hit;
  return hit ? table.bridges[hit.bridge]! : table.cluster;
}

function upstreamRequest(ctx: RequestContext, route: Route): void {
  ctx.route = route;
  const endpoint = pickEndpoint(ctx.table, route);
  if (!endpoint) {
    respondError(ctx, new ProxyError("C2_NO_UPSTREAM", `route ${route.name} has no endpoint`));
    return;
  }
  ctx.endpoint = endpoint;
  const req = ctx.req;
  const h2 = upstreamSpeaksH2(ctx, endpoint.tls);
  const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, {
    clientIp: clientIpOf(req),
    proto: ctx.table.secure ? "https" : "http",
    instanceId,
    upstreamH2: h2,
    upstreamAddress: endpoint.address,
  });
  if (!headers) {
    respondError(ctx, new ProxyError("C2_BAD_REQUEST", "more than one Host header"));
    return;
  }
  const upgrade = ctx.head ? (req.headers.upgrade ?? "websocket") : null;
  ctx.pools.get(endpoint, h2).dispatch(
    { path: ctx.target, method: req.method ?? "GET", headers, body: ctx.hasBody && !upgrade ? requestBody(ctx) : null, upgrade },
    new Exchange(ctx),
  );
}

/**
 * Handler for one upstream exchange (undici's DispatchHandler shape, which `upstream/h1.ts` speaks too):
 * responseStart → responseData* → responseEnd | failToProxy.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly #ctx: RequestContext;
  /** A gRPC "trailers-only" response held back to be sent as one HEADERS frame ending the stream. */
  #trailersOnly: { status: number; headers: string[] } | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  /** Resumes the upstream once the client has drained (one function per exchange, not per pause). */
  readonly #resume = () => this.#controller?.resume();

  constructor(ctx: RequestContext) {
    this.#ctx = ctx;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#ctx.controller = controller;
    this.#controller = controller;
    if (this.#ctx.downstreamClosed) controller.abort(new ProxyError("C2_DOWNSTREAM_ABORTED"));
  }

  /** The upstream switched protocols (WebSocket): tunnel the two sockets. */
  onRequestUpgrade(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, socket: Duplex): void {
    const ctx = this.#ctx;
    ctx.responseStarted = true;
    (ctx.res as SocketDownstream).tunnel(statusCode, flatFields(headers), socket, ctx.head ?? Buffer.alloc(0));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    const ctx = this.#ctx;
    if (statusCode < 200) {
      // Informational: pass 103 Early Hints on (HTTP/1.1 and HTTP/2 clients understand them); 100 was
      // answered by Carrier2 itself, 102 is obsolete. The final response follows.
      if (statusCode === 103 && !ctx.downstreamClosed && headers.link !== undefined) {
        const link = headers.link;
        try {
          ctx.res.writeEarlyHints?.({ link: Array.isArray(link) ? link : [link] });
        } catch {
          // Hints Node refuses to write (a malformed Link) are only hints: the final response follows.
        }
      }
      return;
    }
    this.#start(controller, statusCode, downstreamResponseFields(flatFields(headers)), statusMessage);
  }

  /** A final HTTP/1.1 response as parsed (`upstream/h1.ts`): no header record in between. */
  onResponseStartRaw(controller: Dispatcher.DispatchController, statusCode: number, fields: string[], statusMessage: string): void {
    this.#start(controller, statusCode, downstreamResponseFields(fields), statusMessage);
  }

  #start(controller: Dispatcher.DispatchController, statusCode: number, out: string[], statusMessage: string | undefined): void {
    const ctx = this.#ctx;
    if (ctx.downstreamClosed) {
      controller.abort(new ProxyError("C2_DOWNSTREAM_ABORTED"));
      return;
    }
    ctx.responseStarted = true;
    try {
      const h2 = ctx.req.httpVersionMajor === 2;
      if (h2 && hasField(out, "grpc-status")) {
        // gRPC clients need a trailers-only response to end with its HEADERS frame.
        this.#trailersOnly = { status: statusCode, headers: out };
        return;
      }
      finalHead(ctx);
      // HTTP/2 has no reason phrase.
      ctx.res.writeHead(statusCode, h2 ? undefined : statusMessage || undefined, out);
    } catch (err) {
      ctx.responseStarted = false;
      controller.abort(new ProxyError("C2_UPSTREAM_PROTOCOL", `unforwardable response header: ${(err as Error).message}`));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const res = this.#ctx.res;
    if (this.#trailersOnly) {
      res.writeHead(this.#trailersOnly.status, undefined, this.#trailersOnly.headers);
      this.#trailersOnly = undefined;
    }
    if (!res.write(chunk)) {
      controller.pause();
      res.once("drain", this.#resume);
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    const res = this.#ctx.res;
    if (this.#trailersOnly) {
      const { status, headers } = this.#trailersOnly;
      const frame: OutgoingHttpHeaders = { ":status": status };
      for (let i = 0; i < headers.length; i += 2) frame[headers[i]!] = headers[i + 1];
      (res as unknown as Http2ServerResponse).stream.respond(frame, { endStream: true });
      return;
    }
    // Trailers (gRPC's status lives there) go on when the client's protocol can carry them.
    for (const _ in trailers) {
      res.addTrailers?.(trailers as Record<string, string>);
      break;
    }
    res.end();
    drainRequestBody(this.#ctx);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    failToProxy(this.#ctx, err);
  }
}

function failToProxy(ctx: RequestContext, err: unknown): void {
  if (ctx.downstreamClosed) {
    ctx.error ??= new ProxyError("C2_DOWNSTREAM_ABORTED");
    return;
  }
  const error = classifyUpstreamError(err, ctx.responseStarted);
  if (!ctx.responseStarted && error.retryable && ctx.route?.fallbackToCluster && !ctx.hasBody) {
    ctx.fellBack = true;
    ctx.error = error;
    upstreamRequest(ctx, ctx.table.cluster);
    return;
  }
  respondError(ctx, error);
}

/** Send a Carrier2-generated error, or abort the client's response if it has already started. */
function respondError(ctx: RequestContext, error: ProxyError): void {
  ctx.error = error;
  const res = ctx.res;
  if (res.headersSent || ctx.responseStarted || error.status === 0) {
    res.destroy(error);
    return;
  }
  drainRequestBody(ctx);
  const body = `${JSON.stringify({
    error: error.code,
    status: error.status,
    message: error.message,
    route: ctx.route?.name ?? null,
    upstream: ctx.endpoint?.address ?? null,
    port: ctx.table.port,
    request_id: ctx.requestId,
  })}\n`;
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "x-carrier2-error": error.code,
  };
  if (error.code === "C2_BAD_REQUEST") headers.connection = "close";
  finalHead(ctx);
  res.writeHead(error.status, undefined, headers);
  res.end(body);
}

function logging(ctx: RequestContext): void {
  const res = ctx.res;
  if (!res.writableFinished) {
    ctx.downstreamClosed = true;
    if (!ctx.error) ctx.error = new ProxyError("C2_DOWNSTREAM_ABORTED");
    ctx.controller?.abort(ctx.error);
  }
  const status = res.headersSent ? res.statusCode : 499;
  logRequest(ctx, status);
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────────────────

/**
 * The upstream answered before reading the whole request body (an early 200, a 413...). The client is
 * still sending it: read and drop the rest, so its connection can carry its next request (nginx does
 * the same) instead of stalling with a full TCP window.
 */
function drainRequestBody(ctx: RequestContext): void {
  const req = ctx.req;
  if (!ctx.hasBody || req.readableEnded || req.destroyed) return;
  req.unpipe();
  req.resume();
}

/**
 * The request body as the upstream client reads it: the client's stream piped (with backpressure) into
 * a stream of its own. The upstream client destroys the body it was given when it gives up on it (e.g.
 * the upstream answered before reading it all); destroying the client's request itself would leave its
 * connection stuck mid-body, so the upstream client only ever gets this copy.
 */
function requestBody(ctx: RequestContext): PassThrough {
  const body = new PassThrough({ highWaterMark: 64 * 1024 });
  ctx.req.on("error", (err) => body.destroy(err));
  ctx.req.pipe(body);
  return body;
}

/** Just before a response head goes out: a draining port does not keep HTTP/1.1 connections alive. */
function finalHead(ctx: RequestContext): void {
  if (ctx.state.closing && ctx.req.httpVersionMajor === 1) ctx.res.shouldKeepAlive = false;
}

/**
 * HTTP/2 toward the upstream? Only for HTTP/2 clients: over TLS, ALPN then picks what the upstream
 * speaks. In plaintext only for gRPC (which needs it end to end): h2c with prior knowledge toward a
 * server that speaks only HTTP/1.1 would fail, so other h2c clients are proxied over HTTP/1.1.
 */
function upstreamSpeaksH2(ctx: RequestContext, upstreamTls: boolean): boolean {
  if (ctx.req.httpVersionMajor !== 2) return false;
  if (upstreamTls) return true;
  return (ctx.req.headers["content-type"] ?? "").startsWith("application/grpc");
}

/** The client's address, IPv4-mapped IPv6 (`::ffff:10.0.0.1`) shown as IPv4 like other proxies do. */
function clientIpOf(req: ProxyRequest): string {
  const session = req.httpVersionMajor === 2 ? (req as unknown as Http2ServerRequest).stream.session : undefined;
  const ip = (session && sessionClientIp.get(session)) ?? req.socket.remoteAddress ?? "unknown";
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}

/** Origin-form target (`/path?query`); absolute-form is reduced to it. Undefined when unusable. */
function originForm(url: string): string | undefined {
  if (url.charCodeAt(0) === 47 /* / */) return url;
  if (/^https?:\/\//i.test(url)) {
    const slash = url.indexOf("/", url.indexOf("//") + 2);
    return slash < 0 ? "/" : url.slice(slash);
  }
  return undefined;
}
