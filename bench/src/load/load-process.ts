/**
 * The load process: runs autocannon on request of the bench runner (IPC), apart from the proxy and the
 * upstream so that neither shares an event loop with the client. Latency is recorded per response with
 * microsecond resolution (autocannon's own histogram has 1 ms steps, too coarse for proxy overhead).
 * Fixed-rate runs (`overallRate`) are paced by `paced.ts` instead: autocannon's rate limit sends bursts.
 */
import { cpuUsage } from "node:process";
import autocannon from "autocannon";
import { WebSocket } from "ws";
import type { LatencyMs, LoadCounts, LoadResult, LoadSpec, RequestSpec } from "../model.ts";
import { runPaced } from "./paced.ts";

export interface RunMessage {
  id: number;
  spec: LoadSpec;
}

export type ReplyMessage = { id: number; result: LoadResult } | { id: number; error: string };

const bodies = new Map<number, Buffer>();

function bodyOf(bytes: number): Buffer {
  let b = bodies.get(bytes);
  if (!b) {
    b = Buffer.alloc(bytes, "x");
    bodies.set(bytes, b);
  }
  return b;
}

function toRequest(r: RequestSpec): autocannon.Request {
  const req: autocannon.Request = { method: r.method, path: r.path, headers: { ...r.headers } };
  if (r.bodyBytes) {
    req.body = bodyOf(r.bodyBytes);
    // autocannon adds Content-Length itself (a second one would be a 400).
    req.headers = { ...r.headers, "content-type": "application/octet-stream" };
  }
  return req;
}

/** Growable store of latencies in milliseconds. */
class Samples {
  #data = new Float64Array(1 << 16);
  #n = 0;

  push(v: number): void {
    if (this.#n === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#n++] = v;
  }

  summary(): LatencyMs {
    const n = this.#n;
    if (n === 0) return { p50: 0, p90: 0, p99: 0, p99_9: 0, max: 0, mean: 0 };
    const sorted = this.#data.slice(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i]!;
    const at = (q: number) => round3(sorted[Math.min(n - 1, Math.ceil(q * n) - 1)]!);
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p99_9: at(0.999), max: round3(sorted[n - 1]!), mean: round3(sum / n) };
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function run(spec: LoadSpec, measured: boolean): Promise<{ result: autocannon.Result; samples: Samples }> {
  const samples = new Samples();
  const opts: autocannon.Options = {
    url: spec.url,
    connections: spec.connections,
    pipelining: 1,
    timeout: spec.timeoutS,
    duration: measured ? spec.durationS : spec.warmupS,
    requests: spec.requests.map(toRequest),
    // autocannon only stops on a sampling tick (default every 1 s): sample often so runs end on time.
    sampleInt: 100,
  } as autocannon.Options;
  if (measured && spec.amount) opts.amount = spec.amount;
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (err, result) => (err ? reject(err) : resolve({ result, samples })));
    if (measured) instance.on("response", (_client, _status, _bytes, responseTime) => samples.push(responseTime));
  });
}

interface WsOutcome {
  messages: number;
  errors: number;
  /** Handshakes answered with something other than 101. */
  refused: number;
  statusCodes: Record<string, number>;
  durationS: number;
  bytes: number;
}

/** Ping-pong over `connections` WebSockets for `durationS`: send, await the echo, send again. */
async function runWebSocket(spec: LoadSpec, durationS: number, samples: Samples | undefined): Promise<WsOutcome> {
  const first = spec.requests[0]!;
  const url = `${spec.url.replace(/^http/, "ws")}${first.path}`;
  const payload = Buffer.alloc(spec.websocket!.messageBytes, "m");
  const out: WsOutcome = { messages: 0, errors: 0, refused: 0, statusCodes: {}, durationS: 0, bytes: 0 };
  let stopping = false;
  const open = () =>
    new Promise<WebSocket | undefined>((resolve) => {
      const ws = new WebSocket(url, { headers: first.headers, perMessageDeflate: false, handshakeTimeout: spec.timeoutS * 1000 });
      ws.once("open", () => resolve(ws));
      ws.once("unexpected-response", (_req, res) => {
        out.refused++;
        out.statusCodes[res.statusCode ?? 0] = (out.statusCodes[res.statusCode ?? 0] ?? 0) + 1;
        res.resume();
        ws.terminate();
        resolve(undefined);
      });
      ws.once("error", () => {
        out.errors++;
        resolve(undefined);
      });
    });
  const sockets = (await Promise.all(Array.from({ length: spec.connections }, open))).filter((w): w is WebSocket => w !== undefined);
  const t0 = performance.now();
  for (const ws of sockets) {
    let sentAt = 0;
    ws.on("message", (data: Buffer) => {
      out.messages++;
      out.bytes += data.length;
      samples?.push(performance.now() - sentAt);
      if (stopping) return;
      sentAt = performance.now();
      ws.send(payload);
    });
    ws.on("error", () => out.errors++);
    sentAt = performance.now();
    ws.send(payload);
  }
  await new Promise((r) => setTimeout(r, durationS * 1000));
  stopping = true;
  out.durationS = (performance.now() - t0) / 1000;
  for (const ws of sockets) ws.terminate();
  out.statusCodes["101"] = sockets.length;
  return out;
}

