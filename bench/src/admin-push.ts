/**
 * Admin push benchmark: route-table pushes through the admin API at a fixed rate while keep-alive
 * clients load the proxy.
 *
 *   npx node bench/src/admin-push.ts [--duration 10] [--rate 10] [--workers 2] [--connections 16]
 *                                    [--bridges 10] [--json]
 *
 * Measures
 *  - PUT-to-applied latency (p50/p99/max): from sending `PUT /v1/config` to its 200, which Carrier2
 *    sends only once every worker serves the new table. Each push is also checked through
 *    `/v1/status` (every worker reports the new generation).
 *  - Request success rate during the pushes: a request succeeds when it gets a 200 from the upstream
 *    its route must reach (alice's requests → alice, unmatched → cluster: unchanged by the pushes,
 *    which alternately add and remove other bridges). Anything else — error, other status, other
 *    upstream — is a failure.
 * Carrier2 runs as its own process (`threads: --workers`, log level warn); upstreams and clients share
 * this process. Everything is on 127.0.0.1 and stops by itself after --duration seconds.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { Agent, createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const BIN = fileURLToPath(new URL("../../carrier2/bin/carrier2.js", import.meta.url));

const { values: opts } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    rate: { type: "string", default: "10" },
    workers: { type: "string", default: "2" },
    connections: { type: "string", default: "16" },
    bridges: { type: "string", default: "10" },
    json: { type: "boolean", default: false },
  },
});
const DURATION_S = Number(opts.duration);
const RATE = Number(opts.rate);
const WORKERS = Number(opts.workers);
const CONNECTIONS = Number(opts.connections);
const BRIDGES = Number(opts.bridges);

function upstream(name: string): Promise<Server> {
  const body = `${name}\n`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": body.length, "x-served-by": name });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const addr = (s: Server) => `127.0.0.1:${(s.address() as AddressInfo).port}`;

interface Answer {
  status: number;
  servedBy: string | undefined;
  body: string;
}

/** One request on a keep-alive agent (node:http: nothing beyond what this workspace declares). */
function call(agent: Agent, port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers, agent }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, servedBy: res.headers["x-served-by"] as string | undefined, body: text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function freePort(): Promise<number> {
  const s = await new Promise<Server>((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => resolve(srv));
  });
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** alice first; then `bridges - 1` others, plus `pushed-N` on odd pushes (added, removed, added, …). */
function config(port: number, cluster: string, alice: string, other: string, push: number) {
  const bridges: Record<string, unknown> = {
    alice: { endpoint: alice, rules: [{ match: [{ matchHeader: { name: "x-gefyra", value: "alice" } }] }] },
  };
  for (let i = 1; i < BRIDGES; i++) bridges[`dev-${i}`] = { endpoint: other, rules: [{ match: [{ matchHeader: { name: "x-gefyra", value: `dev-${i}` } }] }] };
  if (push % 2 === 1) bridges[`pushed-${push}`] = { endpoint: other, rules: [{ match: [{ matchHeader: { name: "x-gefyra", value: `pushed-${push}` } }] }] };
  return { version: 1, threads: WORKERS, timeouts: { drainMs: 5_000 }, proxy: [{ port, clusterUpstream: [cluster], bridges }] };
}

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! * 100) / 100 : 0);
  return { p50: at(0.5), p99: at(0.99), max: at(1), n: sorted.length };
}

