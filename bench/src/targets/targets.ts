/**
 * The targets under load, each started in its own process(es) with the same routing and the same
 * worker count: direct (the upstream itself: the limit), Carrier2, the http-proxy peer, nginx (`map
 * $http_x_gefyra`) and HAProxy (`req.hdr` ACL). A target that cannot run here is a `Skip` with a reason.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TargetKind } from "../model.ts";
import { findProgram, freePort, type Managed, processTree, startProcess, truncateLog, waitForHttp, waitForIpcReady, waitForText } from "./process.ts";
import { ROUTE_HEADER, type Routing, UPSTREAM_BODY } from "./routing.ts";
import { nginxCommon, nginxUserLine, type Upstream } from "./upstream.ts";

/** This checkout's Carrier2; `--carrier2-bin` points the bench at another (e.g. a worktree, for A/B). */
export const CARRIER2_BIN = fileURLToPath(new URL("../../../carrier2/bin/carrier2.js", import.meta.url));
const HTTP_PROXY_PEER = fileURLToPath(new URL("../servers/http-proxy-peer.ts", import.meta.url));

export interface Target {
  /** e.g. `carrier2×2` */
  id: string;
  kind: TargetKind;
  workers: number;
  /** Base URL the load goes to. */
  url: string;
  /** Root process (its tree is measured for CPU and RSS). */
  rootPid(): number | undefined;
  /** Access-log files, emptied between measurements. */
  logFiles: string[];
  admin?: { url: string; token: string };
  stop(): Promise<void>;
}

export interface Skip {
  skip: string;
}

export interface TargetContext {
  dir: string;
  upstream: Upstream;
  routing: Routing;
  accessLog: boolean;
  /** Extra node flags for Carrier2 (e.g. `--cpu-prof`). */
  carrier2NodeArgs: string[];
  /** The `carrier2` entry script to run. */
  carrier2Bin: string;
  /** Start Carrier2 with its admin API. */
  admin?: boolean;
  /** `tcp`: L4 relay of every connection to the cluster upstream (scenario 7); default `http`. */
  protocol?: "http" | "tcp";
}

export function targetId(kind: TargetKind, workers: number): string {
  return kind === "direct" ? "direct" : `${kind}×${workers}`;
}

let seq = 0;

function label(kind: TargetKind, workers: number): string {
  return `${kind}-${workers}w-${++seq}`;
}

function make(kind: TargetKind, workers: number, port: number, p: Managed, logFiles: string[], extra: Partial<Target> = {}): Target {
  return {
    id: targetId(kind, workers),
    kind,
    workers,
    url: `http://127.0.0.1:${port}`,
    rootPid: () => p.child.pid,
    logFiles,
    stop: () => p.stop("SIGTERM", 8_000),
    ...extra,
  };
}

// ── Carrier2 ─────────────────────────────────────────────────────────────────────────────────────────

export function carrier2Config(port: number, workers: number, routing: Routing, protocol: "http" | "tcp" = "http"): Record<string, unknown> {
  if (protocol === "tcp") {
    return { version: 1, threads: workers, timeouts: { drainMs: 2_000 }, proxy: [{ port, protocol: "tcp", clusterUpstream: [routing.cluster] }] };
  }
  const bridges: Record<string, unknown> = {};
  for (const name of routing.bridges) {
    bridges[name] = { endpoint: routing.bridge, rules: [{ match: [{ matchHeader: { name: ROUTE_HEADER, value: name } }] }] };
  }
  return {
    version: 1,
    threads: workers,
    timeouts: { drainMs: 2_000 },
    proxy: [{ port, clusterUpstream: [routing.cluster], bridges }],
  };
}

const carrier2Help = new Map<string, string>();

/** Flags a Carrier2 accepts (read from its `--help`, once per binary). */
export function carrier2Supports(flag: string, bin = CARRIER2_BIN): boolean {
  let help = carrier2Help.get(bin);
  if (help === undefined) {
    try {
      help = execFileSync(process.execPath, [bin, "--help"], { encoding: "utf8", timeout: 20_000 });
    } catch (err) {
      help = String((err as { stdout?: string }).stdout ?? "");
    }
    carrier2Help.set(bin, help);
  }
  return help.includes(flag);
}

