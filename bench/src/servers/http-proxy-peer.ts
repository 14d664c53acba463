/**
 * The "common Node choice" peer: a reverse proxy on `http-proxy`, routing on `x-gefyra` like Carrier2
 * (a Map from header value to bridge target, else the cluster), keep-alive agent toward upstreams,
 * X-Forwarded-* added, WebSocket upgrades proxied the same way (`proxy.ws`), one JSON access-log line
 * per request (unless --no-access-log). N workers via
 * `node:cluster`. Args: PORT WORKERS ROUTES_JSON_FILE [--no-access-log].
 */
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { Agent, createServer } from "node:http";
import httpProxy from "http-proxy";

interface Routes {
  header: string;
  cluster: string;
  bridges: Record<string, string>;
}

const [portArg, workersArg, routesFile, ...flags] = process.argv.slice(2);
const port = Number(portArg);
const workers = Number(workersArg);
const accessLog = !flags.includes("--no-access-log");

if (cluster.isPrimary && workers > 1) {
  let listening = 0;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("listening", () => {
    if (++listening === workers) process.send?.({ ready: true });
  });
  process.on("SIGTERM", () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
    process.exit(0);
  });
} else {
  const routes = JSON.parse(readFileSync(routesFile!, "utf8")) as Routes;
  const byHeader = new Map(Object.entries(routes.bridges).map(([value, target]) => [value, `http://${target}`]));
  const clusterTarget = `http://${routes.cluster}`;
  const agent = new Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 60_000 });
  const proxy = httpProxy.createProxyServer({ agent, xfwd: true });
  const server = createServer((req, res) => {
    const value = req.headers[routes.header];
    const target = (typeof value === "string" && byHeader.get(value)) || clusterTarget;
    const started = performance.now();
    if (accessLog) {
      res.on("finish", () => {
        process.stdout.write(
          `${JSON.stringify({ time: new Date().toISOString(), method: req.method, path: req.url, target, status: res.statusCode, duration_ms: Math.round((performance.now() - started) * 1000) / 1000 })}\n`,
        );
      });
    }
    proxy.web(req, res, { target }, () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end("bad gateway\n");
    });
  });
  server.on("upgrade", (req, socket, head) => {
    const value = req.headers[routes.header];
    const target = (typeof value === "string" && byHeader.get(value)) || clusterTarget;
    socket.on("error", () => {});
    proxy.ws(req, socket, head, { target }, () => socket.destroy());
  });
  server.keepAliveTimeout = 75_000;
  server.headersTimeout = 76_000;
  server.listen(port, "127.0.0.1", () => {
    if (!cluster.isWorker) process.send?.({ ready: true });
  });
  process.on("SIGTERM", () => process.exit(0));
}
