/**
 * HTTP/1.1 toward upstreams: a keep-alive connection pool per endpoint that speaks the part of undici's
 * Dispatcher API the proxy driver uses (`dispatch(options, handler)` and the DispatchHandler callbacks),
 * so the driver is the same whichever carries the exchange. undici still carries HTTP/2 (`pools.ts`).
 *
 * Why not undici here: on the bench's main scenario undici's HTTP/1.1 client cost ~25 µs of CPU per
 * request more than this one (a third of the whole proxy's budget; see bench/README.md). Responses are
 * parsed by Node's own llhttp binding (`net/llhttp.ts`).
 *
 * One connection carries one exchange at a time (no pipelining). A connection goes back to the pool only
 * when its response ended cleanly, the request was sent whole, both sides keep it alive and nothing came
 * after the response; anything unexpected destroys it, so a misbehaving upstream cannot hand one
 * client's response to another. A request that found its reused connection already closed by the
 * upstream (the keep-alive race) is sent again once on a new connection when that is safe: no body,
 * idempotent method, nothing received.
 */
import { connect as connectTcp, isIP, type Socket } from "node:net";
import type { Readable } from "node:stream";
import { connect as connectTls } from "node:tls";
import { arm, disarm, type Expiring } from "../net/deadlines.ts";
import { HTTPParser, invalidHeaderChar, type LlhttpParser } from "../net/llhttp.ts";
import { ProxyError } from "../proxy/errors.ts";
import type { Endpoint } from "./endpoint.ts";

// ── the Dispatcher surface the driver uses (structurally undici's) ───────────────────────────────────

export interface DispatchController {
  abort(reason: Error): void;
  pause(): void;
  resume(): void;
  readonly aborted: boolean;
  readonly paused: boolean;
  readonly reason: Error | null;
}

type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface DispatchHandler {
  onRequestStart?(controller: DispatchController, context: unknown): void;
  onRequestUpgrade?(controller: DispatchController, statusCode: number, headers: ResponseHeaders, socket: Socket): void;
  onResponseStart?(controller: DispatchController, statusCode: number, headers: ResponseHeaders, statusMessage?: string): void;
  /**
   * A final response's head as parsed: `[name, value, ...]`, names in the upstream's case, repeated
   * fields separate. Preferred to `onResponseStart` when the handler has it (no record is built).
   */
  onResponseStartRaw?(controller: DispatchController, statusCode: number, fields: string[], statusMessage: string): void;
  onResponseData?(controller: DispatchController, chunk: Buffer): void;
  onResponseEnd?(controller: DispatchController, trailers: ResponseHeaders): void;
  onResponseError?(controller: DispatchController, error: Error): void;
}

export interface DispatchOptions {
  path: string;
  method: string;
  /** Flat `[name, value, ...]`, hop-by-hop fields already removed. */
  headers: string[];
  body: Readable | null;
  /** The protocol to switch to (`Upgrade:`), for WebSocket; null for a plain exchange. */
  upgrade: string | null;
}

export interface H1PoolOptions {
  connectTimeout: number;
  /** Idle time waiting for the response head (reset by any traffic, e.g. a request body being sent). */
  headersTimeout: number;
  /** Idle time between response body bytes. */
  bodyTimeout: number;
  /** How long an unused connection stays open. */
  keepAliveTimeout: number;
  tls?: { rejectUnauthorized: boolean; ca?: Buffer; servername?: string };
}

/** The `context` undici passes to onRequestStart (the driver reads none). */
const NO_CONTEXT = Object.freeze({});
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
const MAX_HEADER_SIZE = 64 * 1024;

/** `[name, value, ...]` as undici reports fields: lower-case names, repeated fields as arrays. */
function headerRecord(raw: readonly string[]): ResponseHeaders {
  const out: ResponseHeaders = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[name] = [seen, value];
  }
  return out;
}

