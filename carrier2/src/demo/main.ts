/**
 * `npm start`: an embedded demo of developers sharing one service. Three upstreams on loopback — the
 * cluster's shadow and Alice's and Bob's local builds — and Carrier2 in front of them with a header
 * rule per developer. Prints curl lines to try, checks them itself, and runs until Ctrl-C.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { validateConfig } from "../config/index.ts";
import { createSupervisor } from "../runtime/supervisor.ts";

function upstream(name: string, color: string): Promise<Server> {
  const server = createServer((req, res) => {
    const body = `${JSON.stringify({ servedBy: name, method: req.method, path: req.url, xGefyra: req.headers["x-gefyra"] ?? null })}\n`;
    res.writeHead(200, { "content-type": "application/json", "x-served-by": name });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`  ${color}${name.padEnd(22)}\x1b[0m http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
    resolve(server);
  }));
}

const portOf = (s: Server) => (s.address() as AddressInfo).port;

async function freePort(preferred: number): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => probe.listen(0, "127.0.0.1", () => {
      const p = portOf(probe);
      probe.close(() => resolve(p));
    }));
    probe.listen(preferred, () => probe.close(() => resolve(preferred)));
  });
}

async function main(): Promise<void> {
  process.stdout.write("\nCarrier2 demo: one shared service, two developers, everyone else on the cluster.\n\nUpstreams:\n");
  const cluster = await upstream("cluster (shadow)", "\x1b[36m");
  const alice = await upstream("alice (local build)", "\x1b[35m");
  const bob = await upstream("bob (local build)", "\x1b[33m");
  const port = await freePort(Number(process.env.DEMO_PORT ?? 8080));

  const result = validateConfig({
    version: 1,
    threads: 1,
    proxy: [
      {
        port,
        clusterUpstream: [`127.0.0.1:${portOf(cluster)}`],
        bridges: {
          alice: { endpoint: `127.0.0.1:${portOf(alice)}`, rules: [{ match: [{ matchHeader: { name: "x-gefyra", value: "alice" } }] }] },
          bob: {
            endpoint: `127.0.0.1:${portOf(bob)}`,
            rules: [
              { match: [{ matchHeader: { name: "x-gefyra", value: "bob" } }] },
              { match: [{ matchPath: { path: "/bob-only", type: "prefix" } }] },
            ],
          },
        },
      },
    ],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  const supervisor = await createSupervisor(1);
  await supervisor.apply(result.config);

  const base = `http://127.0.0.1:${port}`;
  const tries: [string, Record<string, string>, string][] = [
    [`curl -s ${base}/orders -H 'x-gefyra: alice'`, { "x-gefyra": "alice" }, "/orders"],
    [`curl -s ${base}/orders -H 'X-Gefyra: bob'`, { "X-Gefyra": "bob" }, "/orders"],
    [`curl -s ${base}/bob-only/report`, {}, "/bob-only/report"],
    [`curl -s ${base}/orders`, {}, "/orders"],
  ];
  process.stdout.write(`\nCarrier2 is listening on ${base}. Try:\n\n`);
  for (const [line, headers, path] of tries) {
    const res = await fetch(`${base}${path}`, { headers });
    process.stdout.write(`  ${line}\n    → ${res.headers.get("x-served-by")}\n`);
  }
  process.stdout.write("\nAccess log lines (JSON) follow. Ctrl-C to stop.\n\n");

  const stop = () => {
    process.stdout.write("\nStopping the demo…\n");
    supervisor.close(1000).then(() => {
      for (const s of [cluster, alice, bob]) s.close();
      process.exit(0);
    });
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

await main();
