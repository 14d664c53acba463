/** The scenarios of Gefyra's Carrier2 binary tests, against the real `carrier2` process. */
import { afterAll, describe, expect, it } from "vitest";
import {
  type Carrier2,
  certFiles,
  freePort,
  get,
  headerRule,
  proxyPort,
  startCarrier2,
  startUpstream,
  type Upstream,
} from "./helpers/harness.ts";

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});
function track<T extends Carrier2 | Upstream>(x: T): T {
  cleanup.push("stop" in x ? () => x.stop() : () => x.close());
  return x;
}

describe("Gefyra Carrier2 scenarios", () => {
  it("answers probes with 200 and sends unmatched traffic to the default (cluster) upstream", async () => {
    const cluster = track(await startUpstream("cluster"));
    const [proxy, probe1, probe2, probeTls] = [await freePort(), await freePort(), await freePort(), await freePort()];
    track(
      await startCarrier2({
        version: 1,
        probes: { httpGet: [probe1, probe2], httpsGet: [probeTls] },
        proxy: [proxyPort(proxy, [cluster.address])],
      }),
    );
    for (const p of [probe1, probe2]) expect((await get(`http://127.0.0.1:${p}/healthz`)).status).toBe(200);
    expect((await get(`https://127.0.0.1:${probeTls}/ready`)).status).toBe(200);
    const r = await get(`http://127.0.0.1:${proxy}/anything`);
    expect(r.status).toBe(200);
    expect(r.headers["x-served-by"]).toBe("cluster");
  });

  it("routes one peer by path and one by header", async () => {
    const cluster = track(await startUpstream("cluster"));
    const byPath = track(await startUpstream("by-path"));
    const byHeader = track(await startUpstream("by-header"));
    const port = await freePort();
    track(
      await startCarrier2({
        version: 1,
        proxy: [
          proxyPort(port, [cluster.address], {
            "peer-path": { endpoint: byPath.address, rules: [{ match: [{ matchPath: { path: "/my-svc", type: "prefix" } }] }] },
            "peer-header": { endpoint: byHeader.address, rules: [headerRule("user-2")] },
          }),
        ],
      }),
    );
    const base = `http://127.0.0.1:${port}`;
    expect((await get(`${base}/my-svc/items`)).headers["x-served-by"]).toBe("by-path");
    expect((await get(`${base}/other`, { headers: { "x-gefyra": "user-2" } })).headers["x-served-by"]).toBe("by-header");
    expect((await get(`${base}/other`, { headers: { "x-gefyra": "user-3" } })).headers["x-served-by"]).toBe("cluster");
    expect((await get(`${base}/my-svc`, { headers: { "x-gefyra": "user-2" } })).headers["x-served-by"]).toBe("by-path");
  });

  it("serves three peers with mixed TLS on two ports", async () => {
    const tls = await certFiles("localhost");
    const clusterPlain = track(await startUpstream("cluster-plain"));
    const clusterTls = track(await startUpstream("cluster-tls", undefined, tls.pem));
    const peer1 = track(await startUpstream("peer-1"));
    const peer2 = track(await startUpstream("peer-2-tls", undefined, tls.pem));
    const peer3 = track(await startUpstream("peer-3-tls", undefined, tls.pem));
    const peer3plain = track(await startUpstream("peer-3b-plain"));
    const [plainPort, tlsPort] = [await freePort(), await freePort()];
    track(
      await startCarrier2({
        version: 1,
        proxy: [
          proxyPort(plainPort, [clusterPlain.address], {
            "peer-1": { endpoint: peer1.address, rules: [headerRule("peer-1")] },
            "peer-2": { endpoint: peer2.address, tls: true, sni: "localhost", rules: [headerRule("peer-2")] },
          }),
          proxyPort(
            tlsPort,
            [clusterTls.address],
            {
              "peer-3": { endpoint: peer3.address, rules: [headerRule("peer-3")] },
              "peer-3b": { endpoint: peer3plain.address, tls: false, rules: [headerRule("peer-3b")] },
            },
            { tls: { certificate: tls.certificate, key: tls.key, sni: "localhost" } },
          ),
        ],
      }),
    );
    const plain = `http://127.0.0.1:${plainPort}/`;
    const secure = `https://127.0.0.1:${tlsPort}/`;
    expect((await get(plain, { headers: { "x-gefyra": "peer-1" } })).headers["x-served-by"]).toBe("peer-1");
    expect((await get(plain, { headers: { "x-gefyra": "peer-2" } })).headers["x-served-by"]).toBe("peer-2-tls");
    expect((await get(plain)).headers["x-served-by"]).toBe("cluster-plain");
    expect((await get(secure, { headers: { "x-gefyra": "peer-3" } })).headers["x-served-by"]).toBe("peer-3-tls");
    expect((await get(secure, { headers: { "x-gefyra": "peer-3b" } })).headers["x-served-by"]).toBe("peer-3b-plain");
    const viaTls = await get(secure);
    expect(viaTls.headers["x-served-by"]).toBe("cluster-tls");
    expect((viaTls.json().headers as Record<string, string>)["x-forwarded-proto"]).toBe("https");
  });

  it("logs the request id from the first present tracing header, else a generated one", async () => {
    const cluster = track(await startUpstream("cluster"));
    const port = await freePort();
    const c2 = track(await startCarrier2({ version: 1, proxy: [proxyPort(port, [cluster.address])] }));
    await get(`http://127.0.0.1:${port}/with-id`, { headers: { "request-id": "second", "x-amzn-trace-id": "Root=1-abc" } });
    await get(`http://127.0.0.1:${port}/without-id`);
    const withId = await c2.waitForLog((l) => l.msg === "request" && l.path === "/with-id");
    expect(withId.request_id).toBe("x-amzn-trace-id:Root=1-abc");
    expect(withId).toMatchObject({ method: "GET", route: "cluster", upstream: cluster.address, status: 200 });
    expect(typeof withId.duration_ms).toBe("number");
    const without = await c2.waitForLog((l) => l.msg === "request" && l.path === "/without-id");
    expect(without.request_id).toMatch(/^[0-9a-f-]{36}$/);
    // Values that need escaping still give one valid JSON line.
    await get(`http://127.0.0.1:${port}/escaped?q=%22`, { headers: { "request-id": 'a"b\\c\u00e9' } });
    const escaped = await c2.waitForLog((l) => l.msg === "request" && String(l.path).startsWith("/escaped"));
    expect(escaped.level).toBe("info");
    expect(escaped.request_id).toBe('request-id:a"b\\c\u00e9');
  });

  it("stays up idle without a configuration and says so", async () => {
    const c2 = await startCarrier2(undefined, { readyMsg: null });
    const idle = await c2.waitForLog((l) => /Idle mode/.test(l.msg));
    expect(idle.level).toBe("info");
    await new Promise((r) => setTimeout(r, 500));
    expect(c2.child.exitCode).toBeNull();
    expect(await c2.stop()).toBe(0);
  });
});
