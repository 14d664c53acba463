/**
 * The HTTP/1.1 upstream client (carrier2/src/upstream/h1.ts) against real sockets: upstreams that are
 * raw TCP servers scripted byte by byte, so every framing case and every misbehaviour can be produced.
 * Through the proxy, the same client is exercised by data-plane, websocket, tls and drain tests.
 */
import { once } from "node:events";
import { createServer } from "node:net";
import { PassThrough } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { DispatchController } from "../src/upstream/h1.ts";
import { codeOf, listen, ok, poolFor, send, upstream, useCleanups } from "./helpers/scripted-upstream.ts";

useCleanups();

describe("HTTP/1.1 upstream client", () => {
  it("keeps connections alive: sequential exchanges share one connection", async () => {
    const u = await upstream((s, _h, i) => s.write(ok(`r${i}`)));
    const pool = poolFor(u.port);
    for (let i = 0; i < 5; i++) expect((await send(pool)).body).toBe(`r${i}`);
    expect(u.connections).toBe(1);
  });

  it("sends a request again on a new connection when a kept-alive one turns out closed (GET), not a POST", async () => {
    const u = await upstream((s, _h, i) => {
      if (i === 1 || i === 3) s.destroy(); // the keep-alive race: closed as the request arrived
      else s.write(ok(`r${i}`));
    });
    const pool = poolFor(u.port);
    expect((await send(pool)).body).toBe("r0");
    const retried = await send(pool);
    expect(retried.body).toBe("r2");
    expect(u.connections).toBe(2);
    const post = await send(pool, { method: "POST" });
    expect(codeOf(post.error)).toBe("C2_UPSTREAM_RESET");
    expect(u.requests).toHaveLength(4); // sent once, never replayed
  });

  it("never reuses a connection that sent more than the response (desync), in the same read or later", async () => {
    const extraInline = await upstream((s, _h, i) => s.write(i === 0 ? `${ok("ok")}HTTP/1.1 204 No Content\r\n\r\n` : ok("mine")));
    const inline = poolFor(extraInline.port);
    expect((await send(inline)).body).toBe("ok");
    expect((await send(inline)).body).toBe("mine");
    expect(extraInline.connections).toBe(2);

    const garbage = await upstream((s, _h, i) => s.write(i === 0 ? `${ok("ok")}evil` : ok("mine")));
    const g = poolFor(garbage.port);
    expect((await send(g)).body).toBe("ok");
    expect((await send(g)).body).toBe("mine");
    expect(garbage.connections).toBe(2);

    const extraLater = await upstream((s, _h, i) => {
      s.write(ok(i === 0 ? "ok" : "mine"));
      if (i === 0) setTimeout(() => s.write(ok("evil")), 20);
    });
    const later = poolFor(extraLater.port);
    expect((await send(later)).body).toBe("ok");
    await sleep(80);
    expect((await send(later)).body).toBe("mine");
    expect(extraLater.connections).toBe(2);
  });

  it("refuses an ambiguous response (Content-Length with Transfer-Encoding) as a protocol error", async () => {
    const u = await upstream((s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
    const r = await send(poolFor(u.port));
    expect(codeOf(r.error)).toBe("C2_UPSTREAM_PROTOCOL");
    expect(r.status).toBeUndefined();
  });

  it("refuses a 101 nobody asked for", async () => {
    const u = await upstream((s) => s.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"));
    expect(codeOf((await send(poolFor(u.port))).error)).toBe("C2_UPSTREAM_PROTOCOL");
  });

  it("reads a body delimited by the end of the connection, and does not reuse it", async () => {
    const u = await upstream((s) => s.end("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end"));
    const pool = poolFor(u.port);
    expect((await send(pool)).body).toBe("until the end");
    expect((await send(pool)).body).toBe("until the end");
    expect(u.connections).toBe(2);
  });

  it("decodes chunked bodies and passes trailers", async () => {
    const u = await upstream((s) => s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nGrpc-Status: 0\r\n\r\n"));
    const r = await send(poolFor(u.port));
    expect(r.body).toBe("hello world");
    expect(r.trailers).toEqual({ "grpc-status": "0" });
  });

  it("reads no body after HEAD whatever Content-Length says, and keeps the connection", async () => {
    const u = await upstream((s, h) => s.write(h.startsWith("HEAD") ? "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" : ok("after")));
    const pool = poolFor(u.port);
    const head = await send(pool, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers?.["content-length"]).toBe("100");
    expect((await send(pool)).body).toBe("after");
    expect(u.connections).toBe(1);
  });

  it("reports informational responses (100, 103) and then the final one", async () => {
    const u = await upstream((s) => s.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n${ok("final")}`));
    const r = await send(poolFor(u.port));
    expect(r.informational).toEqual([100, 103]);
    expect(r.status).toBe(200);
    expect(r.body).toBe("final");
  });

  it("reports repeated response fields as arrays, names in lower case", async () => {
    const u = await upstream((s) => s.write(ok("x", "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-One: v\r\n")));
    const r = await send(poolFor(u.port));
    expect(r.headers?.["set-cookie"]).toEqual(["a=1", "b=2"]);
    expect(r.headers?.["x-one"]).toBe("v");
  });

  it("fails with C2_UPSTREAM_RESET when the upstream breaks off mid-body", async () => {
    const u = await upstream((s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"));
    const r = await send(poolFor(u.port));
    expect(r.status).toBe(200);
    expect(codeOf(r.error)).toBe("C2_UPSTREAM_RESET");
  });

  it("times out waiting for the head, and between body bytes, but not while the client holds it paused", async () => {
    const silent = await upstream(() => {});
    const r = await send(poolFor(silent.port, { headersTimeout: 200 }));
    expect(codeOf(r.error)).toBe("C2_UPSTREAM_TIMEOUT");

    const stalls = await upstream((s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
    expect(codeOf((await send(poolFor(stalls.port, { bodyTimeout: 200 }))).error)).toBe("C2_UPSTREAM_BODY_TIMEOUT");

    const slowClient = await upstream((s) => {
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc");
      setTimeout(() => s.write("def"), 500);
    });
    let controller: DispatchController | undefined;
    const paused = send(poolFor(slowClient.port, { bodyTimeout: 200 }), {}, {
      onResponseStart: (c) => {
        controller = c;
        c.pause();
      },
    });
    await sleep(450);
    controller!.resume();
    const done = await paused;
    expect(done.error).toBeUndefined();
    expect(done.body).toBe("abcdef");
  });

  it("frames a body of unknown length as chunked and one with Content-Length as is", async () => {
    // Its own upstream: the scripted one reads heads only, and a chunked body ends with an empty line too.
    const heads: string[] = [];
    const bodies: string[] = [];
    const server = createServer((s) => {
      let got = "";
      s.setEncoding("latin1");
      s.on("data", (d: string) => {
        got += d;
        const end = got.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = got.slice(0, end + 4);
        const body = got.slice(end + 4);
        const length = /content-length: (\d+)/i.exec(head);
        if (length ? body.length < Number(length[1]) : !body.endsWith("0\r\n\r\n")) return;
        heads.push(head);
        bodies.push(body);
        got = "";
        s.write(ok("thanks"));
      });
    });
    const pool = poolFor(await listen(server));
    const chunked = new PassThrough();
    const sent = send(pool, { method: "POST", body: chunked });
    chunked.write("abc");
    chunked.end("defgh");
    expect((await sent).body).toBe("thanks");
    expect(heads[0]).toMatch(/transfer-encoding: chunked\r\n/i);
    expect(bodies[0]).toBe("3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n");

    const sized = new PassThrough();
    const sent2 = send(pool, { method: "PUT", headers: ["host", "upstream", "content-length", "4"], body: sized });
    sized.end("wxyz");
    expect((await sent2).body).toBe("thanks");
    expect(bodies[1]).toBe("wxyz");
    expect(heads[1]).not.toMatch(/transfer-encoding/i);
  });

  it("stops sending and drops the connection when the upstream answers before the body ends", async () => {
    const u = await upstream((s, _h, i) => s.write(i === 0 ? ok("too large", "Connection: keep-alive\r\n") : ok("next")));
    const pool = poolFor(u.port);
    const body = new PassThrough();
    const sent = send(pool, { method: "POST", headers: ["host", "upstream", "content-length", "1000000"], body });
    body.write("x".repeat(1000));
    expect((await sent).body).toBe("too large");
    await sleep(20);
    expect(body.destroyed).toBe(true);
    expect((await send(pool)).body).toBe("next");
    expect(u.connections).toBe(2);
  });

  it("refuses a field value that could split the request, sending nothing", async () => {
    const u = await upstream((s) => s.write(ok("x")));
    const r = await send(poolFor(u.port), { headers: ["host", "upstream", "x-evil", "a\r\nx-injected: 1"] });
    expect(codeOf(r.error)).toBe("C2_BAD_REQUEST");
    await sleep(20);
    expect(u.requests).toHaveLength(0);
  });

  it("closes connections that stay unused past the keep-alive time", async () => {
    let closed = 0;
    const u = await upstream((s) => {
      s.once("close", () => closed++);
      s.write(ok("x"));
    });
    await send(poolFor(u.port, { keepAliveTimeout: 150 }));
    await sleep(400);
    expect(closed).toBe(1);
  });

  it("hands the socket over on 101, with the bytes that came right after the head", async () => {
    const u = await upstream((s) => s.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nfirst-frame"));
    const r = await send(poolFor(u.port), { upgrade: "websocket" });
    expect(u.requests[0]).toMatch(/connection: upgrade\r\nupgrade: websocket\r\n/i);
    expect(r.status).toBe(101);
    const socket = r.upgraded!;
    const data = once(socket, "data");
    socket.resume(); // handed over paused, as a tunnel's pipe() expects
    const [first] = (await data) as [Buffer];
    expect(first.toString()).toBe("first-frame");
    socket.destroy();
  });

  it("reports a refused connection as the socket error (classified by the driver)", async () => {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    await new Promise<void>((r) => server.close(() => r()));
    expect(codeOf((await send(poolFor(port))).error)).toBe("ECONNREFUSED");
  });
});
