/**
 * `GET /v1/events`: a WebSocket of routing decisions, one JSON object per message
 * (`{"type": "request", time, port, route, rule, method, path, status, duration_ms, ...}`, and
 * `{"type": "dropped", count}` when events were lost to a full buffer). Optional filters:
 * `?port=8080&route=alice`. Authenticated like every other endpoint (the upgrade request carries the
 * bearer token). A consumer more than 1 MiB behind is disconnected (close code 1008) — it never slows
 * traffic down.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyInstance } from "fastify";
import { WebSocketServer } from "ws";
import type { EventConsumer, RequestEvent } from "../observability/events.ts";
import { log } from "../observability/log.ts";
import { closingResponse } from "../proxy/downstream.ts";
import { ADMIN_ERRORS, AdminError, type AdminErrorCode } from "./errors.ts";
import type { AdminContext } from "./http.ts";

export const EVENTS_PATH = "/v1/events";

function refuse(socket: Duplex, code: AdminErrorCode): void {
  const { status } = ADMIN_ERRORS[code];
  const body = JSON.stringify(new AdminError(code).body());
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="carrier2"';
  socket.end(closingResponse(status, headers, body));
}

function filterOf(url: URL): ((e: RequestEvent) => boolean) | undefined {
  const port = url.searchParams.get("port");
  const route = url.searchParams.get("route");
  if (port === null && route === null) return undefined;
  const p = port === null ? undefined : Number(port);
  return (e) => (p === undefined || e.port === p) && (route === null || e.route === route);
}

export function registerEventRoutes(app: FastifyInstance, { store, auth }: AdminContext): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false });

  // A plain GET (no Upgrade) reaches fastify.
  app.get(EVENTS_PATH, async () => {
    throw new AdminError("C2_ADMIN_UPGRADE_REQUIRED", "connect with a WebSocket client");
  });

  app.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node drops its own error handler from a socket handed to `upgrade`: a client reset would
    // otherwise be an uncaught 'error' (a crash), before authentication even ran.
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", "http://admin");
    if (url.pathname !== EVENTS_PATH) return refuse(socket, "C2_ADMIN_NOT_FOUND");
    if (!auth.check(req.headers.authorization)) return refuse(socket, "C2_ADMIN_UNAUTHORIZED");
    const accepts = filterOf(url);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const consumer: EventConsumer = {
        get bufferedAmount() {
          return ws.bufferedAmount;
        },
        send: (text) => ws.send(text),
        dropSlow: () => {
          log.warn({ remote: req.socket.remoteAddress }, "event consumer too slow; disconnected");
          ws.close(1008, "too slow: the event buffer is full");
          setTimeout(() => ws.terminate(), 1_000).unref();
        },
        ...(accepts ? { accepts } : {}),
      };
      const remove = store.events.add(consumer);
      ws.on("close", remove);
      ws.on("error", remove);
      log.info({ remote: req.socket.remoteAddress, consumers: store.events.size }, "event consumer connected");
    });
  });

  app.addHook("preClose", async () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  });
}
