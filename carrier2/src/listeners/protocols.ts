/**
 * One proxy port speaks HTTP/1.1, HTTP/2 and WebSocket at once:
 * - TLS ports: ALPN picks `h2` or `http/1.1` (an HTTP/2 secure server with `allowHTTP1`).
 * - Plaintext ports: the first bytes decide: the HTTP/2 connection preface (`PRI * HTTP/2.0`, "h2c with
 *   prior knowledge", as gRPC clients send) goes to an HTTP/2 server, anything else to HTTP/1.1.
 * Connections are tracked so a closing port can drain them: idle ones close at once (HTTP/2 sessions
 * get GOAWAY), busy ones when done or when the drain time is up.
 */
import { createServer as createHttpServer, type Server } from "node:http";
import { createSecureServer, createServer as createH2Server, type Http2Session } from "node:http2";
import { createServer as createNetServer, type Socket } from "node:net";
import { Duplex } from "node:stream";
import type { Pem } from "./self-signed.ts";

/** The listener surface the data plane uses (a subset of `http.Server`). */
export type ProxyServer = Server;

interface Tracked {
  sockets: Set<Socket>;
  sessions: Set<Http2Session>;
  /** Plaintext sockets handed to the HTTP/2 server (their sessions drain by GOAWAY). */
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

function track(tracked: Tracked, server: ReturnType<typeof createH2Server> | ReturnType<typeof createSecureServer>): void {
  server.on("session", (session: Http2Session) => {
    tracked.sessions.add(session);
    session.once("close", () => tracked.sessions.delete(session));
  });
}

function trackSocket(tracked: Tracked, socket: Socket): void {
  tracked.sockets.add(socket);
  socket.once("close", () => tracked.sockets.delete(socket));
}

/** Give a listener the drain methods `drainAndClose` calls, over every protocol it serves. */
function withDrain<T extends object>(outer: T, tracked: Tracked): T & ProxyServer {
  const busy = (s: Socket) => (s as Socket & { _httpMessage?: unknown })._httpMessage != null;
  return Object.assign(outer, {
    closeIdleConnections(): void {
      for (const session of tracked.sessions) if (!session.closed) session.close();
      for (const s of tracked.sockets) if (!busy(s) && !isH2(s, tracked)) s.destroy();
    },
    closeAllConnections(): void {
      for (const session of tracked.sessions) session.destroy();
      for (const s of tracked.sockets) s.destroy();
    },
  }) as unknown as T & ProxyServer;
}

function isH2(socket: Socket, tracked: Tracked): boolean {
  return tracked.h2Sockets.has(socket) || (socket as Socket & { alpnProtocol?: string | false }).alpnProtocol === "h2";
}

/** Read until the first bytes tell HTTP/2's preface from HTTP/1.1 (at most 4 bytes are needed). */
function sniff(socket: Socket, decide: (first: Buffer, h2: boolean) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const head = seen.toString("latin1", 0, Math.min(4, seen.length));
    if (seen.length < 4 && PREFACE.startsWith(head)) return; // "P", "PR", "PRI" could still be either
    socket.off("data", onData);
    socket.pause();
    decide(seen, head === PREFACE);
  };
  socket.on("data", onData);
}

export interface Handlers {
  /** Wires request/upgrade/error handlers onto an HTTP/1.1 or HTTP/2 server. */
  attach(server: Server | ReturnType<typeof createH2Server> | ReturnType<typeof createSecureServer>): void;
}

export function createMultiProtocolServer(
  pem: Pem | undefined,
  h1Options: Record<string, unknown>,
  handlers: Handlers,
): ProxyServer {
  const tracked: Tracked = { sockets: new Set(), sessions: new Set(), h2Sockets: new WeakSet() };
  if (pem) {
    const server = createSecureServer({ ...h1Options, ...pem, allowHTTP1: true });
    (server as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    server.on("secureConnection", (s: Socket) => trackSocket(tracked, s));
    track(tracked, server);
    handlers.attach(server);
    return withDrain(server, tracked);
  }
  const h1 = createHttpServer(h1Options);
  (h1 as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  const h2 = createH2Server();
  track(tracked, h2);
  handlers.attach(h1);
  handlers.attach(h2);
  // Like http.Server itself: half-open sockets, so a client that half-closes after its request is answered.
  const outer = createNetServer({ allowHalfOpen: true }, (socket) => {
    trackSocket(tracked, socket);
    socket.setNoDelay(true);
    sniff(socket, (first, isPreface) => {
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
    socket.on("error", () => socket.destroy());
  });
  // `setSecureContext` is never called on plaintext ports; drain methods come from `withDrain`.
  return withDrain(outer, tracked);
}