async function waitReady(adminUrl: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`carrier2 exited (${child.exitCode})`);
    try {
      if ((await fetch(`${adminUrl}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("carrier2 did not become ready");
}

async function main(): Promise<void> {
  const cluster = await upstream("cluster");
  const alice = await upstream("alice");
  const other = await upstream("other");
  const port = await freePort();
  const adminPort = await freePort();
  const token = randomBytes(16).toString("hex");
  const dir = mkdtempSync(join(tmpdir(), "carrier2-admin-push-"));
  const file = join(dir, "carrier2.json");
  writeFileSync(file, JSON.stringify(config(port, addr(cluster), addr(alice), addr(other), 0)));
  const child = spawn(process.execPath, [BIN, "-c", file, "--admin", `127.0.0.1:${adminPort}`], {
    env: { ...process.env, CARRIER2_LOG_LEVEL: "warn", CARRIER2_ADMIN_TOKEN: token },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const auth = { authorization: `Bearer ${token}` };
  try {
    await waitReady(adminUrl, child);
    const proxy = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const admin = new Agent({ keepAlive: true, maxSockets: 2 });

    // Load: CONNECTIONS closed-loop clients, alternating alice's requests and unmatched ones.
    const load = { ok: 0, failed: 0, errors: new Map<string, number>() };
    const fail = (why: string) => {
      load.failed++;
      load.errors.set(why, (load.errors.get(why) ?? 0) + 1);
    };
    let stop = false;
    const client = async (n: number) => {
      for (let i = n; !stop; i++) {
        const toAlice = i % 2 === 0;
        try {
          const res = await call(proxy, port, "GET", toAlice ? "/api/a" : "/api/plain", toAlice ? { "x-gefyra": "alice" } : {});
          const want = toAlice ? "alice" : "cluster";
          if (res.status !== 200) fail(`status ${res.status}`);
          else if (res.servedBy !== want) fail(`served by ${res.servedBy}, not ${want}`);
          else load.ok++;
        } catch (err) {
          fail((err as { code?: string }).code ?? (err as Error).message);
        }
      }
    };

    // Pushes: one every 1/RATE s; a push still running when the next is due delays it (counted).
    const latencies: number[] = [];
    const push = { ok: 0, failed: 0, late: 0, notEverywhere: 0, errors: [] as string[] };
    const pusher = async () => {
      const every = 1000 / RATE;
      const start = performance.now();
      for (let n = 1; !stop; n++) {
        const due = start + n * every;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        else push.late++;
        if (stop) break;
        const body = JSON.stringify(config(port, addr(cluster), addr(alice), addr(other), n));
        const t0 = performance.now();
        const res = await call(admin, adminPort, "PUT", "/v1/config", { ...auth, "content-type": "application/json" }, body);
        const ms = performance.now() - t0;
        if (res.status !== 200) {
          push.failed++;
          if (push.errors.length < 5) push.errors.push(`${res.status} ${res.body.slice(0, 200)}`);
          continue;
        }
        push.ok++;
        latencies.push(ms);
        const { generation } = JSON.parse(res.body) as { generation: number };
        const status = await call(admin, adminPort, "GET", "/v1/status", auth);
        const { workers } = JSON.parse(status.body) as { workers: { generation: number }[] };
        if (workers.length !== WORKERS || workers.some((w) => w.generation < generation)) push.notEverywhere++;
      }
    };

    const t0 = performance.now();
    const running = [pusher(), ...Array.from({ length: CONNECTIONS }, (_, n) => client(n))];
    await new Promise((r) => setTimeout(r, DURATION_S * 1000));
    stop = true;
    await Promise.all(running);
    const seconds = (performance.now() - t0) / 1000;
    proxy.destroy();
    admin.destroy();

    const total = load.ok + load.failed;
    const result = {
      workers: WORKERS,
      bridges: BRIDGES,
      connections: CONNECTIONS,
      durationS: Math.round(seconds * 10) / 10,
      pushRatePerS: RATE,
      pushes: { ...push, latencyMs: percentiles(latencies) },
      requests: { total, ok: load.ok, failed: load.failed, rps: Math.round(total / seconds), successRate: total ? load.ok / total : 0, errors: Object.fromEntries(load.errors) },
    };
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const l = result.pushes.latencyMs;
      process.stdout.write(
        [
          `Carrier2 admin pushes: threads ${WORKERS}, ${BRIDGES} bridges, ${CONNECTIONS} keep-alive connections, ${result.durationS} s`,
          `  pushes: ${push.ok} applied, ${push.failed} failed, ${push.late} started late, ${push.notEverywhere} not reported by every worker`,
          `  PUT-to-applied on all workers: p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms (n=${l.n})`,
          `  requests during pushes: ${total} at ${result.requests.rps}/s, success ${(result.requests.successRate * 100).toFixed(3)}% (${load.failed} failed)`,
          ...[...load.errors].map(([why, n]) => `    ${n}× ${why}`),
          ...push.errors.map((e) => `    push error: ${e}`),
          "",
        ].join("\n"),
      );
    }
    if (load.failed > 0 || push.failed > 0) process.exitCode = 1;
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
    for (const s of [cluster, alice, other]) s.close();
  }
}

await main();
