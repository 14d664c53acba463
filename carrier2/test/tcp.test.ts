/** `protocol: tcp` ports: any byte stream to the cluster upstream, untouched, with half-close. */
import { createHash, randomBytes } from "node:crypto";
import { connect, createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../src/config/index.ts";
import { type Carrier2, freePort, startCarrier2 } from "./helpers/harness.ts";

let upstream: Server;
let c2: Carrier2;
let port: number;
let downPort: number;
let deadPort: number;

beforeAll(async () => {
  // Reads everything the client sends until it half-closes, then answers with a digest and closes.
  upstream = createServer({ allowHalfOpen: true }, (s) => {
    const hash = createHash("sha256");
    let bytes = 0;
    s.on("data", (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
    });
    s.on("end", () => s.end(`${bytes} ${hash.digest("hex")}\n`));
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  port = await freePort();
  downPort = await freePort();
  deadPort = await freePort();
  c2 = await startCarrier2({
    version: 1,
    proxy: [
      { port, protocol: "tcp", clusterUpstream: [`127.0.0.1:${(upstream.address() as AddressInfo).port}`] },
      { port: downPort, protocol: "tcp", clusterUpstream: [`127.0.0.1:${deadPort}`] },
    ],
  });
});

afterAll(async () => {
  await c2?.stop();
  upstream?.close();
});

function exchange(p: number, payload: Buffer): Promise<{ reply: string; closedWithError: boolean }> {
  return new Promise((resolve) => {
    const s = connect({ port: p, host: "127.0.0.1", allowHalfOpen: true });
    let reply = "";
    let failed = false;
    s.on("data", (d: Buffer) => {
      reply += d.toString();
    });
    s.on("error", () => {
      failed = true;
    });
    s.on("close", () => resolve({ reply, closedWithError: failed }));
    s.end(payload);
  });
}

describe("tcp ports", () => {
  it("copies a non-HTTP byte stream both ways untouched, passing the client's half-close through", async () => {
    const payload = randomBytes(3 * 1024 * 1024);
    const { reply } = await exchange(port, payload);
    expect(reply).toBe(`${payload.length} ${createHash("sha256").update(payload).digest("hex")}\n`);
    const line = await c2.waitForLog((l) => l.msg === "connection" && l.port === port);
    expect(line).toMatchObject({ route: "cluster", bytes_in: payload.length });
  });

  it("closes the client's connection when the cluster upstream is down, and logs why", async () => {
    const { reply } = await exchange(downPort, Buffer.from("PING\r\n"));
    expect(reply).toBe("");
    const line = await c2.waitForLog((l) => l.msg === "connection" && l.port === downPort);
    expect(String(line.error)).toMatch(/^C2_UPSTREAM_CONNECT/);
  });

  it("refuses bridges and TLS termination on a tcp port, naming the field", () => {
    const r = validateConfig({
      version: 1,
      proxy: [{ port: 5432, protocol: "tcp", tls: { certificate: "/c", key: "/k" }, bridges: { alice: { endpoint: "a:1", rules: [{ match: [{ matchPath: { path: "/" } }] }] } } }],
    }, { checkFiles: false });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.issues.map((i) => `${i.path}: ${i.message}`).join("\n");
    expect(text).toContain("proxy[0].bridges: a tcp port sends every connection to clusterUpstream");
    expect(text).toContain("proxy[0].tls: TLS termination needs protocol http");
  });
});