async function startCarrier2(workers: number, ctx: TargetContext): Promise<Target> {
  const port = await freePort();
  const name = label("carrier2", workers);
  const file = join(ctx.dir, `${name}.yaml`);
  // JSON is YAML: the file is the same object the admin API receives.
  writeFileSync(file, JSON.stringify(carrier2Config(port, workers, ctx.routing, ctx.protocol), null, 1));
  const args = [...ctx.carrier2NodeArgs, ctx.carrier2Bin, "-c", file];
  const env: NodeJS.ProcessEnv = { ...process.env, CARRIER2_LOG_LEVEL: ctx.accessLog ? "info" : "warn" };
  let admin: Target["admin"];
  if (ctx.admin) {
    const adminPort = await freePort();
    const token = randomBytes(16).toString("hex");
    args.push("--admin", `127.0.0.1:${adminPort}`);
    env.CARRIER2_ADMIN_TOKEN = token;
    admin = { url: `http://127.0.0.1:${adminPort}`, token };
  }
  const p = startProcess(name, ctx.dir, process.execPath, args, { env });
  try {
    if (ctx.accessLog) {
      // Logged once every worker serves the configuration.
      await waitForText(p, p.stdoutFile, '"serving"');
      await waitForHttp(p, `http://127.0.0.1:${port}/`);
    } else {
      // At log level warn there is no "serving" line: poll the port, then give late workers a moment.
      await waitForHttp(p, `http://127.0.0.1:${port}/`);
      await new Promise((r) => setTimeout(r, 300 * workers));
    }
  } catch (err) {
    await p.stop("SIGKILL");
    throw err;
  }
  return make("carrier2", workers, port, p, [p.stdoutFile], admin ? { admin } : {});
}

// ── http-proxy ───────────────────────────────────────────────────────────────────────────────────────

async function startHttpProxy(workers: number, ctx: TargetContext): Promise<Target> {
  const port = await freePort();
  const name = label("http-proxy", workers);
  const routes = join(ctx.dir, `${name}.routes.json`);
  writeFileSync(routes, JSON.stringify({ header: ROUTE_HEADER, cluster: ctx.routing.cluster, bridges: Object.fromEntries(ctx.routing.bridges.map((b) => [b, ctx.routing.bridge])) }));
  const args = [HTTP_PROXY_PEER, String(port), String(workers), routes, ...(ctx.accessLog ? [] : ["--no-access-log"])];
  const p = startProcess(name, ctx.dir, process.execPath, args, { stdio: ["ignore", "pipe", "pipe", "ipc"] });
  await waitForIpcReady(p);
  return make("http-proxy", workers, port, p, [p.stdoutFile]);
}

// ── nginx ────────────────────────────────────────────────────────────────────────────────────────────

interface NginxOptions {
  dir: string;
  name: string;
  port: number;
  workers: number;
  routing: Routing;
  accessLog?: string;
}

/** The main context every nginx peer shares: workers, foreground, pid and error log in the temp dir. */
function nginxMain(o: NginxOptions): string {
  return `${nginxUserLine()}
worker_processes ${o.workers};
daemon off;
pid ${join(o.dir, `${o.name}.pid`)};
error_log ${join(o.dir, `${o.name}-error.log`)} warn;
events { worker_connections 16384; }`;
}

export function nginxProxyConfig(o: NginxOptions & { temps: string }): string {
  const map = o.routing.bridges.map((b) => `    ${JSON.stringify(b)} bridge;`).join("\n");
  const up = (n: string, addr: string) => `  upstream ${n} { server ${addr}; keepalive 256; keepalive_requests 10000000; keepalive_timeout 75s; }`;
  return `${nginxMain(o)}
http {
  ${o.accessLog ? `access_log ${o.accessLog};` : "access_log off;"}
  keepalive_timeout 75s;
  keepalive_requests 10000000;
  client_max_body_size 0;
  map_hash_max_size 65536;
  map_hash_bucket_size 128;
  ${o.temps}
  map $http_upgrade $connection_upgrade {
    default upgrade;
    "" "";
  }
  map $http_${ROUTE_HEADER.replaceAll("-", "_")} $carrier2_route {
    default cluster;
${map}
  }
${up("cluster", o.routing.cluster)}
${up("bridge", o.routing.bridge)}
  server {
    listen 127.0.0.1:${o.port} backlog=4096;
    location / {
      proxy_pass http://$carrier2_route;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_request_buffering off;
    }
  }
}
`;
}