function loadResult(c: LoadCounts, samples: Samples, cpu: NodeJS.CpuUsage): LoadResult {
  return {
    durationS: round3(c.durationS),
    requests: c.requests,
    rps: Math.round((c.requests / c.durationS) * 10) / 10,
    latencyMs: samples.summary(),
    errors: c.errors,
    timeouts: c.timeouts,
    non2xx: c.non2xx,
    statusCodes: c.statusCodes,
    bytesRead: c.bytesRead,
    bytesSent: c.bytesSent,
    mbPerSecRead: round3(c.bytesRead / c.durationS / 1e6),
    mbPerSecSent: round3(c.bytesSent / c.durationS / 1e6),
    loadGenCpuPct: Math.round(((cpu.user + cpu.system) / 1e6 / c.durationS) * 1000) / 10,
  };
}

async function measureWebSocket(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmupS > 0) await runWebSocket(spec, spec.warmupS, undefined);
  const samples = new Samples();
  const cpu0 = cpuUsage();
  const w = await runWebSocket(spec, spec.durationS, samples);
  const counted = { ...w, requests: w.messages, timeouts: 0, non2xx: w.refused, bytesRead: w.bytes, bytesSent: w.bytes };
  return loadResult(counted, samples, cpuUsage(cpu0));
}

async function measurePaced(spec: LoadSpec, rate: number): Promise<LoadResult> {
  if (spec.warmupS > 0) await runPaced(spec, rate, spec.warmupS, bodyOf, undefined);
  const samples = new Samples();
  const cpu0 = cpuUsage();
  const p = await runPaced(spec, rate, spec.durationS, bodyOf, (ms) => samples.push(ms));
  return loadResult(p, samples, cpuUsage(cpu0));
}

async function measure(spec: LoadSpec): Promise<LoadResult> {
  if (spec.websocket) return measureWebSocket(spec);
  if (spec.overallRate) return measurePaced(spec, spec.overallRate);
  if (spec.warmupS > 0) await run(spec, false);
  const cpu0 = cpuUsage();
  const t0 = performance.now();
  const { result, samples } = await run(spec, true);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = cpuUsage(cpu0);
  const durationS = result.duration > 0 ? result.duration : wallS;
  const requests = result.requests.total;
  const uploads = spec.requests.filter((r) => r.bodyBytes).length;
  const avgBody = uploads ? spec.requests.reduce((s, r) => s + (r.bodyBytes ?? 0), 0) / spec.requests.length : 0;
  const bytesSent = Math.round(requests * avgBody);
  const statusCodes: Record<string, number> = {};
  const stats = (result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {};
  for (const [code, v] of Object.entries(stats)) statusCodes[code] = v.count;
  return {
    durationS: round3(durationS),
    requests,
    rps: Math.round((requests / durationS) * 10) / 10,
    latencyMs: samples.summary(),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
    bytesRead: result.throughput.total,
    bytesSent,
    mbPerSecRead: round3(result.throughput.total / durationS / 1e6),
    mbPerSecSent: round3(bytesSent / durationS / 1e6),
    loadGenCpuPct: Math.round(((cpu.user + cpu.system) / 1e6 / wallS) * 1000) / 10,
  };
}

process.on("message", (msg: RunMessage) => {
  measure(msg.spec).then(
    (result) => process.send?.({ id: msg.id, result } satisfies ReplyMessage),
    (err: unknown) => process.send?.({ id: msg.id, error: (err as Error).stack ?? String(err) } satisfies ReplyMessage),
  );
});
process.on("disconnect", () => process.exit(0));
