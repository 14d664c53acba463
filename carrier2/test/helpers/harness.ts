/**
 * Test harness: real upstream servers and real Carrier2 processes on 127.0.0.1.
 * Nothing is mocked: `startCarrier2` spawns `bin/carrier2.js -c FILE` and reads its JSON log lines.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { stringify } from "yaml";
import { type Pem, selfSignedCertificate } from "../../src/listeners/self-signed.ts";

export const BIN = fileURLToPath(new URL("../../bin/carrier2.js", import.meta.url));

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "carrier2-test-"));
}

/** A port that was free a moment ago (bind :0, read, close). */
export async function freePort(): Promise<number> {
  const s = createHttpServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface TlsFiles {
  certificate: string;
  key: string;
  pem: Pem;
}

/** A generated certificate written to a temp dir (never committed). */
export async function certFiles(name = "localhost"): Promise<TlsFiles> {
  const pem = await selfSignedCertificate(name, [name, "localhost", "127.0.0.1"]);
  const dir = await tempDir();
  const certificate = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  await writeFile(certificate, pem.cert);
  await writeFile(key, pem.key, { mode: 0o600 });
  return { certificate, key, pem };
}

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  rawHeaders: string[];
}

export interface Upstream {
  name: string;
  port: number;
  address: string;
  seen: Seen[];
  server: Server;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, self: Upstream) => void;

/** Default handler: 200 JSON echo of what arrived, with `x-served-by`. */
export const echo: Handler = (req, res, self) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const json = JSON.stringify({
      servedBy: self.name,
      method: req.method,
      url: req.url,
      headers: req.headers,
      bodyBytes: body.length,
      bodySha256: createHash("sha256").update(body).digest("hex"),
    });
    res.writeHead(200, { "content-type": "application/json", "x-served-by": self.name });
    res.end(json);
  });
};

export async function startUpstream(name: string, handler: Handler = echo, tls?: Pem): Promise<Upstream> {
  const self = { name, seen: [] as Seen[] } as unknown as Upstream;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    self.seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, rawHeaders: req.rawHeaders });
    handler(req, res, self);
  };
  const server = tls ? createHttpsServer({ ...tls }, onRequest) : createHttpServer(onRequest);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  self.server = server;
  self.port = (server.address() as AddressInfo).port;
  self.address = `127.0.0.1:${self.port}`;
  self.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return self;
}

/** Every Carrier2 a test started: killed when the test process exits, whatever the tests did. */
const spawned = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of spawned) if (child.exitCode === null) child.kill("SIGKILL");
});

export interface LogLine {
  level: string;
  msg: string;
  pid: number;
  [k: string]: unknown;
}

export interface Carrier2 {
  child: ChildProcess;
  configFile: string;
  logs: LogLine[];
  stderr: () => string;
  /** Resolves with the first log line (past or future) that satisfies `pred`. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /**
   * Resolves with the log lines that satisfy `pred` once there are `count` of them. Every worker writes
   * its access lines in batches (at least every 50 ms, src/observability/log.ts): lines for requests
   * already answered may still be on their way.
   */
  waitForLogs(pred: (l: LogLine) => boolean, count: number, timeoutMs?: number): Promise<LogLine[]>;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface StartOptions {
  args?: string[];
  env?: Record<string, string>;
  /** Wait for this log message before resolving (default "serving"; null: don't wait). */
  readyMsg?: string | null;
}

/** Spawn Carrier2 with a config (object → YAML file, or a path/text as given). */
export async function startCarrier2(config: object | string | undefined, opts: StartOptions = {}): Promise<Carrier2> {
  let configFile = "";
  const args = [BIN];
  if (config !== undefined) {
    configFile = join(await tempDir(), "carrier2.yaml");
    // Tests run one process unless they are about workers (`threads` defaults to auto: the CPU count).
    const pinned = typeof config === "string" || "threads" in config ? config : { threads: 1, ...config };
    await writeFile(configFile, typeof pinned === "string" ? pinned : stringify(pinned));
    args.push("-c", configFile);
  }
  args.push(...(opts.args ?? []));
  // Several Carrier2 processes run at once in tests: never the fixed default admin port.
  if (!args.includes("--admin")) args.push("--admin", "127.0.0.1:0");
  const child = spawn(process.execPath, args, {
    env: { ...process.env, CARRIER2_LOG_LEVEL: "debug", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  spawned.add(child);
  child.once("exit", () => spawned.delete(child));
  const logs: LogLine[] = [];
  const waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let err = "";
  let buf = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf("\n");
      if (!line.trim()) continue;
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        parsed = { level: "raw", msg: line, pid: 0 };
      }
      logs.push(parsed);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(parsed)) {
          waiters[i]!.resolve(parsed);
          waiters.splice(i, 1);
        }
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    err += d;
    if (process.env.C2_TEST_STDERR) process.stderr.write(d);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 15_000) => {
    const found = logs.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a log line; stderr: ${err}; logs: ${JSON.stringify(logs.slice(-5))}`)), timeoutMs);
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      exited.then((code) => reject(new Error(`carrier2 exited (${code}) before the log line; stderr: ${err}`)));
    });
  };
  const waitForLogs = async (pred: (l: LogLine) => boolean, count: number, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = logs.filter(pred);
      if (found.length >= count) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} log lines (${found.length} came); stderr: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const c2: Carrier2 = {
    child,
    configFile,
    logs,
    stderr: () => err,
    waitForLog,
    waitForLogs,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
  const ready = opts.readyMsg === undefined ? "serving" : opts.readyMsg;
  if (ready) await waitForLog((l) => l.msg === ready);
  return c2;
}

/** An undici agent that accepts self-signed certificates (tests only). */
export const insecureAgent = new Agent({ connect: { rejectUnauthorized: false } });

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => Record<string, unknown>;
}

/** One request; returns status, headers and the whole body as text. */
export async function get(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; dispatcher?: Agent } = {}): Promise<Reply> {
  const res = await request(url, {
    method: (opts.method ?? "GET") as "GET",
    headers: opts.headers,
    body: opts.body,
    dispatcher: opts.dispatcher ?? (url.startsWith("https") ? insecureAgent : undefined),
  });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body, json: () => JSON.parse(body) as Record<string, unknown> };
}

/** A proxy block for a config. */
export function proxyPort(port: number, cluster: string[], bridges: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return { port, clusterUpstream: cluster, bridges, ...extra };
}

export function headerRule(value: string, name = "x-gefyra") {
  return { match: [{ matchHeader: { name, value } }] };
}

/**
 * Send raw bytes on a fresh connection (then half-close it with `halfClose`); resolve with everything
 * received until the peer closes or `until` holds.
 */
export function raw(port: number, data: string, until?: RegExp | ((got: string) => boolean), { halfClose = false } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let got = "";
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => {
      got += d;
      if (until && (typeof until === "function" ? until(got) : until.test(got))) {
        sock.destroy();
        resolve(got);
      }
    });
    sock.on("end", () => resolve(got));
    sock.on("error", reject);
    if (halfClose) sock.end(data);
    else sock.write(data);
  });
}

/** `status servedBy` of each response in raw HTTP/1.1 text, in order (from the `x-served-by` field). */
export function answers(text: string): string[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3})[^\r]*\r\n(?:(?!\r\n\r\n)[\s\S])*?x-served-by: (\w+)/gi)].map((m) => `${m[1]} ${m[2]}`);
}
