/** TLS toward upstreams: verification off by default (Gefyra), on with a CA; SNI per bridge. */
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Carrier2, certFiles, freePort, get, headerRule, proxyPort, startCarrier2, startUpstream, type TlsFiles, type Upstream } from "./helpers/harness.ts";

let tls: TlsFiles;
let other: TlsFiles;
let secureUpstream: Upstream;
const running: Carrier2[] = [];

beforeAll(async () => {
  tls = await certFiles("upstream.test");
  other = await certFiles("someone-else");
  secureUpstream = await startUpstream(
    "secure",
    (req, res) => {
      res.writeHead(200, { "x-served-by": "secure", "x-sni": String((req.socket as TLSSocket).servername ?? "") });
      res.end();
    },
    tls.pem,
  );
});

afterAll(async () => {
  for (const c of running) await c.stop();
  await secureUpstream.close();
});

async function carrierWith(extra: Record<string, unknown>, bridge: Record<string, unknown> = {}): Promise<number> {
  const port = await freePort();
  running.push(
    await startCarrier2({
      version: 1,
      ...extra,
      proxy: [proxyPort(port, [], { dev: { endpoint: secureUpstream.address, tls: true, rules: [headerRule("dev")], ...bridge } })],
    }),
  );
  return port;
}

describe("upstream TLS", () => {
  it("does not verify upstream certificates by default, and sends the bridge's SNI", async () => {
    const port = await carrierWith({}, { sni: "dev.example" });
    const r = await get(`http://127.0.0.1:${port}/`, { headers: { "x-gefyra": "dev" } });
    expect(r.status).toBe(200);
    expect(r.headers["x-sni"]).toBe("dev.example");
  });

  it("verifies against the configured CA when upstreamTls.verify is on", async () => {
    const port = await carrierWith({ upstreamTls: { verify: true, caFile: tls.certificate } }, { sni: "upstream.test" });
    const r = await get(`http://127.0.0.1:${port}/`, { headers: { "x-gefyra": "dev" } });
    expect(r.status).toBe(200);
  });

  it("refuses an upstream whose certificate the CA did not sign: 502 C2_UPSTREAM_TLS naming the route", async () => {
    const port = await carrierWith({ upstreamTls: { verify: true, caFile: other.certificate } }, { sni: "upstream.test" });
    const r = await get(`http://127.0.0.1:${port}/`, { headers: { "x-gefyra": "dev" } });
    expect(r.status).toBe(502);
    expect(r.json()).toMatchObject({ error: "C2_UPSTREAM_TLS", route: "dev" });
  });
});
