/**
 * Ports removed by a live change drain: the response in flight finishes, but no connection stays alive
 * on the removed port's table (regression: it kept serving keep-alive requests from the old table).
 * And the admin API survives clients that reset a refused WebSocket upgrade (regression: a crash).
 */
import { connect } from "node:net";
import { Client } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWithAdmin, type AdminCarrier2 } from "./helpers/admin.ts";
import { freePort, proxyPort, startUpstream, type Upstream } from "./helpers/harness.ts";

let slow: Upstream;
let c2: AdminCarrier2;
let kept: number;
let removed: number;

beforeAll(async () => {
  slow = await startUpstream("slow", (req, res) => {
    setTimeout(() => {
      res.writeHead(200, { "x-served-by": "slow" });
      res.end(req.url);
    }, req.url === "/slow" ? 700 : 0);
  });
  kept = await freePort();
  removed = await freePort();
  c2 = await startWithAdmin({ version: 1, proxy: [proxyPort(kept, [slow.address]), proxyPort(removed, [slow.address])] });
});

afterAll(async () => {
  await c2?.c2.stop();
  await slow?.close();
});

describe("draining a removed port", () => {
  it("finishes the request in flight with Connection: close, then refuses new requests", async () => {
    const client = new Client(`http://127.0.0.1:${removed}`, { pipelining: 1 });
    const warm = await client.request({ path: "/warm", method: "GET" });
    await warm.body.text();
    expect(warm.headers.connection).toBe("keep-alive");
    const inFlight = client.request({ path: "/slow", method: "GET" });
    await new Promise((r) => setTimeout(r, 200));
    const put = await c2.admin.putConfig({ version: 1, proxy: [proxyPort(kept, [slow.address])] });
    expect(put.status).toBe(200);
    const res = await inFlight;
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe("/slow");
    expect(res.headers.connection).toBe("close");
    await expect(client.request({ path: "/after", method: "GET" }).then((r) => r.body.text())).rejects.toThrow();
    await client.close();
  });
});

describe("admin API robustness", () => {
  it("survives a client that resets a refused WebSocket upgrade", async () => {
    const [host, port] = c2.admin.address.split(":");
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const sock = connect(Number(port), host!, () => {
          sock.write("GET /nope HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
          sock.resetAndDestroy();
          resolve();
        });
        sock.on("error", () => resolve());
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(c2.c2.child.exitCode).toBeNull();
    expect((await c2.admin.call("GET", "/healthz")).status).toBe(200);
  });
});
