/**
 * Fixed-rate load, paced as wrk2 paces it. autocannon's rate limit lets each connection send its
 * quota for a second back to back at the start of that second and then idle, so its latencies "at 5k
 * rps" are those of bursts at full speed (direct to the nginx upstream: p50 1.26 ms where one answer
 * takes ~0.1 ms; bench/README.md). Here request k of a run is due at t0 + k/R on connection k mod C;
 * its latency counts from when it was due, so a request held back by a busy connection or a late tick
 * is charged for the wait (no coordinated omission).
 */
import { connect, type Socket } from "node:net";
import { HTTPParser } from "carrier2/net/llhttp";
import type { LoadCounts, RequestSpec } from "../model.ts";


/** How often due requests are sent: Node's timer resolution. At 5k rps a tick sends ~5. */
const TICK_MS = 1;

/** The wire bytes of each request, `Host` from the URL, bodies with their length. */
function wireRequests(url: URL, requests: readonly RequestSpec[], bodyOf: (bytes: number) => Buffer): Buffer[] {
  return requests.map((r) => {
    let head = `${r.method} ${r.path} HTTP/1.1\r\nhost: ${url.host}\r\n`;
    for (const [name, value] of Object.entries(r.headers)) head += `${name}: ${value}\r\n`;
    const body = r.bodyBytes ? bodyOf(r.bodyBytes) : undefined;
    if (body) head += `content-type: application/octet-stream\r\ncontent-length: ${body.length}\r\n`;
    const headBytes = Buffer.from(`${head}\r\n`, "latin1");
    return body ? Buffer.concat([headBytes, body]) : headBytes;
  });
}

class PacedConnection {
  readonly #url: URL;
  readonly #onResponse: (dueAt: number, status: number) => void;
  readonly #onBroken: (inFlight: boolean) => void;
  #socket!: Socket;
  #status = 0;
  /** When the request in flight was due; undefined when idle. */
  #inFlight: number | undefined;
  /** Requests that fell due while one was in flight: [due time, wire bytes]. */
  readonly #queue: [number, Buffer][] = [];
  bytesRead = 0;
  closing = false;

  constructor(url: URL, onResponse: (dueAt: number, status: number) => void, onBroken: (inFlight: boolean) => void) {
    this.#url = url;
    this.#onResponse = onResponse;
    this.#onBroken = onBroken;
    this.#open();
  }

  get busy(): boolean {
    return this.#inFlight !== undefined;
  }

  #open(): void {
    const parser = new HTTPParser();
    parser.initialize(HTTPParser.RESPONSE, {}, 0, HTTPParser.kLenientNone);
    parser[HTTPParser.kOnHeadersComplete] = (_ma: number, _mi: number, _f: unknown, _m: unknown, _u: unknown, status: number) => {
      this.#status = status;
      return 0;
    };
    parser[HTTPParser.kOnMessageComplete] = () => this.#complete();
    const socket = connect({ host: this.#url.hostname, port: Number(this.#url.port), noDelay: true });
    socket.on("data", (d: Buffer) => {
      this.bytesRead += d.length;
      const ret = parser.execute(d);
      if (typeof ret !== "number") socket.destroy();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      parser.close();
      const inFlight = this.#inFlight !== undefined;
      this.#inFlight = undefined;
      if (this.closing) return;
      this.#onBroken(inFlight);
      this.#open(); // queued requests go out on the new connection
      this.#sendQueued();
    });
    this.#socket = socket;
  }

  send(dueAt: number, request: Buffer): void {
    if (this.#inFlight !== undefined) {
      this.#queue.push([dueAt, request]);
      return;
    }
    this.#inFlight = dueAt;
    this.#socket.write(request);
  }

  #complete(): void {
    const dueAt = this.#inFlight;
    if (dueAt === undefined) return;
    this.#inFlight = undefined;
    this.#onResponse(dueAt, this.#status);
    this.#sendQueued();
  }

  #sendQueued(): void {
    const next = this.#queue.shift();
    if (next) this.send(next[0], next[1]);
  }

  get outstanding(): number {
    return this.#queue.length + (this.#inFlight === undefined ? 0 : 1);
  }

  close(): void {
    this.closing = true;
    this.#socket.destroy();
  }
}

/**
 * `rate` requests per second over `connections` keep-alive connections for `durationS`; then waits
 * (up to `timeoutS`) for the answers still out. Each latency (ms from due to answered) goes to `record`.
 */
export async function runPaced(
  spec: { url: string; connections: number; requests: readonly RequestSpec[]; timeoutS: number },
  rate: number,
  durationS: number,
  bodyOf: (bytes: number) => Buffer,
  record: ((ms: number) => void) | undefined,
): Promise<LoadCounts> {
  const url = new URL(spec.url);
  const wire = wireRequests(url, spec.requests, bodyOf);
  const out: LoadCounts = { requests: 0, errors: 0, timeouts: 0, non2xx: 0, statusCodes: {}, bytesRead: 0, bytesSent: 0, durationS: 0 };
  const onResponse = (dueAt: number, status: number) => {
    out.requests++;
    out.statusCodes[status] = (out.statusCodes[status] ?? 0) + 1;
    if (status < 200 || status >= 300) out.non2xx++;
    record?.(performance.now() - dueAt);
  };
  const onBroken = (inFlight: boolean) => {
    if (inFlight) out.errors++;
  };
  const conns = Array.from({ length: spec.connections }, () => new PacedConnection(url, onResponse, onBroken));
  const perConnection = wire.length;
  const t0 = performance.now() + 20; // let the connections open
  const end = t0 + durationS * 1000;
  const gap = 1000 / rate;
  let k = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = Math.min(performance.now(), end);
      for (let due = t0 + k * gap; due <= now; due = t0 + ++k * gap) {
        const c = k % conns.length;
        const request = wire[Math.floor(k / conns.length) % perConnection]!;
        out.bytesSent += request.length;
        conns[c]!.send(due, request);
      }
      if (now >= end) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  out.durationS = (performance.now() - t0) / 1000;
  const deadline = performance.now() + spec.timeoutS * 1000;
  while (conns.some((c) => c.outstanding > 0) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  for (const c of conns) {
    out.timeouts += c.outstanding;
    out.bytesRead += c.bytesRead;
    c.close();
  }
  return out;
}
