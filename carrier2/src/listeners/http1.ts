/**
 * HTTP/1.1 toward clients: Carrier2's own server side for proxy ports, on Node's llhttp parser (the one
 * node:http parses with, `net/llhttp.ts`). It hands the driver a request (`Http1Request`: a Readable
 * body with node:http's request fields) and a response (`Http1Response`, a `Downstream`), as node:http
 * did before; why it replaced node:http is measured in bench/README.md (node:http's server machinery
 * was the largest item of Carrier2's CPU profile after the upstream client was replaced).
 *
 * What it keeps from node:http's server, on purpose:
 * - strict parsing (no lenient flags): anything malformed, a request with both Content-Length and
 *   Transfer-Encoding, a header block over `maxHeaderSize` → `clientError` (400, 431), never forwarded;
 * - an HTTP/1.1 request without Host → 400; `Expect` other than `100-continue` → 417; CONNECT → 400;
 * - a request head must arrive within `headersTimeoutMs` (→ 408), idle keep-alive connections close
 *   after `keepAliveTimeoutMs`;
 * - header records with node:http's rules for repeated fields (joined with ", ", `cookie` with "; ",
 *   `set-cookie` a list, singletons such as Host or Content-Type keep the first);
 * - responses: Content-Length when the response has one, else chunked for HTTP/1.1 and
 *   close-delimited for HTTP/1.0; no body for HEAD, 1xx, 204 and 304; `Date` when missing;
 *   `Connection`/`Keep-Alive` of our own.
 *
 * Pipelined requests are answered in order, one at a time: a request that arrives while another is
 * served waits (and the connection stops reading) until that response has gone out.
 */
import type { IncomingHttpHeaders } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import { arm, disarm, type Expiring } from "../net/deadlines.ts";
import { HEADERS_UPGRADE, HTTPParser, invalidHeaderChar, isHttpToken, type LlhttpParser, METHODS } from "../net/llhttp.ts";
import type { Downstream } from "../proxy/downstream.ts";
import { hasField } from "../proxy/headers.ts";

export type ClientError = Error & { code?: string };

export interface Http1Handlers {
  /** A request to serve (`expectContinue`: the client waits for `100 Continue` before its body). */
  request(req: Http1Request, res: Http1Response, expectContinue: boolean): void;
  /** A request to switch protocols (WebSocket): the socket is the handler's from now on. */
  upgrade(req: Http1Request, socket: Socket, head: Buffer): void;
  /** Input that cannot be served (code HPE_*, ERR_HTTP_REQUEST_TIMEOUT...): answer it and close. */
  clientError(err: ClientError, socket: Socket): void;
}

export interface Http1Options {
  /** The whole request head must arrive within this time. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection closes after this. */
  keepAliveTimeoutMs: number;
  maxHeaderSize: number;
  /** Sockets serving a request (or tunnelling) right now: a draining port closes the others at once. */
  busy: WeakSet<Socket>;
  /** The port is draining: no response keeps its connection (the driver checks again at its head). */
  closing?: () => boolean;
}

/** Repeated fields of these keep the first value (node:http's `headers` rules). */
const SINGLETONS = new Set([
  "age",
  "authorization",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

/** `[name, value, ...]` → node:http's `headers` record (lower-case names). */
function headerRecord(raw: readonly string[]): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = Object.create(null);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const seen = out[name];
    if (seen === undefined) out[name] = name === "set-cookie" ? [value] : value;
    else if (name === "set-cookie") (seen as string[]).push(value);
    else if (name === "cookie") out[name] = `${seen}; ${value}`;
    else if (!SINGLETONS.has(name)) out[name] = `${seen}, ${value}`;
  }
  return out as IncomingHttpHeaders;
}

