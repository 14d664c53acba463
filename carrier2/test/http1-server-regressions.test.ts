/**
 * Regression tests for defects a review found in carrier2/src/listeners/http1.ts (each failed before its
 * fix): a client that goes away mid-body crashing the process, pipelined requests lost to a half-close or
 * to later garbage, a malformed body stalling the exchange instead of a 400, HTTP/2.0 and HTTP/0.9 request
 * lines taken for HTTP/2, a connection that stopped reading after a body whose reader was full. Real
 * Carrier2 process and raw sockets, as http1-server.test.ts; one test drives the server side directly.
 */
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import { connect, createServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Http1Handlers, type Http1Options, type Http1Request, type Http1Response, serveHttp1 } from "../src/listeners/http1.ts";
import { answers, type Carrier2, echo, freePort, headerRule, proxyPort, raw, startCarrier2, startUpstream, type Upstream } from "./helpers/harness.ts";

let cluster: Upstream;
let slow: Upstream;
let sink: Upstream;
/** Requests that reached `sink`, and how each one ended there. */
const sinkEnds: Promise<"complete" | "aborted">[] = [];
let c2: Carrier2;
let port: number;

const forwarded = () => cluster.seen.length + slow.seen.length + sink.seen.length;

beforeAll(async () => {
  cluster = await startUpstream("cluster");
  slow = await startUpstream("slow", (req, res, self) => setTimeout(() => echo(req, res, self), 150));
  // Reads the body and never answers: how its request ended tells whether Carrier2 let it go.
  sink = await startUpstream("sink", (req: IncomingMessage) => {
    sinkEnds.push(
      new Promise((resolve) => {
        req.on("end", () => resolve("complete"));
        req.on("close", () => resolve(req.complete ? "complete" : "aborted"));
        req.resume();
      }),
    );
  });
  port = await freePort();
  c2 = await startCarrier2({
    version: 1,
    proxy: [
      proxyPort(port, [cluster.address], {
        slow: { endpoint: slow.address, rules: [headerRule("slow")] },
        sink: { endpoint: sink.address, rules: [headerRule("sink")] },
      }),
    ],
  });
});

afterAll(async () => {
  await c2?.stop();
  await Promise.all([cluster, slow, sink].map((u) => u?.close()));
});