export const NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";

/** nginx `stream {}`: every connection to the cluster upstream (the L4 peer). */
export function nginxStreamConfig(o: NginxOptions): string {
  return `load_module ${NGINX_STREAM_MODULE};
${nginxMain(o)}
stream {
  ${o.accessLog ? `log_format basic '$remote_addr [$time_local] $protocol $status $bytes_sent $bytes_received $session_time';\n  access_log ${o.accessLog} basic;` : "access_log off;"}
  upstream cluster { server ${o.routing.cluster}; }
  server {
    listen 127.0.0.1:${o.port} backlog=4096;
    proxy_pass cluster;
  }
}
`;
}

async function startNginx(workers: number, ctx: TargetContext, nginx: string): Promise<Target> {
  const port = await freePort();
  const name = label("nginx", workers);
  const common = nginxCommon(ctx.dir, name);
  const accessLog = ctx.accessLog ? join(ctx.dir, `${name}.access.log`) : undefined;
  const file = join(ctx.dir, `${name}.conf`);
  const o = { dir: ctx.dir, name, port, workers, routing: ctx.routing, ...(accessLog ? { accessLog } : {}) };
  writeFileSync(file, ctx.protocol === "tcp" ? nginxStreamConfig(o) : nginxProxyConfig({ ...o, temps: common.temps }));
  const p = startProcess(name, ctx.dir, nginx, common.args(file));
  await waitForHttp(p, `http://127.0.0.1:${port}/`);
  return make("nginx", workers, port, p, accessLog ? [accessLog] : []);
}

// ── HAProxy ──────────────────────────────────────────────────────────────────────────────────────────

export function haproxyConfig(o: { port: number; workers: number; routing: Routing; patternFile: string; accessLog: boolean; protocol?: "http" | "tcp" }): string {
  if (o.protocol === "tcp") {
    return `global
  nbthread ${o.workers}
  maxconn 8000
${o.accessLog ? "  log stdout format raw local0 info\n" : ""}
defaults
  mode tcp
${o.accessLog ? "  log global\n  option tcplog\n" : ""}  timeout connect 5s
  timeout client 75s
  timeout server 75s

frontend carrier2_peer_l4
  bind 127.0.0.1:${o.port}
  default_backend cluster

backend cluster
  server cluster1 ${o.routing.cluster} maxconn 4000
`;
  }
  return `global
  nbthread ${o.workers}
  # Two fds per proxied connection; stays under a 20k open-file limit.
  maxconn 8000
${o.accessLog ? "  log stdout format raw local0 info\n" : ""}
defaults
  mode http
${o.accessLog ? "  log global\n  option httplog\n" : ""}  option http-keep-alive
  option forwardfor
  timeout connect 5s
  timeout client 75s
  timeout server 60s
  timeout http-keep-alive 75s
  timeout tunnel 1h

frontend carrier2_peer
  bind 127.0.0.1:${o.port}
  http-request set-header X-Forwarded-Proto http
  acl developer_route req.hdr(${ROUTE_HEADER}) -m str -f ${o.patternFile}
  use_backend bridge if developer_route
  default_backend cluster

backend cluster
  http-reuse always
  server cluster1 ${o.routing.cluster} maxconn 4000

backend bridge
  http-reuse always
  server bridge1 ${o.routing.bridge} maxconn 4000
`;
}

