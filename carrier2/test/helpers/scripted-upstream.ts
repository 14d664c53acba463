/**
 * Tools for testing the HTTP/1.1 upstream client (src/upstream/h1.ts) on real sockets: upstreams that are
 * raw TCP servers scripted byte by byte, pools on them, and one exchange at a time with every callback
 * recorded. Each test file calls `useCleanups()` once; everything made here is closed after each test.
 */
import { once } from "node:events";
import type { Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach } from "vitest";
import { ProxyError } from "../../src/proxy/errors.ts";
import { parseEndpoint } from "../../src/upstream/endpoint.ts";
import { type DispatchHandler, type DispatchOptions, H1Pool, type H1PoolOptions } from "../../src/upstream/h1.ts";

const cleanups: (() => Promise<void> | void)[] = [];

/** Close what the helpers made after every test of the calling file. */
export function useCleanups(): void {
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
}

export function onCleanup(c: () => Promise<void> | void): void {
  cleanups.push(c);
}

/** Listen on a free loopback port; the server and its connections are closed after the test. */
export async function listen(server: Server | HttpServer): Promise<number> {
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as { port: number }).port;
}

/** A scripted upstream: `onRequest(socket, requestHead, index)` per request head received. */
export interface Upstream {
  port: number;
  connections: number;
  /** Every request head received, in order. */
  requests: string[];
}

export async function upstream(onRequest: (socket: Socket, head: string, index: number) => void): Promise<Upstream> {
  const u: Upstream = { port: 0, connections: 0, requests: [] };
  const server = createServer((socket) => {
    u.connections++;
    let buffered = "";
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      buffered += d;
      for (let end = buffered.indexOf("\r\n\r\n"); end >= 0; end = buffered.indexOf("\r\n\r\n")) {
        const head = buffered.slice(0, end + 4);
        buffered = buffered.slice(end + 4);
        u.requests.push(head);
        onRequest(socket, head, u.requests.length - 1);
      }
    });
  });
  u.port = await listen(server);
  return u;
}

export const POOL_OPTIONS: H1PoolOptions = { connectTimeout: 1000, headersTimeout: 1000, bodyTimeout: 1000, keepAliveTimeout: 4000 };

export function poolFor(port: number, options: Partial<H1PoolOptions> = {}): H1Pool {
  const pool = new H1Pool(parseEndpoint(`127.0.0.1:${port}`, false, undefined), { ...POOL_OPTIONS, ...options });
  cleanups.push(() => pool.destroy());
  return pool;
}

/** What one exchange delivered to its handler. */
export interface Outcome {
  status?: number;
  informational: number[];
  headers?: Record<string, string | string[] | undefined>;
  body: string;
  trailers?: Record<string, string | string[] | undefined>;
  error?: Error;
  upgraded?: Socket;
  /** onResponseData calls before any final (non-1xx) head. */
  dataBeforeFinalHead: number;
  /** The callbacks in the order they came: `start 200`, `data`, `end`, `error CODE`. */
  callbacks: string[];
}

/** One exchange; `hooks` are called after the outcome is recorded (e.g. to pause). */
export function send(pool: H1Pool, options: Partial<DispatchOptions> = {}, hooks: Partial<DispatchHandler> = {}): Promise<Outcome> {
  const out: Outcome = { informational: [], body: "", dataBeforeFinalHead: 0, callbacks: [] };
  return new Promise((resolve) => {
    pool.dispatch(
      { method: "GET", path: "/", headers: ["host", "upstream"], body: null, upgrade: null, ...options },
      {
        onResponseStart(controller, status, headers, message) {
          out.callbacks.push(`start ${status}`);
          if (status < 200) out.informational.push(status);
          else {
            out.status = status;
            out.headers = headers;
          }
          hooks.onResponseStart?.(controller, status, headers, message);
        },
        onResponseData(controller, chunk) {
          out.callbacks.push("data");
          if (out.status === undefined) out.dataBeforeFinalHead++;
          out.body += chunk.toString("latin1");
          hooks.onResponseData?.(controller, chunk);
        },
        onResponseEnd(_c, trailers) {
          out.callbacks.push("end");
          out.trailers = trailers;
          resolve(out);
        },
        onResponseError(_c, error) {
          out.callbacks.push(`error ${codeOf(error)}`);
          out.error = error;
          resolve(out);
        },
        onRequestUpgrade(_c, status, headers, socket) {
          out.status = status;
          out.headers = headers;
          out.upgraded = socket;
          resolve(out);
        },
      },
    );
  });
}

/** A 200 with a Content-Length body (and extra header lines, each ending in CRLF). */
export const ok = (body: string, extra = "") => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

export function codeOf(err: Error | undefined): string | undefined {
  return err instanceof ProxyError ? err.code : (err as { code?: string } | undefined)?.code;
}
