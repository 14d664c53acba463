/**
 * The fallback upstream (when nginx is not installed): a minimal Node server in its own process with
 * two ports, `cluster` and `bridge`, each answering with its name; `GET /1mb` answers 1 MiB;
 * request bodies are read and dropped before answering (so /upload-early is not early here); WebSocket connections get every message echoed (scenario 6).
 * Args: CLUSTER_PORT BRIDGE_PORT.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { WebSocketServer } from "ws";
import { BIG_BYTES, BIG_PATH, UPSTREAM_BODY } from "../targets/routing.ts";

const big = Buffer.alloc(BIG_BYTES, "b");

function serve(name: keyof typeof UPSTREAM_BODY, port: number): Promise<void> {
  const small = Buffer.from(UPSTREAM_BODY[name]);
  const server = createServer({ keepAliveTimeout: 75_000 }, (req: IncomingMessage, res: ServerResponse) => {
    const body = req.method === "GET" && req.url === BIG_PATH ? big : small;
    const answer = () => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": body.length, "x-served-by": name });
      res.end(body);
    };
    if (req.readableEnded) return answer();
    req.on("end", answer).resume();
  });
  server.keepAliveTimeout = 75_000;
  server.headersTimeout = 76_000;
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on("error", () => {});
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
}

const [clusterPort, bridgePort] = process.argv.slice(2).map(Number);
await Promise.all([serve("cluster", clusterPort!), serve("bridge", bridgePort!)]);
process.send?.({ ready: true });
process.on("SIGTERM", () => process.exit(0));
