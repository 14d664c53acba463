/** Regex safety through a running Carrier2: a catastrophic pattern must not delay any request. */
import { describe, expect, it, onTestFinished } from "vitest";
import { freePort, get, proxyPort, startCarrier2, startUpstream } from "./helpers/harness.ts";

describe("catastrophic regexes through a running Carrier2", () => {
  it("'a'*40 + '!' against ^(a+)+$ neither stalls that request nor any other", async () => {
    const cluster = await startUpstream("cluster");
    onTestFinished(() => cluster.close());
    const dev = await startUpstream("dev");
    onTestFinished(() => dev.close());
    const port = await freePort();
    const carrier2 = await startCarrier2({
      version: 1,
      proxy: [
        proxyPort(port, [cluster.address], {
          dev: {
            endpoint: dev.address,
            rules: [
              { match: [{ matchHeader: { name: "^x-evil$", value: "^(a+)+$", type: "regex" } }] },
              { match: [{ matchPath: { path: "^/(a+)+$", type: "regex" } }] },
            ],
          },
        }),
      ],
    });
    onTestFinished(async () => void (await carrier2.stop()));
    const base = `http://127.0.0.1:${port}`;
    const evil = `${"a".repeat(40)}!`;
    const start = performance.now();
    const replies = await Promise.all([
      ...Array.from({ length: 10 }, () => get(`${base}/x`, { headers: { "x-evil": evil } })),
      get(`${base}/${evil}`),
      get(`${base}/plain`),
      get(`${base}/x`, { headers: { "x-evil": "aaaa" } }),
    ]);
    const ms = performance.now() - start;
    const servedBy = replies.map((r) => `${r.status} ${r.headers["x-served-by"]}`);
    expect(servedBy).toEqual([...Array(12).fill("200 cluster"), "200 dev"]);
    // Backtracking would need ~2^40 steps per request; the linear engine needs microseconds.
    expect(ms).toBeLessThan(5_000);
  });
});