/** The request head, or a ProxyError when a field cannot be written on the wire. */
function requestHead(options: DispatchOptions, chunked: { value: boolean }): string {
  let head = `${options.method} ${options.path} HTTP/1.1\r\n`;
  const h = options.headers;
  let hasLength = false;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!;
    const value = h[i + 1]!;
    if (invalidHeaderChar(value)) throw new ProxyError("C2_BAD_REQUEST", `invalid character in header ${JSON.stringify(name)}`);
    if (name.length === 14 && name.toLowerCase() === "content-length") hasLength = true;
    head += `${name}: ${value}\r\n`;
  }
  if (options.upgrade !== null) head += `connection: upgrade\r\nupgrade: ${options.upgrade}\r\n`;
  else if (options.body !== null && !hasLength) {
    head += "transfer-encoding: chunked\r\n";
    chunked.value = true;
  }
  return `${head}\r\n`;
}

// ── one exchange: the handler's controller ───────────────────────────────────────────────────────────

class Exchange implements DispatchController {
  readonly options: DispatchOptions;
  readonly handler: DispatchHandler;
  aborted = false;
  paused = false;
  reason: Error | null = null;
  /** Anything of the response arrived (then it is never sent again). */
  received = false;
  /** Sent once more after its reused connection turned out closed. */
  retried = false;
  /** The request (head and body) is on the wire. */
  requestSent = false;
  finished = false;
  connection: Connection | undefined = undefined;

  constructor(options: DispatchOptions, handler: DispatchHandler) {
    this.options = options;
    this.handler = handler;
    // From the start, not only once it is being sent: the client may go away while the connection is
    // still being set up, and an unhandled stream error would take the process down.
    options.body?.on("error", (err: Error) => this.abort(err));
  }

  get replayable(): boolean {
    return !this.received && !this.retried && this.options.body === null && this.options.upgrade === null && IDEMPOTENT.has(this.options.method);
  }

  abort(reason: Error): void {
    if (this.finished || this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.connection?.discard();
    this.fail(reason);
  }

  pause(): void {
    this.paused = true;
    this.connection?.pauseReading();
  }

  resume(): void {
    this.paused = false;
    this.connection?.resumeReading(this);
  }

  /** The exchange failed: tell the handler once. */
  fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.connection = undefined;
    this.handler.onResponseError?.(this, err);
  }

  /** The response ended: tell the handler once. */
  end(trailers: ResponseHeaders): void {
    if (this.finished) return;
    this.finished = true;
    this.connection = undefined;
    this.handler.onResponseEnd?.(this, trailers);
  }
}

// ── one connection ───────────────────────────────────────────────────────────────────────────────────

type Phase = "connecting" | "idle" | "head" | "body" | "gone";

class Connection implements Expiring {
  readonly #pool: H1Pool;
  readonly socket: Socket;
  readonly #parser: LlhttpParser;
  #phase: Phase = "connecting";
  #exchange: Exchange | undefined;
  /** Carried an exchange before: a failure before any response byte may be the keep-alive race. */
  #reused = false;
  /** Fields gathered by llhttp before the head completes (many fields) or after the body (trailers). */
  #fields: string[] = [];
  #statusCode = 0;
  #keepAlive = true;
  /** The current response ended inside this `execute`; the connection is released after it. */
  #complete = false;
  /** The fields of a 101 answering our upgrade: the socket is handed over once `execute` returns. */
  #upgradeHead: string[] | undefined;
  /** Something arrived that is not the answer to the current request (after it, or unasked for). */
  #stray = false;
  /** Stops sending the request body (the exchange ended first). */
  #stopBody: (() => void) | undefined;
  /** Body bytes parsed while the client had the exchange paused: delivered on resume, in order. */
  #held: Buffer[] = [];
  /** The response ended while bytes were held: its trailers, delivered after them. */
  #heldEnd: ResponseHeaders | undefined;
  /** A handler callback threw inside the parser: the exchange fails once `execute` returns. */
  #thrown: unknown;
  /** How long this connection may stay unused: ours, or less when the upstream's Keep-Alive says so. */
  #idleMs = 0;
  #error: Error | undefined;
  /** When the current phase times out (see `net/deadlines.ts`). */
  deadline = 0;