const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;
/** What node:http accepts in a 103's Link (its `validateLinkHeaderValue`). */
const LINK = /^<[^>]*>(?:\s*;\s*[^;"\s]+(?:=(")?[^;"\s]*\1)?)*$/;

// ── Date, as every response carries it: formatted once a second ────────────────────────────────────

let dateField: string | undefined;

function date(): string {
  if (dateField === undefined) {
    dateField = `date: ${new Date().toUTCString()}\r\n`;
    setTimeout(() => {
      dateField = undefined;
    }, 1000 - (Date.now() % 1000)).unref();
  }
  return dateField;
}

/** A record of fields as a flat list, refusing what cannot be written on the wire. */
function validFields(record: Record<string, string | number>): string[] {
  const out: string[] = [];
  for (const name in record) {
    const value = String(record[name]);
    if (!isHttpToken(name)) throw new Error(`invalid header name ${JSON.stringify(name)}`);
    if (invalidHeaderChar(value)) throw new Error(`invalid character in header ${JSON.stringify(name)}`);
    out.push(name, value);
  }
  return out;
}

function clientError(code: string, message: string): ClientError {
  return Object.assign(new Error(message), { code });
}

// ── the request ──────────────────────────────────────────────────────────────────────────────────────

/** A request as the driver reads it: node:http's request fields, the body as a Readable. */
export class Http1Request extends Readable {
  readonly method: string;
  readonly url: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  /** Names in their original case, repeated fields separate. */
  readonly rawHeaders: string[];
  readonly socket: Socket;
  /** The client keeps the connection after this request (llhttp's verdict from version and Connection). */
  readonly keepAlive: boolean;
  /** The whole message (head and body) has been read. */
  complete = false;
  readonly #connection: Http1Connection;
  #headers: IncomingHttpHeaders | undefined;
  /** Someone reads the body (or it has bytes): its end must be pushed. Most requests never have one. */
  #bodyRead = false;

  constructor(connection: Http1Connection, method: string, url: string, major: number, minor: number, raw: string[], keepAlive: boolean) {
    super();
    this.#connection = connection;
    this.socket = connection.socket;
    this.method = method;
    this.url = url;
    this.httpVersionMajor = major;
    this.httpVersionMinor = minor;
    this.rawHeaders = raw;
    this.keepAlive = keepAlive;
  }

  get headers(): IncomingHttpHeaders {
    this.#headers ??= headerRecord(this.rawHeaders);
    return this.#headers;
  }

  /** Body bytes as parsed; false: the reader is full. */
  pushBody(chunk: Buffer): boolean {
    this.#bodyRead = true;
    return this.push(chunk);
  }

  /** The message is whole. A body nobody reads is ended when someone starts to (`_read`). */
  finishMessage(): void {
    this.complete = true;
    if (this.#bodyRead) this.push(null);
  }

  override _read(): void {
    this.#bodyRead = true;
    if (this.complete) this.push(null);
    else this.#connection.resumeBody();
  }

  /** As node:http's request: the error goes to listeners only (an unread body has none: no crash). */
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    cb(this.listenerCount("error") > 0 ? err : null);
  }
}

// ── the response ─────────────────────────────────────────────────────────────────────────────────────

export class Http1Response implements Downstream {
  statusCode = 0;
  headersSent = false;
  /** Handed to the socket whole. */
  writableFinished = false;
  /** Keep the connection for the next request (cleared by a draining port); decided at `writeHead`. */
  shouldKeepAlive: boolean;
  readonly #connection: Http1Connection;
  readonly #headRequest: boolean;
  readonly #http11: boolean;
  #chunked = false;
  #bodyless = false;
  #ended = false;
  #trailers = "";
  #onClose: (() => void) | undefined;

  constructor(connection: Http1Connection, req: Http1Request, keepAlive: boolean) {
    this.#connection = connection;
    this.#headRequest = req.method === "HEAD";
    this.#http11 = req.httpVersionMinor >= 1;
    this.shouldKeepAlive = keepAlive;
  }

  /**
   * `headers`: a flat list as parsed from an upstream (llhttp and nghttp2 have validated it: written
   * as is), or a record of Carrier2's own (validated here).
   */
  writeHead(status: number, message: string | undefined, headers: string[] | Record<string, string | number>): void {
    if (this.headersSent) throw new Error("headers already sent");
    const fields = Array.isArray(headers) ? headers : validFields(headers);
    let head = `HTTP/1.1 ${status} ${message || STATUS_CODES[status] || "unknown"}\r\n`;
    let length = false;
    let hasDate = false;
    let close = false;
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!;
      const value = fields[i + 1]!;
      switch (name.length) {
        case 4:
          if (name.toLowerCase() === "date") hasDate = true;
          break;
        case 10: {
          const lower = name.toLowerCase();
          if (lower === "connection") {
            close ||= /(?:^|,)\s*close\s*(?:,|$)/i.test(value);
            continue; // ours is written below
          }
          if (lower === "keep-alive") continue;
          break;
        }
        case 14:
          if (name.toLowerCase() === "content-length") length = true;
          break;
        case 17:
          if (name.toLowerCase() === "transfer-encoding") continue; // the framing is ours
          break;
      }
      head += `${name}: ${value}\r\n`;
    }
    const bodyless = this.#headRequest || status < 200 || status === 204 || status === 304;
    let keepAlive = this.shouldKeepAlive && !close;
    if (!bodyless && !length) {
      if (this.#http11) {
        this.#chunked = true;
        head += "transfer-encoding: chunked\r\n";
      } else {
        keepAlive = false; // HTTP/1.0: the end of the connection ends the body
      }
    }
    this.shouldKeepAlive = keepAlive;
    head += keepAlive ? this.#connection.keepAliveFields : "connection: close\r\n";
    if (!hasDate) head += date();
    this.headersSent = true;
    this.statusCode = status;
    this.#bodyless = bodyless;
    this.#connection.writeHead(`${head}\r\n`);
  }

  writeContinue(): void {
    this.#connection.writeText("HTTP/1.1 100 Continue\r\n\r\n");
  }

  /** 103 Early Hints (HTTP/1.1 clients only, as node:http); throws on a Link value it cannot carry. */
  writeEarlyHints(hints: { link: string | string[] }): void {
    const links = Array.isArray(hints.link) ? hints.link : [hints.link];
    for (const link of links) if (invalidHeaderChar(link) || !LINK.test(link)) throw new Error(`invalid Link ${JSON.stringify(link)}`);
    if (this.#http11 && !this.headersSent) this.#connection.writeText(`HTTP/1.1 103 Early Hints\r\nlink: ${links.join(", ")}\r\n\r\n`);
  }

  write(chunk: Buffer | string): boolean {
    if (this.#bodyless || chunk.length === 0) return true;
    return this.#connection.writeBody(chunk, this.#chunked);
  }

  addTrailers(trailers: Record<string, string>): void {
    if (!this.#chunked) return; // only chunked framing carries trailers
    const fields = validFields(trailers);
    for (let i = 0; i < fields.length; i += 2) this.#trailers += `${fields[i]}: ${fields[i + 1]}\r\n`;
  }

  end(body?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.headersSent) this.writeHead(200, undefined, { "content-length": body === undefined ? 0 : Buffer.byteLength(body) });
    if (body !== undefined) this.write(body);
    if (this.#chunked) this.#connection.writeText(`0\r\n${this.#trailers}\r\n`);
    this.#connection.finish(this);
  }

  destroy(): void {
    this.#connection.destroy();
  }

  on(_event: "close", listener: () => void): this {
    this.#onClose = listener;
    return this;
  }

  once(_event: "drain", listener: () => void): this {
    this.#connection.socket.once("drain", listener);
    return this;
  }

  /** Sent whole, or the connection is gone before that: tell the driver (once). */
  closed(finished: boolean): void {
    this.writableFinished = finished;
    const listener = this.#onClose;
    this.#onClose = undefined;
    listener?.();
  }
}

// ── the connection ───────────────────────────────────────────────────────────────────────────────────

interface Exchange {
  req: Http1Request;
  res: Http1Response;
  expect: "none" | "continue" | "unmet";
}

type Waiting = Exchange | { refusal: ClientError } | { upgrade: Http1Request; head: Buffer };

/**
 * head: a request head is due (header deadline); idle: kept alive between requests (keep-alive
 * deadline); busy: an exchange is served; drain: its response is out, the rest of its request body is
 * read and dropped (keep-alive deadline, renewed by every body chunk); gone: no more reading.
 */
type Phase = "head" | "idle" | "busy" | "drain" | "gone";

export class Http1Connection implements Expiring {
  readonly socket: Socket;
  /** `Connection` and `Keep-Alive` of a response that keeps the connection. */
  readonly keepAliveFields: string;
  deadline = 0;
  readonly #handlers: Http1Handlers;
  readonly #options: Http1Options;
  readonly #parser: LlhttpParser;
  #phase: Phase = "head";
  /** Fields and target flushed by llhttp before the head completes (many fields). */
  #fields: string[] = [];
  #url = "";
  /** The request whose message (body) is being read. */
  #reading: Http1Request | undefined;
  /** The exchange being served. */
  #current: Exchange | undefined;
  /** Pipelined requests (or a refusal) waiting for the current exchange, in order. */
  readonly #waiting: Waiting[] = [];
  /** A request head has begun and is not complete yet. */
  #headStarted = false;
  /** A callback refused the request being parsed (answered once `execute` returns). */
  #refusal: ClientError | undefined;
  /** An upgrade request was parsed: the socket changes hands once `execute` returns. */
  #upgrade: Http1Request | undefined;
  /** Reading stopped: the body's reader is full. */
  #bodyPaused = false;
  /** Reading stopped: requests are waiting, or the connection is being handed over or closed. */
  #held = false;
  /** The client half-closed: finish what was asked, then close. */
  #clientEnded = false;
  #corked = false;
  /** Inside `execute` (callbacks run there): the parser must not be freed before it returns. */
  #executing = false;
  #parserClosed = false;
  readonly #uncork = () => this.#flush();
  readonly #onDataListener = (data: Buffer) => this.#onData(data);
  readonly #onEndListener = () => this.#onEnd();
  readonly #onCloseListener = () => this.#onClose();

  constructor(socket: Socket, handlers: Http1Handlers, options: Http1Options) {
    this.socket = socket;
    this.#handlers = handlers;
    this.#options = options;
    this.keepAliveFields = `connection: keep-alive\r\nkeep-alive: timeout=${Math.floor(options.keepAliveTimeoutMs / 1000)}\r\n`;
    const parser = new HTTPParser();
    parser.initialize(HTTPParser.REQUEST, {}, options.maxHeaderSize, HTTPParser.kLenientNone);
    parser[HTTPParser.kOnMessageBegin] = () => this.#onMessageBegin();
    parser[HTTPParser.kOnHeaders] = (fields: string[], url: string) => {
      for (const f of fields) this.#fields.push(f);
      this.#url += url;
    };
    parser[HTTPParser.kOnHeadersComplete] = (
      major: number,
      minor: number,
      fields: string[] | undefined,
      method: number,
      url: string | undefined,
      _statusCode: unknown,
      _statusMessage: unknown,
      upgrade: boolean,
      keepAlive: boolean,
    ) => this.#onHead(major, minor, fields, method, url, upgrade, keepAlive);
    parser[HTTPParser.kOnBody] = (chunk: Buffer) => this.#onBody(chunk);
    parser[HTTPParser.kOnMessageComplete] = () => this.#onMessageComplete();
    parser[HTTPParser.kOnExecute] = () => {};
    this.#parser = parser;
    socket.on("data", this.#onDataListener);
    socket.on("end", this.#onEndListener);
    socket.on("close", this.#onCloseListener);
    arm(this, options.headersTimeoutMs); // the first bytes are here (the port sniffed them)
  }

  // ── reading ──

  #onData(data: Buffer): void {
    if (this.#phase === "gone") return;
    this.#executing = true;
    const ret = this.#parser.execute(data);
    this.#executing = false;
    if ((this.#phase as Phase) === "gone") {
      this.#closeParser(); // a callback ended the connection
      return;
    }
    if (typeof ret !== "number" || this.#refusal) {
      this.#refuse(this.#refusal ?? (ret as ClientError));
      return;
    }
    const upgrade = this.#upgrade;
    if (upgrade) {
      this.#upgrade = undefined;
      this.#hold();
      const head = data.subarray(ret);
      if (this.#current) this.#waiting.push({ upgrade, head });
      else this.#handOver(upgrade, head);
    }
  }

  #onMessageBegin(): void {
    this.#headStarted = true;
    if (this.#current || this.#phase === "head" || this.#phase === "gone") return;
    this.#phase = "head";
    arm(this, this.#options.headersTimeoutMs);
  }

  #onHead(major: number, minor: number, fields: string[] | undefined, method: number, url: string | undefined, upgrade: boolean, keepAlive: boolean): number {
    if (this.#phase === "gone") return -1; // closed by a callback during this read: nothing more
    this.#headStarted = false;
    const raw = fields ?? this.#fields;
    const target = url ?? this.#url;
    this.#fields = [];
    this.#url = "";
    if (!this.#current) {
      disarm(this);
      this.#phase = "busy";
    }
    const name = METHODS[method] ?? "";
    // Refused: parsing stops after this head (as for an upgrade), `#onData` answers.
    if (major !== 1) {
      // llhttp takes "HTTP/0.9" and "HTTP/2.0" request lines too; the driver would take 2.0 for HTTP/2.
      this.#refusal = clientError("HPE_INVALID_VERSION", `HTTP/${major}.${minor} over HTTP/1.1`);
      return HEADERS_UPGRADE;
    }
    if (name === "CONNECT") {
      this.#refusal = clientError("C2_CONNECT", "CONNECT is not supported");
      return HEADERS_UPGRADE;
    }
    if (minor === 1 && !hasField(raw, "host")) {
      this.#refusal = clientError("C2_MISSING_HOST", "an HTTP/1.1 request without Host");
      return HEADERS_UPGRADE;
    }
    const req = new Http1Request(this, name, target, major, minor, raw, keepAlive);
    if (upgrade) {
      req.finishMessage();
      this.#upgrade = req;
      return HEADERS_UPGRADE;
    }
    this.#reading = req;
    const res = new Http1Response(this, req, keepAlive && !this.#clientEnded && !this.#options.closing?.());
    // Expect (HTTP/1.1 only, as node:http): 100-continue is answered before the body is forwarded;
    // any other expectation cannot be met (417, `#serve`).
    const expect = minor === 1 && hasField(raw, "expect") ? (req.headers.expect ?? "") : undefined;
    this.#accept({ req, res, expect: expect === undefined ? "none" : CONTINUE.test(expect) ? "continue" : "unmet" });
    return 0;
  }

  #onBody(chunk: Buffer): void {
    const req = this.#reading;
    if (!req || req.destroyed || this.#phase === "gone") return;
    if (this.#phase === "drain") arm(this, this.#options.keepAliveTimeoutMs);
    if (!req.pushBody(chunk)) {
      this.#bodyPaused = true;
      this.socket.pause();
    }
  }

  #onMessageComplete(): void {
    const req = this.#reading;
    if (!req) return;
    this.#reading = undefined;
    req.finishMessage();
    // Nothing more goes to that body: a pause for its reader would never end (`_read` is not called
    // once the stream has ended), and the next request's bytes would never be read.
    this.resumeBody();
    const current = this.#current;
    if (current?.req === req && current.res.writableFinished) this.#next();
  }

  /** The body's reader wants more. */
  resumeBody(): void {
    if (!this.#bodyPaused) return;
    this.#bodyPaused = false;
    if (!this.#held && this.#phase !== "gone") this.socket.resume();
  }

  /** Stop reading until `#release` (requests waiting, a hand-over or the end). */
  #hold(): void {
    this.#held = true;
    this.socket.pause();
  }

  #release(): void {
    this.#held = false;
    if (!this.#bodyPaused) this.socket.resume();
  }

  #onEnd(): void {
    this.#clientEnded = true;
    if (this.#phase === "gone") return;
    if (this.#reading || this.#parser.finish() !== undefined) {
      // It stopped in the middle of a request: that request can never be whole.
      this.destroy();
      return;
    }
    if (!this.#current && this.#waiting.length === 0) this.#close();
  }

  #onClose(): void {
    this.#phase = "gone";
    disarm(this);
    this.#options.busy.delete(this.socket);
    if (!this.#executing) this.#closeParser();
    const aborted = Object.assign(new Error("aborted"), { code: "ECONNRESET" });
    const reading = this.#reading;
    this.#reading = undefined;
    if (reading && !reading.complete) reading.destroy(aborted);
    const current = this.#current;
    this.#current = undefined;
    this.#waiting.length = 0;
    if (current) {
      if (!current.req.complete) current.req.destroy(aborted);
      if (!current.res.writableFinished) current.res.closed(false);
    }
  }

  // ── serving, in order ──

  #accept(exchange: Exchange): void {
    if (this.#current || this.#waiting.length > 0) {
      this.#waiting.push(exchange);
      this.#hold();
      return;
    }
    this.#serve(exchange);
  }

  #serve(exchange: Exchange): void {
    this.#current = exchange;
    this.#phase = "busy";
    this.#options.busy.add(this.socket);
    if (exchange.expect === "unmet") {
      exchange.req.resume(); // nothing is forwarded; its body is read and dropped
      exchange.res.writeHead(417, undefined, { "content-length": 0 });
      exchange.res.end();
      return;
    }
    this.#handlers.request(exchange.req, exchange.res, exchange.expect === "continue");
  }

  /** The current exchange is over (response sent, request read): serve the next one or wait idle. */
  #next(): void {
    this.#current = undefined;
    const waiting = this.#waiting.shift();
    if (waiting) {
      // Not from inside the callback that ended the last response (often an upstream parser's).
      process.nextTick(() => {
        if (this.#phase === "gone") return;
        if ("refusal" in waiting) this.#refuse(waiting.refusal);
        else if ("upgrade" in waiting) this.#handOver(waiting.upgrade, waiting.head);
        else {
          if (this.#waiting.length === 0 && this.#held) this.#release();
          this.#serve(waiting);
        }
      });
      return;
    }
    this.#options.busy.delete(this.socket);
    if (this.#clientEnded) {
      this.#close();
      return;
    }
    if (this.#headStarted) {
      // The next request's head began while this one was served: its deadline runs from now.
      this.#phase = "head";
      arm(this, this.#options.headersTimeoutMs);
    } else {
      this.#phase = "idle";
      arm(this, this.#options.keepAliveTimeoutMs);
    }
    if (this.#held) this.#release();
  }

  /** Answer unservable input (now, or after the exchange being served) and close. */
  #refuse(err: ClientError): void {
    this.#refusal = undefined;
    if (this.#phase === "gone") return;
    const current = this.#current;
    const reading = this.#reading;
    this.#reading = undefined;
    if (reading && !reading.complete) reading.destroy(err); // its body can never be whole
    if (current && current.req === reading) {
      // The request being served is the malformed one: its exchange ends here (the driver aborts the
      // upstream). Answer 400 unless its response has already begun.
      if (current.res.headersSent && !current.res.writableFinished) {
        this.destroy();
        return;
      }
      this.#current = undefined;
      this.#waiting.length = 0;
      this.#options.busy.delete(this.socket);
      if (!current.res.writableFinished) current.res.closed(false);
    } else if (current) {
      // Requests read whole before the bad input are answered first; one cut short by it is dropped.
      this.#hold();
      const cut = this.#waiting.findIndex((w) => "req" in w && w.req === reading);
      if (cut >= 0) this.#waiting.length = cut;
      this.#waiting.push({ refusal: err });
      return;
    }
    this.#stopReading();
    this.#flush();
    this.#handlers.clientError(err, this.socket);
  }

  /** Give the socket to the upgrade handler, with the bytes that came after the head. */
  #handOver(req: Http1Request, head: Buffer): void {
    this.#stopReading();
    // A tunnel is busy until it ends: a draining port lets it run to the drain deadline.
    this.#options.busy.add(this.socket);
    this.socket.pause();
    this.#handlers.upgrade(req, this.socket, head);
  }

  #stopReading(): void {
    if (this.#phase === "gone") return;
    this.#phase = "gone";
    disarm(this);
    if (!this.#executing) this.#closeParser();
    this.socket.off("data", this.#onDataListener);
    this.socket.off("end", this.#onEndListener);
    this.socket.off("close", this.#onCloseListener);
    // What the client still sends is read and dropped: closing with unread bytes would reset the
    // connection and could destroy the response on its way.
    this.socket.resume();
  }

  #closeParser(): void {
    if (this.#parserClosed) return;
    this.#parserClosed = true;
    this.#parser.close();
  }

  /** The keep-alive time passed (nothing asked, or nothing more of a dropped body), or a request head took too long (408). */
  expire(): void {
    if (this.#phase === "idle" || this.#phase === "drain") this.destroy();
    else if (this.#phase === "head") this.#refuse(clientError("ERR_HTTP_REQUEST_TIMEOUT", `no complete request head within ${this.#options.headersTimeoutMs} ms`));
  }

  // ── writing (called by the response) ──

  writeHead(head: string): void {
    this.#cork();
    this.socket.write(head, "latin1");
  }

  /** Protocol text of our own: interim responses (100, 103), the chunked body's end. */
  writeText(text: string): void {
    this.socket.write(text, "latin1");
  }

  writeBody(chunk: Buffer | string, chunked: boolean): boolean {
    const socket = this.socket;
    if (chunked) {
      this.#cork();
      // All three parts, whatever each write says: the framing must stay whole.
      socket.write(`${Buffer.byteLength(chunk).toString(16)}\r\n`, "latin1");
      socket.write(chunk);
      socket.write("\r\n", "latin1");
    } else {
      socket.write(chunk);
    }
    return !socket.writableNeedDrain;
  }

  /** The response is written whole: keep the connection for the next request, or close it. */
  finish(res: Http1Response): void {
    this.#flush();
    const current = this.#current;
    if (current?.res !== res) return;
    res.closed(true);
    if (this.#current !== current) return; // the driver's close listener ended it meanwhile
    // A client that half-closed still gets the answers to the requests it sent before (`#next` closes).
    if (!res.shouldKeepAlive || (this.#clientEnded && this.#waiting.length === 0)) {
      this.#waiting.length = 0;
      this.#current = undefined;
      this.#options.busy.delete(this.socket);
      this.#close();
      return;
    }
    if (current.req.complete) {
      this.#next();
      return;
    }
    // The rest of the request body is read and dropped; `#onMessageComplete` goes on. A client that
    // stops sending it is idle like any other.
    this.#phase = "drain";
    arm(this, this.#options.keepAliveTimeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Everything asked is answered: close once written. */
  #close(): void {
    this.#stopReading();
    this.#flush();
    this.socket.destroySoon();
  }

  /** Writes of one response go out in one `writev` (head, body and end when they come together). */
  #cork(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.socket.cork();
    process.nextTick(this.#uncork);
  }

  #flush(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.socket.uncork();
  }
}

/** Serve HTTP/1.1 on `socket` (already carrying the first bytes of a request). */
export function serveHttp1(socket: Socket, handlers: Http1Handlers, options: Http1Options): Http1Connection {
  return new Http1Connection(socket, handlers, options);
}
