/**
 * One proxy port speaks HTTP/1.1, HTTP/2 and WebSocket at once:
 * - TLS ports: ALPN picks `h2` or `http/1.1` (an HTTP/2 secure server with `allowHTTP1`).
 * - Plaintext ports: the first bytes decide: the HTTP/2 connection preface (`PRI * HTTP/2.0`, "h2c with
 *   prior knowledge", as gRPC clients send) goes to an HTTP/2 server, anything else to HTTP/1.1.
 *
 * Every port is a plain TCP listener of ours in front of Node's protocol servers, which never listen
 * themselves. That gives three things:
 * - a gate: a port bound while a configuration is only being prepared holds the connections it accepts
 *   until `open()` (commit), so no request is served by a generation that may still be aborted;
 * - a deadline for clients that connect and send nothing (or too little to tell the protocol);
 * - connection tracking, so a closing port drains: idle connections close at once (HTTP/2 sessions get
 *   GOAWAY), busy ones when their response is done, all at the drain deadline.
 */
import { createServer as createHttpServer, type Server } from "node:http";
import { createSecureServer, createServer as createH2Server, type Http2Session } from "node:http2";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { Duplex } from "node:stream";
import type { SecureContextOptions } from "node:tls";
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

export interface Handlers {
  /** Wires request/upgrade/error handlers onto an HTTP/1.1 or HTTP/2 server. */
  attach(server: Server | ReturnType<typeof createH2Server> | ReturnType<typeof createSecureServer>): void;
}

export interface ListenerOptions {
  /** A client must have sent its request head within this time (HTTP/1.1), or its first bytes. */
  headersTimeoutMs: number;
  /** Idle keep-alive connections close after this; idle HTTP/2 sessions too. */
  keepAliveTimeoutMs: number;
}

function newTracked(): Tracked {
  return { sockets: new Set(), sessions: new Set(), h2Sockets: new WeakSet() };
}

function trackSession(tracked: Tracked, server: ReturnType<typeof createH2Server> | ReturnType<typeof createSecureServer>): void {
  server.on("session", (session: Http2Session) => {
    tracked.sessions.add(session);
    session.once("close", () => tracked.sessions.delete(session));
  });
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
  const busy = (s: Socket) => (s as Socket & { _httpMessage?: unknown })._httpMessage != null;
  return Object.assign(outer, {
    open(): void {
      opened = true;
      for (const socket of held.splice(0)) if (!socket.destroyed) handle(socket);
    },
    closeIdleConnections(): void {
      for (const session of tracked.sessions) if (!session.closed) session.close();
      for (const s of tracked.sockets) if (!busy(s) && !tracked.h2Sockets.has(s)) s.destroy();
    },
    closeAllConnections(): void {
      for (const session of tracked.sessions) session.destroy();
      for (const s of tracked.sockets) s.destroy();
    },
    ...extra,
  }) as PortServer;
}

export function createMultiProtocolServer(
  pem: Pem | undefined,
  h1Options: Record<string, unknown>,
  options: ListenerOptions,
  handlers: Handlers,
): PortServer {
  const h2Options = { settings: { enableConnectProtocol: false } };
  if (pem) {
    const secure = createSecureServer({ ...h1Options, ...h2Options, ...pem, allowHTTP1: true });
    (secure as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    secure.setTimeout(options.keepAliveTimeoutMs);
    handlers.attach(secure);
    const tracked = newTracked();
    trackSession(tracked, secure);
    // Once TLS is up, track the TLS socket (the one HTTP marks busy) instead of the raw one it wraps.
    secure.on("secureConnection", (tlsSocket: Socket & { alpnProtocol?: string | false; _parent?: Socket }) => {
      if (tlsSocket._parent) tracked.sockets.delete(tlsSocket._parent);
      tracked.sockets.add(tlsSocket);
      tlsSocket.once("close", () => tracked.sockets.delete(tlsSocket));
      if (tlsSocket.alpnProtocol === "h2") tracked.h2Sockets.add(tlsSocket);
    });
    const server = gatedListener(
      (socket) => {
        secure.emit("connection", socket);
        socket.resume();
      },
      tracked,
      { setSecureContext: (ctx: SecureContextOptions) => secure.setSecureContext(ctx) },
    );
    // Node's protocol servers start their header/keep-alive timers on 'listening'.
    server.on("listening", () => secure.emit("listening"));
    return server;
  }
  const h1 = createHttpServer(h1Options);
  (h1 as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  const h2 = createH2Server(h2Options);
  h2.setTimeout(options.keepAliveTimeoutMs);
  handlers.attach(h1);
  handlers.attach(h2);
  const tracked = newTracked();
  trackSession(tracked, h2);
  const server = gatedListener((socket) => {
    socket.setNoDelay(true);
    sniff(socket, options.headersTimeoutMs, (first, isPreface) => {
      if (isPreface) {
        tracked.h2Sockets.add(socket);
        const replay = new Replay(socket, first);
        h2.once("session", (session: Http2Session) => sessionClientIp.set(session, socket.remoteAddress ?? "unknown"));
        h2.emit("connection", replay);
      } else {
        socket.unshift(first);
        h1.emit("connection", socket);
        socket.resume();
      }
    });
    socket.resume();
  }, tracked);
  server.on("listening", () => h1.emit("listening"));
  return server;
}
