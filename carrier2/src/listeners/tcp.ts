/**
 * `protocol: tcp` ports: for services' non-HTTP ports (databases, message brokers, custom protocols).
 * Nothing in a byte stream says which developer it belongs to, so every connection goes to the
 * cluster upstream (round-robin over `clusterUpstream`); bytes are copied both ways untouched, with
 * backpressure (pipe) and half-close passed through. One log line per connection.
 */
import { randomUUID } from "node:crypto";
import { connect, type Socket } from "node:net";
import { log } from "../observability/log.ts";
import type { PortState } from "../proxy/driver.ts";
import { pickEndpoint } from "../proxy/route-table.ts";
import { gatedListener, type PortServer } from "./protocols.ts";

/** How long a half-closed connection may wait for its other side to finish. */
const LINGER_MS = 30_000;

function relay(state: PortState, client: Socket, upstreams: Set<Socket>): void {
  const table = state.table;
  const started = performance.now();
  const endpoint = pickEndpoint(table, table.cluster);
  const id = randomUUID();
  let error: string | undefined;
  if (!endpoint) {
    log.info({ request_id: id, port: table.port, route: "cluster", upstream: null, error: "C2_NO_UPSTREAM" }, "connection");
    client.destroy();
    return;
  }
  const upstream = connect({ host: endpoint.host, port: endpoint.port, allowHalfOpen: true, noDelay: true });
  upstreams.add(upstream);
  client.setNoDelay(true);
  const timer = setTimeout(() => {
    error = "C2_UPSTREAM_CONNECT_TIMEOUT";
    upstream.destroy();
  }, table.connectMs);
  timer.unref();
  upstream.once("connect", () => clearTimeout(timer));
  client.pipe(upstream); // resumes the (paused on accept) client
  upstream.pipe(client);
  upstream.on("error", (err: NodeJS.ErrnoException) => {
    error ??= upstream.connecting || upstream.bytesRead === 0 ? `C2_UPSTREAM_CONNECT ${err.code ?? ""}`.trim() : `C2_UPSTREAM_RESET ${err.code ?? ""}`.trim();
    client.destroy();
  });
  client.on("error", () => upstream.destroy());
  let closed = 0;
  const done = () => {
    if (++closed < 2) return;
    clearTimeout(timer);
    upstreams.delete(upstream);
    log.info(
      {
        request_id: id,
        port: table.port,
        route: "cluster",
        upstream: endpoint.address,
        bytes_in: client.bytesRead,
        bytes_out: client.bytesWritten,
        duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
        generation: table.generation,
        ...(error ? { error } : {}),
      },
      "connection",
    );
  };
  client.once("close", () => {
    linger(upstream);
    done();
  });
  upstream.once("close", () => {
    linger(client);
    done();
  });
}

/** One side is gone: finish writing to the other, and do not wait forever for it to close. */
function linger(socket: Socket): void {
  if (socket.destroyed) return;
  socket.end();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
}

export function createTcpServer(state: PortState): PortServer {
  const upstreams = new Set<Socket>();
  const server = gatedListener((client) => relay(state, client, upstreams));
  // Drain: a byte stream has no idle point to close at; connections end on their own or at the deadline.
  const closeAll = server.closeAllConnections.bind(server);
  return Object.assign(server, {
    closeIdleConnections(): void {},
    closeAllConnections(): void {
      closeAll();
      for (const s of upstreams) s.destroy();
    },
  });
}
