/**
 * Carrier2's own HTTP/1.1 server side (`listeners/http1.ts`), on the wire: pipelining, HTTP/1.0
 * framing, requests it must refuse without forwarding, many-field heads, header case. Real Carrier2
 * process, real upstreams, raw sockets (a client library would hide the bytes these tests are about).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answers, type Carrier2, echo, freePort, headerRule, proxyPort, raw, startCarrier2, startUpstream, type Upstream } from "./helpers/harness.ts";

let cluster: Upstream;
let slow: Upstream;
let fast: Upstream;
let chunky: Upstream;
let sized: Upstream;
let c2: Carrier2;
let port: number;

/** Until `n` echo bodies (JSON, see `echo`) have arrived whole. */
const echoes = (n: number) => (got: string) => (got.match(/"bodySha256":"[0-9a-f]{64}"\}/g) ?? []).length >= n;

beforeAll(async () => {
  cluster = await startUpstream("cluster");
  slow = await startUpstream("slow", (req, res, self) => setTimeout(() => echo(req, res, self), 150));
  fast = await startUpstream("fast");
  chunky = await startUpstream("chunky", (_req, res, self) => {
    // No Content-Length: chunked toward an HTTP/1.1 proxy.
    res.writeHead(200, { "X-Served-By": self.name, "X-Mixed-Case": "kept" });
    res.write("part one, ");
    res.end("part two");
  });
  sized = await startUpstream("sized", (req, res, self) => {
    const body = `sized ${req.url}`;
    res.writeHead(200, { "x-served-by": self.name, "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  port = await freePort();
  c2 = await startCarrier2({
    version: 1,
    proxy: [
      proxyPort(port, [cluster.address], {
        slow: { endpoint: slow.address, rules: [headerRule("slow")] },
        fast: { endpoint: fast.address, rules: [headerRule("fast")] },
        chunky: { endpoint: chunky.address, rules: [headerRule("chunky")] },
        sized: { endpoint: sized.address, rules: [headerRule("sized")] },
      }),
    ],
  });
});

afterAll(async () => {
  await c2?.stop();
  await Promise.all([cluster, slow, fast, chunky, sized].map((u) => u?.close()));
});

describe("HTTP/1.1 server side", () => {
  it("answers pipelined requests in order, each routed on its own, though the first is the slowest", async () => {
    const req = (who: string) => `GET /p-${who} HTTP/1.1\r\nHost: a\r\nx-gefyra: ${who}\r\n\r\n`;
    const text = await raw(port, req("slow") + req("fast") + req("nobody") + req("fast"), echoes(4));
    expect(answers(text)).toEqual(["200 slow", "200 fast", "200 cluster", "200 fast"]);
  });

  it("frames a length-less response by closing for an HTTP/1.0 client, by chunks for HTTP/1.1", async () => {
    const old = await raw(port, "GET /c HTTP/1.0\r\nx-gefyra: chunky\r\n\r\n");
    expect(old).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(old).not.toMatch(/transfer-encoding/i);
    expect(old).toMatch(/\r\nconnection: close\r\n/i);
    expect(old.endsWith("\r\n\r\npart one, part two")).toBe(true);
    const now = await raw(port, "GET /c HTTP/1.1\r\nHost: a\r\nx-gefyra: chunky\r\nConnection: close\r\n\r\n");
    expect(now).toMatch(/\r\ntransfer-encoding: chunked\r\n/i);
    const chunks = now.slice(now.indexOf("\r\n\r\n") + 4);
    expect(chunks.endsWith("\r\n0\r\n\r\n")).toBe(true);
    expect(chunks.replace(/(?:^|\r\n)[0-9a-f]+\r\n/g, "")).toBe("part one, part two\r\n");
  });

  it("keeps an HTTP/1.0 keep-alive connection when the response has a length", async () => {
    const text = await raw(
      port,
      "GET /k1 HTTP/1.0\r\nConnection: keep-alive\r\nx-gefyra: sized\r\n\r\nGET /k2 HTTP/1.0\r\nConnection: keep-alive\r\nx-gefyra: sized\r\n\r\n",
      (got) => got.endsWith("sized /k2"),
    );
    expect(answers(text)).toEqual(["200 sized", "200 sized"]);
    expect(text.match(/\r\nconnection: keep-alive\r\n/gi)).toHaveLength(2);
  });

  it("passes the upstream's header names in their case", async () => {
    const text = await raw(port, "GET /case HTTP/1.1\r\nHost: a\r\nx-gefyra: chunky\r\nConnection: close\r\n\r\n");
    expect(text).toContain("\r\nX-Served-By: chunky\r\n");
    expect(text).toContain("\r\nX-Mixed-Case: kept\r\n");
  });

  it("forwards a head with more fields than llhttp hands over at once, and a long target", async () => {
    const many = Array.from({ length: 60 }, (_, i) => `x-field-${i}: value-${i}\r\n`).join("");
    const path = `/long/${"p".repeat(6000)}`;
    const text = await raw(port, `GET ${path} HTTP/1.1\r\nHost: a\r\n${many}x-gefyra: fast\r\nConnection: close\r\n\r\n`);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    const seen = fast.seen.at(-1)!;
    expect(seen.url).toBe(path);
    expect(seen.headers["x-field-0"]).toBe("value-0");
    expect(seen.headers["x-field-59"]).toBe("value-59");
  });
});

describe("refused without being forwarded", () => {
  const forwarded = () => cluster.seen.length + slow.seen.length + fast.seen.length + chunky.seen.length;

  it("an HTTP/1.1 request without Host: 400 (HTTP/1.0 needs none)", async () => {
    const before = forwarded();
    expect(await raw(port, "GET /nohost HTTP/1.1\r\nx-gefyra: fast\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 [\s\S]*C2_BAD_REQUEST/);
    expect(forwarded()).toBe(before);
    expect(await raw(port, "GET /nohost HTTP/1.0\r\nx-gefyra: fast\r\n\r\n")).toMatch(/^HTTP\/1\.1 200 /);
  });

  it("an expectation other than 100-continue: 417, and the connection goes on", async () => {
    const before = forwarded();
    const text = await raw(
      port,
      "POST /expect HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 3\r\n\r\nabcGET /after HTTP/1.1\r\nHost: a\r\nx-gefyra: fast\r\n\r\n",
      echoes(1),
    );
    expect(text).toMatch(/^HTTP\/1\.1 417 Expectation Failed\r\n/);
    expect(answers(text)).toEqual(["200 fast"]);
    expect(forwarded()).toBe(before + 1);
  });

  it("CONNECT: 400", async () => {
    const before = forwarded();
    expect(await raw(port, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 [\s\S]*C2_BAD_REQUEST/);
    expect(forwarded()).toBe(before);
  });

  it("a request head over 16 KB: 431", async () => {
    const before = forwarded();
    const text = await raw(port, `GET / HTTP/1.1\r\nHost: a\r\nx-big: ${"b".repeat(17 * 1024)}\r\n\r\n`);
    expect(text).toMatch(/^HTTP\/1\.1 431 /);
    expect(forwarded()).toBe(before);
  });

  it("garbage after a good pipelined request: the good one is answered, then 400 and close", async () => {
    const text = await raw(port, "GET /ok HTTP/1.1\r\nHost: a\r\nx-gefyra: slow\r\n\r\nBLAH\x01 / HTTP/1.1\r\n\r\n");
    expect(answers(text)).toEqual(["200 slow"]);
    expect(text.indexOf("HTTP/1.1 400 ")).toBeGreaterThan(text.indexOf("HTTP/1.1 200 "));
  });
});

describe("deadlines", () => {
  it("a head that began while another request was served gets the header deadline (408), not the keep-alive one", async () => {
    const p = await freePort();
    const strict = await startCarrier2({
      version: 1,
      timeouts: { clientHeadersMs: 800 },
      proxy: [proxyPort(p, [cluster.address], { slow: { endpoint: slow.address, rules: [headerRule("slow")] } })],
    });
    try {
      // Without its deadline the partial head would hold the connection for the 75 s keep-alive time.
      const text = await raw(p, "GET /first HTTP/1.1\r\nHost: a\r\nx-gefyra: slow\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n");
      expect(answers(text)).toEqual(["200 slow"]);
      expect(text.indexOf("HTTP/1.1 408 ")).toBeGreaterThan(text.indexOf("HTTP/1.1 200 "));
    } finally {
      await strict.stop();
    }
  });
});
