/**
 * One proxy port speaks HTTP/1.1, HTTP/2 and WebSocket at once:
 * - TLS ports: ALPN picks `h2` or `http/1.1`.
 * - Plaintext ports: the first bytes decide: the HTTP/2 connection preface (`PRI * HTTP/2.0`, "h2c with
 *   prior knowledge", as gRPC clients send) goes to HTTP/2, anything else to HTTP/1.1.
 * HTTP/1.1 (and WebSocket upgrades) is Carrier2's own server (`http1.ts`); HTTP/2 is node:http2's.
 *
 * Every port is a plain TCP listener of ours in front of the protocol servers, which never listen
 * themselves. That gives three things:
 * - a gate: a port bound while a configuration is only being prepared holds the connections it accepts
 *   until `open()` (commit), so no request is served by a generation that may still be aborted;
 * - a deadline for clients that connect and send nothing (or too little to tell the protocol);
 * - connection tracking, so a closing port drains: idle connections close at once (HTTP/2 sessions get
 *   GOAWAY), busy ones when their response is done, all at the drain deadline.
 */
import { createServer as createH2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from "node:http2";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { createServer as createTlsServer, type SecureContextOptions, type TLSSocket } from "node:tls";
import type { Downstream, ProxyRequest } from "../proxy/downstream.ts";
import { type Http1Handlers, serveHttp1 } from "./http1.ts";
import type { Pem } from "./self-signed.ts";

/** What the data plane holds for every listening port (proxy, tcp, probe). */
export interface PortServer extends NetServer {
  /** Start serving the connections accepted so far and from now on. */
  open(): void;
  closeIdleConnections(): void;
  closeAllConnections(): void;
  setSecureContext?(options: SecureContextOptions): void;
}

interface Tracked {
  sockets: Set<Socket>;
  sessions: Set<Http2Session>;
  /** Sockets whose connection is HTTP/2 (their sessions drain by GOAWAY). */
  h2Sockets: WeakSet<Socket>;
  /** HTTP/1.1 sockets serving a request or tunnelling (see `http1.ts`). */
  busy: WeakSet<Socket>;
}

/** Client address of an HTTP/2 session on a plaintext port (its socket is wrapped, see `Replay`). */
export const sessionClientIp = new WeakMap<Http2Session, string>();

/** Replays the sniffed first bytes, then the socket: what the HTTP/2 server reads from. */
class Replay extends Duplex {
  readonly #socket: Socket;
  #first: Buffer | undefined;

  constructor(socket: Socket, first: Buffer) {
    super();
    this.#socket = socket;
    this.#first = first;
    socket.on("data", (d: Buffer) => {
      if (!this.push(d)) socket.pause();
    });
    socket.on("end", () => this.push(null));
    socket.on("error", (err) => this.destroy(err));
    socket.on("close", () => this.destroy());
  }

  override _read(): void {
    if (this.#first) {
      const first = this.#first;
      this.#first = undefined;
      this.push(first);
    }
    this.#socket.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#socket.write(chunk, encoding, cb);
  }

  override _final(cb: () => void): void {
    this.#socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.#socket.destroy(err ?? undefined);
    cb(err);
  }
}

const PREFACE = "PRI ";

/**
 * Read until the first bytes tell HTTP/2's preface from HTTP/1.1 (at most 4 bytes are needed). A client
 * that sends too little before `timeoutMs`, or half-closes first, is disconnected.
 */
function sniff(socket: Socket, timeoutMs: number, decide: (first: Buffer, h2: boolean) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const onTimeout = () => socket.destroy();
  const stop = () => {
    socket.off("data", onData);
    socket.off("end", onEnd);
    socket.off("timeout", onTimeout);
    socket.setTimeout(0);
  };
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const head = seen.toString("latin1", 0, Math.min(4, seen.length));
    if (seen.length < 4 && PREFACE.startsWith(head)) return; // "P", "PR", "PRI" could still be either
    stop();
    socket.pause();
    decide(seen, head === PREFACE);
  };
  const onEnd = () => {
    stop();
    socket.destroy();
  };
  socket.on("data", onData);
  socket.on("end", onEnd);
  socket.on("timeout", onTimeout);
  socket.setTimeout(timeoutMs);
}

/** What a proxy port does with requests, whichever protocol carried them. */
export interface Handlers extends Omit<Http1Handlers, "request"> {
  request(req: ProxyRequest, res: Downstream, expectContinue: boolean): void;
}

