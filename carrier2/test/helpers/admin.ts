/**
 * Admin API test helpers: a Carrier2 process with its admin API on an ephemeral loopback port, and a
 * small client for it. Real processes and sockets, like the rest of the harness.
 */
import { request as httpRequest } from "node:http";
import { Agent, request } from "undici";
import { stringify } from "yaml";
import { type Carrier2, type Reply, type StartOptions, startCarrier2 } from "./harness.ts";

export interface AdminClient {
  /** `127.0.0.1:PORT` */
  address: string;
  token: string | undefined;
  call(method: string, path: string, opts?: { body?: unknown; yaml?: string; headers?: Record<string, string>; token?: string | null }): Promise<Reply>;
  config(): Promise<{ generation: number; config: Record<string, unknown> | null; warnings: unknown[] }>;
  putConfig(config: object, ifMatch?: number | string): Promise<Reply>;
  generation(): Promise<number>;
  metrics(): Promise<string>;
}

const agent = new Agent({ connections: 4 });

export function adminClient(address: string, token: string | undefined): AdminClient {
  const client: AdminClient = {
    address,
    token,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      const tok = opts.token === undefined ? token : opts.token;
      if (tok) headers.authorization = `Bearer ${tok}`;
      let body: string | undefined;
      if (opts.yaml !== undefined) {
        body = opts.yaml;
        headers["content-type"] ??= "application/yaml";
      } else if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers["content-type"] ??= "application/json";
      }
      const res = await request(`http://${address}${path}`, { method: method as "GET", headers, body, dispatcher: agent });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, body: text, json: () => JSON.parse(text) as Record<string, unknown> };
    },
    async config() {
      const r = await client.call("GET", "/v1/config");
      if (r.status !== 200) throw new Error(`GET /v1/config: ${r.status} ${r.body}`);
      return r.json() as never;
    },
    putConfig(config, ifMatch) {
      return client.call("PUT", "/v1/config", { body: config, ...(ifMatch === undefined ? {} : { headers: { "if-match": typeof ifMatch === "number" ? `"${ifMatch}"` : ifMatch } }) });
    },
    async generation() {
      return (await client.config()).generation;
    },
    async metrics() {
      const r = await client.call("GET", "/metrics");
      if (r.status !== 200) throw new Error(`GET /metrics: ${r.status} ${r.body}`);
      return r.body;
    },
  };
  return client;
}

export interface AdminCarrier2 {
  c2: Carrier2;
  admin: AdminClient;
}

/** Start Carrier2 with `--admin 127.0.0.1:0` (plus `args`), wait for its admin address and readiness. */
export async function startWithAdmin(config: object | string | undefined, opts: StartOptions & { token?: string } = {}): Promise<AdminCarrier2> {
  const env = { ...opts.env, ...(opts.token ? { CARRIER2_ADMIN_TOKEN: opts.token } : {}) };
  const c2 = await startCarrier2(config, { ...opts, env, args: ["--admin", "127.0.0.1:0", ...(opts.args ?? [])] });
  const line = await c2.waitForLog((l) => l.msg === "admin API listening");
  return { c2, admin: adminClient(String(line.address), opts.token) };
}

/** A config object as YAML text. */
export function yaml(config: object): string {
  return stringify(config);
}

/** One request on a brand-new TCP connection (no keep-alive reuse). */
export function fresh(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, headers: { ...headers, connection: "close" }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) as Record<string, unknown> });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** The value of one sample in Prometheus text (0 when absent). `labels` as written, e.g. `port="8080",route="alice"`. */
export function sample(metrics: string, name: string, labels = ""): number {
  for (const line of metrics.split("\n")) {
    if (line.startsWith("#")) continue;
    const brace = line.indexOf("{");
    const space = line.lastIndexOf(" ");
    const metric = brace >= 0 ? line.slice(0, brace) : line.slice(0, space);
    if (metric !== name) continue;
    const labelText = brace >= 0 ? line.slice(brace + 1, line.lastIndexOf("}")) : "";
    if (labels.split(",").filter(Boolean).every((l) => labelText.split(",").includes(l))) return Number(line.slice(space + 1));
  }
  return 0;
}

/** Poll `check` until it returns true (bounded); for effects that land asynchronously (file watches). */
export async function eventually(check: () => Promise<boolean>, what: string, tries = 100, everyMs = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`never happened: ${what}`);
}
