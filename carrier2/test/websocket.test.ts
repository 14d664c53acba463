/** WebSocket (HTTP/1.1 Upgrade) through Carrier2: routed per handshake, then tunnelled both ways. */
import type { IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { type Carrier2, freePort, headerRule, proxyPort, startCarrier2, startUpstream, type Upstream } from "./helpers/harness.ts";

let cluster: Upstream;
let alice: Upstream;
let c2: Carrier2;
let base: string;
const deadPort = await freePort();

async function wsUpstream(name: string): Promise<Upstream> {
  const up = await startUpstream(name);
  const wss = new WebSocketServer({ noServer: true });
  up.server.on("upgrade", (req: IncomingMessage, socket, head) => {
    if (req.url === "/forbidden") {
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 9\r\nconnection: close\r\n\r\nforbidden");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(`hello from ${name}; x-forwarded-for=${req.headers["x-forwarded-for"]}`);
      ws.on("message", (data, isBinary) => ws.send(isBinary ? data : `${name}:${data.toString()}`, { binary: isBinary }));
    });
  });
  return up;
}

beforeAll(async () => {
  cluster = await wsUpstream("cluster");
  alice = await wsUpstream("alice");
  const port = await freePort();
  base = `ws://127.0.0.1:${port}`;
  c2 = await startCarrier2({
    version: 1,
    proxy: [
      proxyPort(port, [cluster.address], {
        alice: { endpoint: alice.address, rules: [headerRule("alice")] },
        offline: { endpoint: `127.0.0.1:${deadPort}`, rules: [headerRule("offline")] },
      }),
    ],
  });
});

afterAll(async () => {
  await c2?.stop();
  await cluster?.close();
  await alice?.close();
});

function open(path: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; first: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}${path}`, { headers });
    ws.once("message", (d) => resolve({ ws, first: d.toString() }));
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`status ${res.statusCode}`), { status: res.statusCode })));
  });
}

function next(ws: WebSocket): Promise<Buffer | string> {
  return new Promise((resolve) => ws.once("message", (d, isBinary) => resolve(isBinary ? (d as Buffer) : d.toString())));
}

describe("WebSocket", () => {
  it("routes each handshake by the developer's rules and echoes both ways", async () => {
    const a = await open("/chat", { "x-gefyra": "alice" });
    expect(a.first).toMatch(/^hello from alice; x-forwarded-for=127\.0\.0\.1$/);
    const c = await open("/chat");
    expect(c.first).toMatch(/^hello from cluster/);
    for (let i = 0; i < 200; i++) {
      a.ws.send(`m${i}`);
      expect(await next(a.ws)).toBe(`alice:m${i}`);
    }
    const big = Buffer.alloc(1024 * 1024, 7);
    c.ws.send(big, { binary: true });
    const back = (await next(c.ws)) as Buffer;
    expect(Buffer.compare(back, big)).toBe(0);
    a.ws.close();
    c.ws.close();
    const line = await c2.waitForLog((l) => l.msg === "request" && l.route === "alice" && l.status === 101);
    expect(line.path).toBe("/chat");
  });

  it("relays an upstream's refusal of the upgrade", async () => {
    await expect(open("/forbidden", { "x-gefyra": "alice" })).rejects.toMatchObject({ status: 403 });
  });

  it("gives 502 for a developer whose endpoint is down", async () => {
    await expect(open("/chat", { "x-gefyra": "offline" })).rejects.toMatchObject({ status: 502 });
    const c = await open("/chat");
    expect(c.first).toMatch(/^hello from cluster/);
    c.ws.close();
  });
});