describe("HTTP/1.1 server side: regressions", () => {
  it("a client that goes away in the middle of a body nobody reads does not bring the process down", async () => {
    // A 417 drops the body unread; a pipelined request waits unread behind a slow one.
    const refused = await raw(port, "POST /teapot HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 100\r\n\r\nabc", undefined, { halfClose: true });
    expect(refused).toMatch(/^HTTP\/1\.1 417 /);
    await raw(port, "GET /a HTTP/1.1\r\nHost: a\r\nx-gefyra: slow\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc", undefined, { halfClose: true });
    const after = await raw(port, "GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    expect(answers(after)).toEqual(["200 cluster"]);
    expect(c2.child.exitCode).toBeNull();
  });

  it("a client that half-closes after pipelining its requests gets every answer, in order", async () => {
    const text = await raw(port, "GET /a HTTP/1.1\r\nHost: a\r\nx-gefyra: slow\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\nGET /c HTTP/1.1\r\nHost: a\r\n\r\n", undefined, { halfClose: true });
    expect(answers(text)).toEqual(["200 slow", "200 cluster", "200 cluster"]);
  });

  it("garbage after good pipelined requests: every good one is answered, then 400 and close", async () => {
    const text = await raw(port, "GET /a HTTP/1.1\r\nHost: a\r\nx-gefyra: slow\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\nBLAH\x01 / HTTP/1.1\r\n\r\n");
    expect(answers(text)).toEqual(["200 slow", "200 cluster"]);
    expect(text.indexOf("HTTP/1.1 400 ")).toBeGreaterThan(text.lastIndexOf("HTTP/1.1 200 "));
  });

  it("a malformed chunk in a body being forwarded: 400 at once, and the upstream's request is aborted", async () => {
    const before = sinkEnds.length;
    const { client: sock, got } = connectReading(port);
    sock.write("POST /up HTTP/1.1\r\nHost: a\r\nx-gefyra: sink\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    while (sinkEnds.length === before) await new Promise((r) => setTimeout(r, 5)); // forwarding has begun
    sock.write("ZZZ\r\n\r\n");
    await once(sock, "close");
    expect(got()).toMatch(/^HTTP\/1\.1 400 [\s\S]*HPE_INVALID_CHUNK_SIZE/);
    expect(await sinkEnds[before]).toBe("aborted");
  });

  it("HTTP/2.0 and HTTP/0.9 request lines are refused (400), never served as HTTP/2", async () => {
    const before = forwarded();
    for (const version of ["2.0", "0.9"]) {
      const text = await raw(port, `GET / HTTP/${version}\r\nHost: a\r\n\r\n`, undefined, { halfClose: false });
      expect(text).toMatch(/^HTTP\/1\.1 400 [\s\S]*C2_BAD_REQUEST/);
    }
    expect(forwarded()).toBe(before);
    expect(c2.child.exitCode).toBeNull();
  });
});

/**
 * `serveHttp1` on a listener of its own, without the driver: the test is the request handler.
 * Refused input and upgrades just close the socket.
 */
async function serveDirect(request: Http1Handlers["request"], options: Partial<Http1Options> = {}): Promise<{ port: number; close(): void }> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket: Socket) => {
    serveHttp1(
      socket,
      { request, upgrade: (_req, s) => s.destroy(), clientError: (_err, s) => s.destroy() },
      { headersTimeoutMs: 10_000, keepAliveTimeoutMs: 10_000, maxHeaderSize: 16 * 1024, busy: new WeakSet(), ...options },
    );
    socket.resume();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

/** A client connection and everything it has received so far. */
function connectReading(port: number): { client: Socket; got: () => string } {
  const client = connect(port, "127.0.0.1");
  let got = "";
  client.setEncoding("latin1");
  client.on("data", (d: string) => {
    got += d;
  });
  return { client, got: () => got };
}

describe("HTTP/1.1 server side, driven directly: regressions", () => {
  it("reads the next request after a body whose reader was full when its last bytes came", async () => {
    // The driver's reader of a body is full while the upstream is slower than the client; here nothing
    // reads until the whole body is in (the same state at the last chunk, made certain).
    const requests: { req: Http1Request; res: Http1Response }[] = [];
    const server = await serveDirect((req, res) => requests.push({ req, res }));
    const { client, got } = connectReading(server.port);
    try {
      const until = async (done: () => boolean) => {
        while (!done()) await new Promise((r) => setTimeout(r, 5));
      };
      const part = 40_000;
      client.write(`POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: ${2 * part}\r\n\r\n${"x".repeat(part)}`);
      await until(() => requests.length === 1 && requests[0]!.req.readableLength === part);
      client.write("y".repeat(part)); // 80 KB buffered now: more than the body's reader holds
      const first = requests[0]!;
      await until(() => first.req.complete);
      first.req.resume();
      await once(first.req, "end");
      first.res.writeHead(200, undefined, { "content-length": 2 });
      first.res.end("ok");
      await until(() => got().includes("\r\n\r\nok"));
      client.write("GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
      await until(() => requests.length === 2);
      expect(requests[1]!.req.url).toBe("/next");
    } finally {
      client.destroy();
      server.close();
    }
  });

  it("closes a connection whose client stops sending a body after its early response (keep-alive deadline)", async () => {
    // Answers at once without reading the body, as an upstream's early 413 or 200 would.
    const server = await serveDirect(
      (req, res) => {
        req.resume();
        res.writeHead(200, undefined, { "content-length": 2 });
        res.end("ok");
      },
      { keepAliveTimeoutMs: 300 },
    );
    const { client, got } = connectReading(server.port);
    try {
      client.write(`POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n${"x".repeat(1000)}`);
      // Then nothing more: before the fix the connection stayed open (until the port's drain deadline).
      const closed = await Promise.race([
        once(client, "close").then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
      ]);
      expect(got()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
      expect(closed).toBe(true);
    } finally {
      client.destroy();
      server.close();
    }
  });

  it("answers 417 with Connection: close on a draining port", async () => {
    const server = await serveDirect(() => {}, { closing: () => true });
    try {
      const text = await raw(server.port, "GET /x HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n");
      expect(text).toMatch(/^HTTP\/1\.1 417 Expectation Failed\r\n[\s\S]*\r\nconnection: close\r\n/);
    } finally {
      server.close();
    }
  });
});
