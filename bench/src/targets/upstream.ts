/**
 * The upstream every target forwards to: nginx `return 200` when installed (cheapest), else the Node
 * fallback in its own process. Two ports: `cluster` and `bridge` (see routing.ts).
 */
import { writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BIG_BYTES, BIG_PATH, UPLOAD_PATH, UPSTREAM_BODY } from "./routing.ts";
import { findProgram, freePort, type Managed, startProcess, waitForHttp, waitForIpcReady } from "./process.ts";

export interface Upstream {
  kind: "nginx" | "node";
  cluster: string;
  bridge: string;
  process: Managed;
  notes: string;
  stop(): Promise<void>;
}

/** `user` line for nginx when started as root (workers would otherwise switch to `nobody`). */
export function nginxUserLine(): string {
  return process.getuid?.() === 0 ? `user ${userInfo().username};` : "";
}

/** The nginx `-p/-e` arguments and temp paths, so nothing outside `dir` is touched. */
export function nginxCommon(dir: string, name: string): { args: (conf: string) => string[]; temps: string } {
  const prefix = join(dir, `${name}-prefix`);
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((t) => `${t}_temp_path ${join(dir, `${name}-${t}-temp`)};`)
    .join("\n  ");
  return { args: (conf) => ["-p", `${prefix}/`, "-e", join(dir, `${name}-error.log`), "-c", conf], temps };
}

async function startNginxUpstream(dir: string, nginx: string): Promise<Upstream> {
  const [clusterPort, bridgePort] = [await freePort(), await freePort()];
  const bigFile = join(dir, "1mb.bin");
  writeFileSync(bigFile, Buffer.alloc(BIG_BYTES, "b"));
  const common = nginxCommon(dir, "upstream");
  // `return 200` answers before the request body is read; /upload first reads the whole body
  // (buffered in memory, then passed to an internal location that answers).
  const server = (name: keyof typeof UPSTREAM_BODY, port: number) => `
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = ${BIG_PATH} { alias ${bigFile}; }
    location = ${UPLOAD_PATH} { proxy_pass http://127.0.0.1:${port}/drained; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location / { add_header x-served-by ${name}; return 200 ${JSON.stringify(UPSTREAM_BODY[name])}; }
  }`;
  const conf = `${nginxUserLine()}
worker_processes 1;
daemon off;
pid ${join(dir, "upstream-nginx.pid")};
error_log ${join(dir, "upstream-error.log")} warn;
events { worker_connections 16384; }
http {
  default_type text/plain;
  access_log off;
  keepalive_timeout 75s;
  keepalive_requests 10000000;
  client_max_body_size 0;
  client_body_buffer_size 2m;
  ${common.temps}
${server("cluster", clusterPort)}
${server("bridge", bridgePort)}
}
`;
  const file = join(dir, "upstream-nginx.conf");
  writeFileSync(file, conf);
  const p = startProcess("upstream-nginx", dir, nginx, common.args(file));
  await waitForHttp(p, `http://127.0.0.1:${bridgePort}/`);
  await waitForHttp(p, `http://127.0.0.1:${clusterPort}/`);
  return upstreamOf("nginx", clusterPort, bridgePort, p, "nginx, 1 worker, `return 200` (7-8 byte body); /1mb served from a file; /upload reads the body first");
}

function upstreamOf(kind: Upstream["kind"], clusterPort: number, bridgePort: number, p: Managed, notes: string): Upstream {
  return { kind, cluster: `127.0.0.1:${clusterPort}`, bridge: `127.0.0.1:${bridgePort}`, process: p, notes, stop: () => p.stop("SIGTERM") };
}

export async function startNodeUpstream(dir: string): Promise<Upstream> {
  const [clusterPort, bridgePort] = [await freePort(), await freePort()];
  const script = fileURLToPath(new URL("../servers/node-upstream.ts", import.meta.url));
  const p = startProcess("upstream-node", dir, process.execPath, [script, String(clusterPort), String(bridgePort)], { stdio: ["ignore", "pipe", "pipe", "ipc"] });
  await waitForIpcReady(p);
  return upstreamOf("node", clusterPort, bridgePort, p, "minimal Node http server, 1 process (nginx not installed or --upstream node)");
}

/** nginx when asked for (or `auto` and installed); falls back to Node with a notice. */
export async function startUpstream(dir: string, want: "auto" | "nginx" | "node", notices: string[]): Promise<Upstream> {
  if (want !== "node") {
    const nginx = findProgram("nginx");
    if (nginx) {
      try {
        return await startNginxUpstream(dir, nginx);
      } catch (err) {
        notices.push(`upstream: nginx failed to start (${(err as Error).message}); using the Node upstream`);
      }
    } else if (want === "nginx") {
      notices.push("upstream: nginx not installed (run bench/setup.sh); using the Node upstream");
    }
  }
  return startNodeUpstream(dir);
}
