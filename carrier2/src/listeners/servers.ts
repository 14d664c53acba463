/**
 * Listening sockets: proxy ports (HTTP/1.1 + HTTP/2, over TLS when the port has `tls`; see
 * `protocols.ts`) and probe ports. Every socket
 * is bound with SO_REUSEPORT and `exclusive`, so workers each bind their own and the kernel spreads
 * connections, and a port can be re-bound (HTTP ↔ HTTPS) before the old socket closes.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { TlsFiles } from "../config/index.ts";
import { log } from "../observability/log.ts";
import { closingResponse } from "../proxy/downstream.ts";
import { handleRequest, handleUpgrade, type PortState } from "../proxy/driver.ts";
import { createMultiProtocolServer, type PortServer } from "./protocols.ts";
import type { Pem } from "./self-signed.ts";

/**
 * Idle keep-alive connections close after this: longer than common ingress idle timeouts (60 s), so the
 * ingress closes first and never reuses a connection we are closing. (Uploads may take long: only the
 * request head has a deadline; upstream and body-idle timeouts bound the exchange.)
 */
const KEEP_ALIVE_TIMEOUT_MS = 75_000;

export function readTls(tls: TlsFiles): Pem {
  return { cert: readFileSync(tls.certificate, "utf8"), key: readFileSync(tls.key, "utf8") };
}

const CLIENT_ERROR_STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/** Largest request head on a proxy port (node:http's default). */
const MAX_HEADER_SIZE = 16 * 1024;

/** Malformed HTTP never reaches the driver: answer 400 (or 408/431), close, log. */
function onClientError(port: number, err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket): void {
  const status = CLIENT_ERROR_STATUS[err.code ?? ""] ?? 400;
  if (err.code !== "ECONNRESET") log.info({ port, status, error: "C2_BAD_REQUEST", error_detail: `${err.code ?? ""} ${err.message}`.trim() }, "rejected");
  if (!socket.writable) return void socket.destroy();
  const body = `${JSON.stringify({ error: "C2_BAD_REQUEST", status, message: `malformed request: ${err.code ?? err.message}`, port })}\n`;
  socket.end(closingResponse(status, { "content-type": "application/json", "x-carrier2-error": "C2_BAD_REQUEST" }, body));
}

/** A proxy port's server (HTTP/1.1, HTTP/2, WebSocket); requests read `state.table` at arrival. */
export function createProxyServer(port: number, state: PortState, pem: Pem | undefined, clientHeadersMs: number): PortServer {
  const limits = {
    headersTimeoutMs: clientHeadersMs,
    keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
    maxHeaderSize: MAX_HEADER_SIZE,
    closing: () => state.closing,
  };
  return createMultiProtocolServer(pem, limits, {
    request: (req, res, expectContinue) => handleRequest(state, req, res, expectContinue),
    upgrade: (req, socket, head) => handleUpgrade(state, req, socket, head),
    clientError: (err, socket) => onClientError(port, err, socket),
  });
}

/** A kubelet probe port: 200 to everything. */
export function createProbeServer(pem: Pem | undefined): PortServer {
  const handler = (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": 3 });
    res.end("ok\n");
  };
  const options = { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, headersTimeout: 60_000 };
  const server: Server = pem ? createHttpsServer({ ...options, ...pem }, handler) : createHttpServer(options, handler);
  // Probes answer the same whatever the generation: nothing to hold back.
  return Object.assign(server, { open() {} }) as unknown as PortServer;
}

export function listen(server: PortServer, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off("listening", onListening);
      reject(err);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen({ port, reusePort: true, exclusive: true });
  });
}

/** Stop accepting, let in-flight requests finish, force-close after `drainMs`. */
export function drainAndClose(server: PortServer, drainMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), drainMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