export interface ListenerOptions {
  /** A client must have sent its request head within this time (HTTP/1.1), or its first bytes. */
  headersTimeoutMs: number;
  /** Idle keep-alive connections close after this; idle HTTP/2 sessions too. */
  keepAliveTimeoutMs: number;
  /** Largest HTTP/1.1 request head (→ 431). */
  maxHeaderSize: number;
  /** The port is draining (HTTP/1.1 responses then close their connections). */
  closing?: () => boolean;
}

function newTracked(): Tracked {
  return { sockets: new Set(), sessions: new Set(), h2Sockets: new WeakSet(), busy: new WeakSet() };
}

/** node:http2's server for a port's HTTP/2 connections (handed over by us, never listening itself). */
function http2Server(tracked: Tracked, options: ListenerOptions, handlers: Handlers): ReturnType<typeof createH2Server> {
  const h2 = createH2Server({ settings: { enableConnectProtocol: false } });
  h2.setTimeout(options.keepAliveTimeoutMs);
  const request = (expectContinue: boolean) => (req: Http2ServerRequest, res: Http2ServerResponse) =>
    handlers.request(req as unknown as ProxyRequest, res as unknown as Downstream, expectContinue);
  h2.on("request", request(false));
  h2.on("checkContinue", request(true));
  h2.on("session", (session: Http2Session) => {
    tracked.sessions.add(session);
    session.once("close", () => tracked.sessions.delete(session));
  });
  return h2;
}

/**
 * A gated, tracked TCP listener: `handle` receives each accepted connection once the gate is open.
 * Shared by HTTP ports and `protocol: tcp` ports.
 */
export function gatedListener(
  handle: (socket: Socket) => void,
  tracked: Tracked = newTracked(),
  extra: Partial<PortServer> = {},
): PortServer {
  let opened = false;
  const held: Socket[] = [];
  // Accepted sockets start paused: nothing is read until a protocol handler takes them.
  const outer = createNetServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    tracked.sockets.add(socket);
    socket.once("close", () => tracked.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    if (opened) handle(socket);
    else held.push(socket);
  });
  return Object.assign(outer, {
    open(): void {
      opened = true;
      for (const socket of held.splice(0)) if (!socket.destroyed) handle(socket);
    },
    closeIdleConnections(): void {
      for (const session of tracked.sessions) if (!session.closed) session.close();
      for (const s of tracked.sockets) if (!tracked.busy.has(s) && !tracked.h2Sockets.has(s)) s.destroy();
    },
    closeAllConnections(): void {
      for (const session of tracked.sessions) session.destroy();
      for (const s of tracked.sockets) s.destroy();
    },
    ...extra,
  }) as PortServer;
}

export function createMultiProtocolServer(pem: Pem | undefined, options: ListenerOptions, handlers: Handlers): PortServer {
  const tracked = newTracked();
  const h2 = http2Server(tracked, options, handlers);
  const h1Options = { ...options, busy: tracked.busy };
  const h1Handlers: Http1Handlers = handlers;
  if (pem) {
    const tls = createTlsServer({ ...pem, ALPNProtocols: ["h2", "http/1.1"] });
    // Once TLS is up, track the TLS socket instead of the raw one it wraps.
    tls.on("secureConnection", (tlsSocket: TLSSocket & { _parent?: Socket }) => {
      if (tlsSocket._parent) tracked.sockets.delete(tlsSocket._parent);
      tracked.sockets.add(tlsSocket);
      tlsSocket.once("close", () => tracked.sockets.delete(tlsSocket));
      tlsSocket.on("error", () => tlsSocket.destroy());
      if (tlsSocket.alpnProtocol === "h2") {
        tracked.h2Sockets.add(tlsSocket);
        h2.emit("connection", tlsSocket);
      } else {
        serveHttp1(tlsSocket, h1Handlers, h1Options);
      }
    });
    tls.on("tlsClientError", (_err: Error, socket: Socket) => socket.destroy());
    return gatedListener(
      (socket) => {
        socket.setNoDelay(true);
        tls.emit("connection", socket);
        socket.resume();
      },
      tracked,
      { setSecureContext: (ctx: SecureContextOptions) => tls.setSecureContext(ctx) },
    );
  }
  return gatedListener((socket) => {
    socket.setNoDelay(true);
    sniff(socket, options.headersTimeoutMs, (first, isPreface) => {
      if (isPreface) {
        tracked.h2Sockets.add(socket);
        const replay = new Replay(socket, first);
        h2.once("session", (session: Http2Session) => sessionClientIp.set(session, socket.remoteAddress ?? "unknown"));
        h2.emit("connection", replay);
      } else {
        socket.unshift(first);
        serveHttp1(socket, h1Handlers, h1Options);
        socket.resume();
      }
    });
    socket.resume();
  }, tracked);
}