  constructor(pool: H1Pool, endpoint: Endpoint, options: H1PoolOptions) {
    this.#pool = pool;
    const tls = options.tls;
    this.socket = tls
      ? connectTls({
          host: endpoint.host,
          port: endpoint.port,
          servername: tls.servername ?? (isIP(endpoint.host) !== 0 ? undefined : endpoint.host),
          rejectUnauthorized: tls.rejectUnauthorized,
          ...(tls.ca ? { ca: tls.ca } : {}),
          ALPNProtocols: ["http/1.1"],
        })
      : connectTcp({ host: endpoint.host, port: endpoint.port, noDelay: true });
    const parser = new HTTPParser();
    parser.initialize(HTTPParser.RESPONSE, {}, MAX_HEADER_SIZE, HTTPParser.kLenientNone);
    parser[HTTPParser.kOnMessageBegin] = () => {
      if (this.#complete) this.#stray = true;
    };
    parser[HTTPParser.kOnHeaders] = (fields: string[]) => this.#onFields(fields);
    parser[HTTPParser.kOnHeadersComplete] = (
      _major: number,
      _minor: number,
      fields: string[] | undefined,
      _method: unknown,
      _url: unknown,
      statusCode: number,
      statusMessage: string,
      upgrade: boolean,
      keepAlive: boolean,
    ) => this.#onHead(fields, statusCode, statusMessage, upgrade, keepAlive);
    parser[HTTPParser.kOnBody] = (chunk: Buffer) => this.#onBody(chunk);
    parser[HTTPParser.kOnMessageComplete] = () => this.#onMessageComplete();
    parser[HTTPParser.kOnExecute] = () => {};
    this.#parser = parser;

    const socket = this.socket;
    arm(this, options.connectTimeout);
    socket.once(tls ? "secureConnect" : "connect", () => this.#onConnect());
    socket.on("data", (data: Buffer) => this.#onData(data));
    socket.on("end", () => this.#onEnd());
    socket.on("error", (err: Error) => {
      this.#error ??= err;
    });
    socket.on("close", () => this.#onClose());
  }

  /** Carry `exchange` (on a new connection: once connected). */
  start(exchange: Exchange): void {
    exchange.connection = this;
    this.#exchange = exchange;
    if (this.#phase === "connecting") return;
    this.#reused = true;
    this.#send(exchange);
  }

  #onConnect(): void {
    this.socket.setNoDelay(true);
    this.socket.setKeepAlive(true, 60_000);
    const exchange = this.#exchange;
    if (exchange) this.#send(exchange);
    else this.discard(); // its exchange was aborted while connecting
  }

  #send(exchange: Exchange): void {
    const { options } = exchange;
    const chunked = { value: false };
    let head: string;
    try {
      head = requestHead(options, chunked);
    } catch (err) {
      // Nothing was written: the connection stays good for the next exchange.
      this.#exchange = undefined;
      this.#release(false);
      exchange.fail(err as Error);
      return;
    }
    this.#phase = "head";
    this.#complete = false;
    this.#stray = false;
    this.#fields = [];
    this.#held = [];
    this.#heldEnd = undefined;
    this.#thrown = undefined;
    arm(this, this.#pool.options.headersTimeout);
    this.socket.write(head, "latin1");
    if (options.body === null) exchange.requestSent = true;
    else this.#sendBody(exchange, options.body, chunked.value);
  }

  /** Stream the request body with backpressure, chunk-framed when its length is unknown. */
  #sendBody(exchange: Exchange, body: Readable, chunked: boolean): void {
    const socket = this.socket;
    const onData = (chunk: Buffer) => {
      if (chunk.length === 0) return;
      if (this.#phase === "head") arm(this, this.#pool.options.headersTimeout); // waiting for the head counts from the last byte sent
      let ok: boolean;
      if (chunked) {
        // All three parts, whatever each write says: the framing must stay whole.
        socket.write(`${chunk.length.toString(16)}\r\n`, "latin1");
        socket.write(chunk);
        ok = socket.write("\r\n", "latin1");
      } else {
        ok = socket.write(chunk);
      }
      if (!ok) {
        body.pause();
        socket.once("drain", () => body.resume());
      }
    };
    const onEnd = () => {
      detach();
      if (chunked) socket.write("0\r\n\r\n", "latin1");
      exchange.requestSent = true;
    };
    // Errors of the body are the exchange's (see Exchange): they abort it, which stops this.
    const detach = () => {
      this.#stopBody = undefined;
      body.off("data", onData);
      body.off("end", onEnd);
    };
    this.#stopBody = () => {
      detach();
      body.destroy(); // as undici does with a body it gives up on; the driver drains the client
    };
    body.on("data", onData);
    body.once("end", onEnd);
  }

  #onData(data: Buffer): void {
    const exchange = this.#exchange;
    if (!exchange || this.#phase === "idle") {
      // Bytes nobody asked for: the connection can no longer be trusted.
      this.discard();
      return;
    }
    exchange.received = true;
    arm(this, this.#phase === "body" ? this.#pool.options.bodyTimeout : this.#pool.options.headersTimeout);
    const ret = this.#parser.execute(data);
    if (typeof ret !== "number") {
      this.#protocolError(ret);
      return;
    }
    if (this.#upgradeHead) {
      this.#handOver(exchange, this.#upgradeHead, data.subarray(ret));
      return;
    }
    if (this.#thrown !== undefined) {
      this.#handlerFailed(exchange);
      return;
    }
    if (this.#phase === "gone") return; // discarded in a callback
    if (this.#stray && !this.#complete) {
      this.#protocolError(new Error("a response the request did not ask for (101 without Upgrade)"));
      return;
    }
    if (this.#complete && this.#heldEnd === undefined) this.#afterResponse();
  }

  /**
   * Call the handler; a throw (a response the client side cannot take, e.g. an invalid Early Hints
   * `Link`) is kept for after `execute`: exceptions must not escape into llhttp or the socket.
   */
  #deliver(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.#thrown ??= err;
    }
  }

  #handlerFailed(exchange: Exchange): void {
    const err = this.#thrown as Error;
    this.discard();
    exchange.fail(new ProxyError("C2_UPSTREAM_PROTOCOL", `response could not be forwarded: ${err?.message ?? err}`, err));
  }

  #onFields(fields: string[]): void {
    for (const f of fields) this.#fields.push(f);
  }

  #onHead(fields: string[] | undefined, statusCode: number, statusMessage: string, upgrade: boolean, keepAlive: boolean): number {
    const exchange = this.#exchange;
    if (!exchange || exchange.finished) return 1;
    const raw = fields ?? this.#fields;
    this.#fields = [];
    this.#statusCode = statusCode;
    if (statusCode >= 100 && statusCode < 200 && statusCode !== 101) {
      // Informational (100, 103 Early Hints): reported, the final response follows. Never a body
      // (1 = skip it, as node:http's client answers llhttp).
      this.#deliver(() => exchange.handler.onResponseStart?.(exchange, statusCode, headerRecord(raw), statusMessage));
      return 1;
    }
    this.#idleMs = keepAliveMs(raw, this.#pool.options.keepAliveTimeout);
    this.#keepAlive = keepAlive && exchange.options.upgrade === null && this.#idleMs > 0;
    if (statusCode === 101) {
      if (upgrade && exchange.options.upgrade !== null) {
        this.#upgradeHead = raw;
        return 2;
      }
      this.#stray = true;
      return 1;
    }
    this.#phase = "body";
    if (exchange.paused) disarm(this);
    else arm(this, this.#pool.options.bodyTimeout);
    const handler = exchange.handler;
    if (handler.onResponseStartRaw) this.#deliver(() => handler.onResponseStartRaw?.(exchange, statusCode, raw, statusMessage));
    else this.#deliver(() => handler.onResponseStart?.(exchange, statusCode, headerRecord(raw), statusMessage));
    return exchange.options.method === "HEAD" || this.#thrown !== undefined ? 1 : 0;
  }

  #onBody(chunk: Buffer): void {
    const exchange = this.#exchange;
    if (!exchange || exchange.finished || this.#thrown !== undefined) return;
    // Paused means paused: the rest of this read waits with the connection until resume.
    if (exchange.paused || this.#held.length > 0) this.#held.push(chunk);
    else this.#deliver(() => exchange.handler.onResponseData?.(exchange, chunk));
  }

  #onMessageComplete(): void {
    const exchange = this.#exchange;
    if (!exchange || exchange.finished || this.#thrown !== undefined) return;
    if (this.#statusCode < 200) return; // an informational response ended; the final one follows
    const trailers = this.#fields.length > 0 ? headerRecord(this.#fields) : {};
    this.#fields = [];
    this.#complete = true;
    if (exchange.paused || this.#held.length > 0) this.#heldEnd = trailers;
    else this.#deliver(() => exchange.end(trailers));
  }

  /** The client drained: hand over what was held, then read on (or finish). */
  #flushHeld(exchange: Exchange): void {
    while (this.#held.length > 0 && !exchange.paused && this.#thrown === undefined) {
      const chunk = this.#held.shift()!;
      this.#deliver(() => exchange.handler.onResponseData?.(exchange, chunk));
    }
    if (this.#thrown !== undefined) {
      this.#handlerFailed(exchange);
      return;
    }
    if (exchange.paused || this.#heldEnd === undefined) return;
    const trailers = this.#heldEnd;
    this.#heldEnd = undefined;
    this.#deliver(() => exchange.end(trailers));
    if (this.#thrown !== undefined) this.discard();
    else this.#afterResponse();
  }

  /** The response ended: back to the pool, or closed. */
  #afterResponse(): void {
    if (this.#phase === "gone") return;
    const exchange = this.#exchange;
    if (this.#stray) this.#keepAlive = false; // bytes after the response: never trusted again
    if (exchange && !exchange.requestSent) {
      // The upstream answered before reading the whole body: the rest cannot be sent on.
      this.#stopBody?.();
      this.#keepAlive = false;
    }
    this.#exchange = undefined;
    this.#complete = false;
    this.#release(!this.#keepAlive);
  }

  #release(close: boolean): void {
    if (close) {
      this.discard();
      return;
    }
    this.#phase = "idle";
    arm(this, this.#idleMs);
    this.socket.resume(); // paused by the last exchange's client: idle connections must see a close
    this.#pool.idle(this);
  }

  /** The upstream switched protocols: the socket becomes the tunnel's, with what came after the head. */
  #handOver(exchange: Exchange, raw: string[], rest: Buffer): void {
    this.#phase = "gone";
    this.#upgradeHead = undefined;
    this.#pool.forget(this);
    this.#parser.close();
    const socket = this.socket;
    socket.pause();
    socket.removeAllListeners("data");
    socket.removeAllListeners("end");
    socket.removeAllListeners("close");
    disarm(this);
    if (rest.length > 0) socket.unshift(rest); // the new protocol's first bytes
    exchange.finished = true;
    exchange.connection = undefined;
    this.#exchange = undefined;
    exchange.handler.onRequestUpgrade?.(exchange, 101, headerRecord(raw), socket);
  }

  #protocolError(err: Error & { code?: string }): void {
    const exchange = this.#exchange;
    this.discard();
    const e = new ProxyError("C2_UPSTREAM_PROTOCOL", `${err.code ?? "HPE"} (${err.message})`, err);
    exchange?.fail(e);
  }

  /** The current phase's deadline passed. */
  expire(): void {
    const exchange = this.#exchange;
    const phase = this.#phase;
    this.discard();
    if (!exchange) return; // idle: the keep-alive time is over
    if (phase === "connecting") exchange.fail(new ProxyError("C2_UPSTREAM_CONNECT_TIMEOUT", `no connection within ${this.#pool.options.connectTimeout} ms`));
    else if (phase === "head") exchange.fail(new ProxyError("C2_UPSTREAM_TIMEOUT", `no response head within ${this.#pool.options.headersTimeout} ms`));
    else exchange.fail(new ProxyError("C2_UPSTREAM_BODY_TIMEOUT", `no body bytes for ${this.#pool.options.bodyTimeout} ms`));
  }

  #onEnd(): void {
    // End of stream delimits a body without length; llhttp tells whether the message is whole.
    const exchange = this.#exchange;
    if (exchange && this.#phase === "body") {
      const err = this.#parser.finish();
      if (err) {
        // The length it announced (or the last chunk) never came: the upstream broke off.
        this.discard();
        exchange.fail(new ProxyError("C2_UPSTREAM_RESET", "closed before the response ended", err));
      }
    }
  }

  #onClose(): void {
    const exchange = this.#exchange;
    const phase = this.#phase;
    this.#phase = "gone";
    this.#exchange = undefined;
    disarm(this);
    this.#pool.forget(this);
    this.#parser.close();
    this.#stopBody?.();
    if (!exchange || exchange.finished) return;
    if (this.#heldEnd !== undefined) {
      // The whole response is here, held for a paused client: it is delivered on resume.
      this.#exchange = exchange;
      return;
    }
    exchange.connection = undefined;
    if (this.#reused && exchange.replayable) {
      // The upstream closed a kept-alive connection as this request went out: send it on a new one.
      exchange.retried = true;
      this.#pool.run(exchange, false);
      return;
    }
    const cause = this.#error;
    if (phase === "connecting" && cause) {
      exchange.fail(cause); // ECONNREFUSED, TLS errors...: classified by the driver
      return;
    }
    const detail = cause ? `${(cause as { code?: string }).code ?? cause.message}` : "closed before the response ended";
    exchange.fail(new ProxyError("C2_UPSTREAM_RESET", detail, cause));
  }

  pauseReading(): void {
    if (this.#phase !== "body") return;
    this.socket.pause();
    disarm(this); // a slow client is not a slow upstream
  }

  resumeReading(exchange: Exchange): void {
    if (this.#held.length > 0 || this.#heldEnd !== undefined) {
      this.#flushHeld(exchange);
      if (exchange.paused || exchange.finished) return;
    }
    if (this.#phase !== "body") return;
    arm(this, this.#pool.options.bodyTimeout);
    this.socket.resume();
  }

  /** Close for good (the exchange, if any, is failed by `close`). */
  discard(): void {
    if (this.#phase === "gone") return;
    this.#stopBody?.();
    this.socket.destroy();
  }
}

/** How long a connection may stay unused: ours, or the upstream's `Keep-Alive: timeout=N` less a second
 * (as undici), so that it is never reused just as the upstream closes it. 0: do not reuse. */
function keepAliveMs(raw: readonly string[], ours: number): number {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 10 || name.toLowerCase() !== "keep-alive") continue;
    const timeout = /(?:^|[\s,;])timeout\s*=\s*(\d+)/i.exec(raw[i + 1]!);
    if (timeout) return Math.max(0, Math.min(ours, Number(timeout[1]) * 1000 - 1000));
  }
  return ours;
}


// ── the pool ─────────────────────────────────────────────────────────────────────────────────────────

export class H1Pool {
  readonly endpoint: Endpoint;
  readonly options: H1PoolOptions;
  /** Connections waiting for an exchange, most recently used last. */
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  #closing = false;
  #drained: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  constructor(endpoint: Endpoint, options: H1PoolOptions) {
    this.endpoint = endpoint;
    this.options = options;
  }

  dispatch(options: DispatchOptions, handler: DispatchHandler): boolean {
    const exchange = new Exchange(options, handler);
    handler.onRequestStart?.(exchange, NO_CONTEXT);
    if (!exchange.aborted) this.run(exchange, true);
    return true;
  }

  /** Put `exchange` on a connection: the most recently used idle one, else a new one. */
  run(exchange: Exchange, reuse: boolean): void {
    const connection = (reuse && this.#idle.pop()) || this.#open();
    connection.start(exchange);
  }

  #open(): Connection {
    const connection = new Connection(this, this.endpoint, this.options);
    this.#all.add(connection);
    return connection;
  }

  /** A connection finished its exchange and may carry another. */
  idle(connection: Connection): void {
    if (this.#closing) connection.discard();
    else this.#idle.push(connection);
  }

  /** A connection is closed (or handed over to a tunnel). */
  forget(connection: Connection): void {
    this.#all.delete(connection);
    const at = this.#idle.indexOf(connection);
    if (at >= 0) this.#idle.splice(at, 1);
    if (this.#closing && this.#all.size === 0) this.#drained?.();
  }

  /** Keep serving what is in flight (and late requests, on connections closed after use); close the rest. */
  close(): Promise<void> {
    this.#closing = true;
    for (const c of this.#idle.splice(0)) c.discard();
    if (this.#all.size === 0) return Promise.resolve();
    this.#closed ??= new Promise((resolve) => {
      this.#drained = resolve;
    });
    return this.#closed;
  }

  destroy(): Promise<void> {
    this.#closing = true;
    for (const c of [...this.#all]) c.discard();
    return Promise.resolve();
  }
}