async function startHaproxy(workers: number, ctx: TargetContext, haproxy: string): Promise<Target> {
  const port = await freePort();
  const name = label("haproxy", workers);
  const patternFile = join(ctx.dir, `${name}.routes.lst`);
  writeFileSync(patternFile, ctx.routing.bridges.length ? `${ctx.routing.bridges.join("\n")}\n` : "");
  const file = join(ctx.dir, `${name}.cfg`);
  writeFileSync(file, haproxyConfig({ port, workers, routing: ctx.routing, patternFile, accessLog: ctx.accessLog, ...(ctx.protocol ? { protocol: ctx.protocol } : {}) }));
  const p = startProcess(name, ctx.dir, haproxy, ["-db", "-f", file]);
  await waitForHttp(p, `http://127.0.0.1:${port}/`);
  return make("haproxy", workers, port, p, [p.stdoutFile]);
}

// ── direct ───────────────────────────────────────────────────────────────────────────────────────────

function direct(ctx: TargetContext): Target {
  return {
    id: "direct",
    kind: "direct",
    workers: 1,
    // L4 relays go to the cluster upstream; HTTP loads mostly to a bridge.
    url: `http://${ctx.protocol === "tcp" ? ctx.upstream.cluster : ctx.upstream.bridge}`,
    rootPid: () => ctx.upstream.process.child.pid,
    logFiles: [],
    stop: async () => {},
  };
}

// ── entry ────────────────────────────────────────────────────────────────────────────────────────────

/** Why a peer cannot run on this machine, or undefined when it can. */
export function unavailable(kind: TargetKind): string | undefined {
  if (kind === "nginx" && !findProgram("nginx")) return "nginx not installed (run bench/setup.sh)";
  if (kind === "haproxy" && !findProgram("haproxy")) return "haproxy not installed (run bench/setup.sh)";
  return undefined;
}

export async function startTarget(kind: TargetKind, workers: number, ctx: TargetContext): Promise<Target | Skip> {
  const why = unavailable(kind);
  if (why) return { skip: why };
  if (ctx.protocol === "tcp") {
    if (kind === "http-proxy") return { skip: "http-proxy is an HTTP proxy (no L4 mode)" };
    if (kind === "nginx" && !existsSync(NGINX_STREAM_MODULE)) return { skip: "nginx stream module not installed (run bench/setup.sh: libnginx-mod-stream)" };
  }
  try {
    switch (kind) {
      case "direct":
        return direct(ctx);
      case "carrier2":
        return await startCarrier2(workers, ctx);
      case "http-proxy":
        return await startHttpProxy(workers, ctx);
      case "nginx":
        return await startNginx(workers, ctx, findProgram("nginx")!);
      case "haproxy":
        return await startHaproxy(workers, ctx, findProgram("haproxy")!);
    }
  } catch (err) {
    return { skip: `failed to start: ${(err as Error).message}` };
  }
}

/** Does the target route like Carrier2? (first and last bridge → bridge upstream, others → cluster) */
export async function checkRouting(target: Target, routing: Routing, protocol: "http" | "tcp" = "http"): Promise<string | undefined> {
  if (target.kind === "direct") return undefined;
  if (protocol === "tcp") routing = { ...routing, bridges: [] }; // an L4 relay sends everything to the cluster
  const probes: [string | undefined, string][] = [[undefined, UPSTREAM_BODY.cluster], ["nobody-at-all", UPSTREAM_BODY.cluster]];
  if (routing.bridges.length) {
    probes.push([routing.bridges[0], UPSTREAM_BODY.bridge], [routing.bridges.at(-1), UPSTREAM_BODY.bridge]);
  }
  for (const [value, want] of probes) {
    try {
      const res = await fetch(`${target.url}/`, { headers: value ? { [ROUTE_HEADER]: value } : {}, signal: AbortSignal.timeout(5_000) });
      const body = await res.text();
      if (res.status !== 200 || body !== want) {
        return `routing check failed: ${ROUTE_HEADER}: ${value ?? "(none)"} → ${res.status} ${JSON.stringify(body.slice(0, 80))}, want ${JSON.stringify(want)}`;
      }
    } catch (err) {
      return `routing check failed: ${(err as Error).message}`;
    }
  }
  return undefined;
}

/** Empty the target's access logs (keeps disk use flat on long runs). */
export function truncateLogs(target: Target): void {
  for (const f of target.logFiles) truncateLog(f);
}

export function targetPids(target: Target): number[] {
  const root = target.rootPid();
  return root ? processTree(root) : [];
}
