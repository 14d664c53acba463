/** The HTTP/1.1 data plane end to end: real Carrier2 process, real upstreams, real sockets. */
import { createHash, randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { Readable } from "node:stream";
import { Client, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Carrier2,
  echo,
  freePort,
  get,
  headerRule,
  proxyPort,
  raw,
  startCarrier2,
  startUpstream,
  type Upstream,
} from "./helpers/harness.ts";

const BIG_DOWNLOAD = randomBytes(20 * 1024 * 1024);
const BIG_DOWNLOAD_SHA = createHash("sha256").update(BIG_DOWNLOAD).digest("hex");

let firehoseWritten = 0;
let cluster: Upstream;
let alice: Upstream;
let bob: Upstream;
let special: Upstream;
let hanging: Upstream;
let forwarder: Upstream;
let c2: Carrier2;
let port: number;
let base: string;
const deadPort = await freePort();

beforeAll(async () => {
  cluster = await startUpstream("cluster");
  alice = await startUpstream("alice");
  bob = await startUpstream("bob");
  hanging = await startUpstream("hanging", () => {
    /* never answers */
  });
  special = await startUpstream("special", (req, res, self) => {
    const url = req.url ?? "";
    if (url.startsWith("/download")) {
      res.writeHead(200, { "content-type": "application/octet-stream", "x-served-by": self.name });
      let offset = 0;
      const pump = () => {
        while (offset < BIG_DOWNLOAD.length) {
          const chunk = BIG_DOWNLOAD.subarray(offset, offset + 65_536);
          offset += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    } else if (url.startsWith("/firehose")) {
      // Writes 64 MB as fast as the connection takes it; records how much got written.
      res.writeHead(200, { "x-served-by": self.name });
      const chunk = Buffer.alloc(256 * 1024, 3);
      firehoseWritten = 0;
      const pump = () => {
        while (firehoseWritten < 64 * 1024 * 1024) {
          firehoseWritten += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    } else if (url.startsWith("/early-answer")) {
      // Answers at once, without reading the request body.
      res.writeHead(200, { "x-served-by": self.name, "content-length": "5" });
      res.end("early");
    } else if (url.startsWith("/early-hints")) {
      res.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" });
      setTimeout(() => {
        res.writeHead(200, { "x-served-by": self.name });
        res.end("final");
      }, 20);
    } else if (url.startsWith("/status/")) {
      const code = Number(url.slice(8));
      res.writeHead(code, { "x-served-by": self.name, etag: '"v1"', ...(code === 200 ? { "content-length": "1234" } : {}) });
      res.end(req.method === "HEAD" || code !== 200 ? undefined : "x".repeat(1234));
    } else if (url.startsWith("/truncate")) {
      res.writeHead(200, { "content-length": String(1024 * 1024), "x-served-by": self.name });
      res.write(Buffer.alloc(100 * 1024, 1));
      setTimeout(() => res.socket?.destroy(), 50);
    } else if (url.startsWith("/hop")) {
      res.writeHead(200, { connection: "x-internal", "x-internal": "secret", "keep-alive": "timeout=5", "x-served-by": self.name });
      res.end("ok");
    } else {
      echo(req, res, self);
    }
  });
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // A developer's service that calls back into the shared service, propagating every header.
  forwarder = await startUpstream("forwarder", (req, res) => {
    const back = httpRequest({ host: "127.0.0.1", port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 500, r.headers);
      r.pipe(res);
    });
    back.on("error", () => res.destroy());
    req.pipe(back);
  });
  c2 = await startCarrier2({
    version: 1,
    loopLimit: 3,
    timeouts: { headersMs: 400, connectMs: 1000 },
    proxy: [
      proxyPort(port, [cluster.address], {
        alice: {
          endpoint: alice.address,
          rules: [
            { match: [{ matchHeader: { name: "X-Gefyra", value: "alice" } }, { matchPath: { path: "/api", type: "prefix" } }] },
            { match: [{ matchQuery: { name: "dev", value: "alice" } }] },
          ],
        },
        bob: { endpoint: bob.address, rules: [headerRule("bob")] },
        michael: { endpoint: bob.address, rules: [{ match: [{ matchPath: { path: "x-gefyra=michael", type: "regex" } }] }] },
        special: { endpoint: special.address, rules: [headerRule("special")] },
        offline: { endpoint: `127.0.0.1:${deadPort}`, rules: [headerRule("offline")] },
        "offline-fallback": { endpoint: `127.0.0.1:${deadPort}`, fallback: "cluster", rules: [headerRule("offline-fallback")] },
        slow: { endpoint: hanging.address, rules: [headerRule("slow")] },
        looper: { endpoint: forwarder.address, rules: [headerRule("looper")] },
        cafe: { endpoint: special.address, rules: [headerRule("café")] },
      }),
    ],
  });
});

afterAll(async () => {
  await c2?.stop();
  for (const u of [cluster, alice, bob, special, hanging, forwarder]) await u?.close();
});

const servedBy = async (path: string, headers: Record<string, string> = {}) => (await get(`${base}${path}`, { headers })).headers["x-served-by"];

describe("routing, per request", () => {
  it("routes alternating developers on ONE keep-alive connection, each request on its own", async () => {
    const client = new Client(base, { pipelining: 1 });
    let connections = 0;
    client.on("connect", () => connections++);
    const sequence = ["bob", "", "special", "bob", "", "special", "bob"];
    const got: string[] = [];
    for (const dev of sequence) {
      const r = await client.request({ path: "/x", method: "GET", headers: dev ? { "x-gefyra": dev } : {} });
      await r.body.text();
      got.push(String(r.headers["x-served-by"]));
    }
    await client.close();
    expect(got).toEqual(sequence.map((d) => d || "cluster"));
    expect(connections).toBe(1);
  });

  it("ANDs the items of a match and ORs the rules", async () => {
    expect(await servedBy("/api/orders", { "x-gefyra": "alice" })).toBe("alice");
    expect(await servedBy("/web", { "x-gefyra": "alice" })).toBe("cluster"); // header alone: AND fails
    expect(await servedBy("/api/orders")).toBe("cluster"); // path alone
    expect(await servedBy("/web?dev=alice")).toBe("alice"); // second rule
  });

  it("compares header names case-insensitively (rule X-Gefyra, request x-GEFYRA)", async () => {
    expect(await servedBy("/api", { "x-GEFYRA": "alice" })).toBe("alice");
    expect(await servedBy("/api", { "x-gefyra": "ALICE" })).toBe("cluster"); // values are case-sensitive
  });

  it("matches path rules against path and query (regex on the query)", async () => {
    expect(await servedBy("/p?x-gefyra=michael")).toBe("bob");
    expect(await servedBy("/p?x-gefyra=mike")).toBe("cluster");
  });
});

describe("non-ASCII header values", () => {
  it("matches UTF-8 header values against rules and forwards their bytes unchanged (Gefyra panics here)", async () => {
    const utf8 = await raw(port, "GET /na HTTP/1.1\r\nHost: a\r\nx-gefyra: café\r\nConnection: close\r\n\r\n");
    expect(utf8).toContain("x-served-by: special");
    const seen = special.seen.at(-1)!;
    expect(Buffer.from(seen.headers["x-gefyra"] as string, "latin1").toString("utf8")).toBe("café");
    // A lone latin1 byte is not valid UTF-8: no match, no crash.
    const latin1 = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, "127.0.0.1");
      let got = "";
      sock.on("data", (d: Buffer) => {
        got += d.toString("latin1");
      });
      sock.on("close", () => resolve(got));
      sock.on("error", reject);
      sock.end(Buffer.concat([Buffer.from("GET /na2 HTTP/1.1\r\nHost: a\r\nx-gefyra: caf"), Buffer.from([0xe9]), Buffer.from("\r\nConnection: close\r\n\r\n")]));
    });
    expect(latin1).toContain("x-served-by: cluster");
  });
});

describe("transparency", () => {
  it("preserves Host, appends X-Forwarded-*, removes hop-by-hop fields both ways", async () => {
    const r = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: "127.0.0.1",
          port,
          path: "/echo",
          headers: {
            host: "shared-svc.demo:8080",
            "x-gefyra": "special",
            "x-forwarded-for": "10.1.1.1",
            connection: "keep-alive, x-secret",
            "x-secret": "1",
            "keep-alive": "timeout=5",
            te: "trailers",
            "proxy-connection": "keep-alive",
          },
        },
        (res) => {
          let body = "";
          res.on("data", (d: Buffer) => {
            body += d;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on("error", reject);
      req.end();
    });
    const seen = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
    expect(seen.host).toBe("shared-svc.demo:8080");
    expect(seen["x-forwarded-host"]).toBe("shared-svc.demo:8080");
    expect(seen["x-forwarded-for"]).toBe("10.1.1.1, 127.0.0.1");
    expect(seen["x-forwarded-proto"]).toBe("http");
    for (const h of ["x-secret", "keep-alive", "te", "proxy-connection"]) expect(seen[h]).toBeUndefined();

    const hop = await get(`${base}/hop`, { headers: { "x-gefyra": "special" } });
    expect(hop.status).toBe(200);
    expect(hop.headers["x-internal"]).toBeUndefined();
    expect(hop.headers["keep-alive"]).not.toBe("timeout=5"); // Carrier2's own keep-alive, not the upstream's
  });

  it("drops the fields named by every Connection header, not just the last", async () => {
    await raw(port, "GET /conn HTTP/1.1\r\nHost: a\r\nx-gefyra: special\r\nConnection: x-secret\r\nConnection: keep-alive\r\nConnection: x-other\r\nx-secret: leaked\r\nx-other: 1\r\nx-kept: 1\r\nConnection: close\r\n\r\n");
    const seen = special.seen.at(-1)!;
    expect(seen.url).toBe("/conn");
    expect(seen.headers["x-secret"]).toBeUndefined();
    expect(seen.headers["x-other"]).toBeUndefined();
    expect(seen.headers["x-kept"]).toBe("1");
  });

  it("handles HEAD, 204 and 304 without breaking the connection's framing", async () => {
    const client = new Client(base, { pipelining: 1 });
    const h = { "x-gefyra": "special" };
    const head = await client.request({ path: "/status/200", method: "HEAD", headers: h });
    expect(head.statusCode).toBe(200);
    expect(head.headers["content-length"]).toBe("1234");
    expect(await head.body.text()).toBe("");
    for (const code of [204, 304]) {
      const r = await client.request({ path: `/status/${code}`, method: "GET", headers: h });
      expect(r.statusCode).toBe(code);
      expect(r.headers.etag).toBe('"v1"');
      expect(await r.body.text()).toBe("");
    }
    const after = await client.request({ path: "/status/200", method: "GET", headers: h });
    expect((await after.body.text()).length).toBe(1234);
    await client.close();
  });

  it("answers Expect: 100-continue and forwards the body without the Expect field", async () => {
    const reply = await raw(
      port,
      "POST /upload HTTP/1.1\r\nHost: a\r\nx-gefyra: special\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
      /100 Continue\r\n\r\n/,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 100 Continue/);
    const full = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, "127.0.0.1");
      let got = "";
      sock.setEncoding("latin1");
      sock.on("data", (d: string) => {
        got += d;
        if (got.includes("100 Continue\r\n\r\n") && !got.includes("hello")) {
          sock.write("hello");
        }
      });
      sock.on("end", () => resolve(got));
      sock.on("close", () => resolve(got));
      sock.on("error", reject);
      sock.write("POST /upload HTTP/1.1\r\nHost: a\r\nx-gefyra: special\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
    });
    expect(full).toMatch(/HTTP\/1\.1 200 OK/);
    const body = JSON.parse(full.slice(full.indexOf("{"), full.lastIndexOf("}") + 1)) as { bodyBytes: number; headers: Record<string, string> };
    expect(body.bodyBytes).toBe(5);
    expect(body.headers.expect).toBeUndefined();
  });
});

describe("half-close", () => {
  it("answers a client that half-closes right after sending its request", async () => {
    const reply = await raw(port, "GET /half HTTP/1.1\r\nHost: a\r\n\r\n", undefined, { halfClose: true });
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(reply).toContain('"servedBy":"cluster"');
  });
});

describe("bodies stream both ways", () => {
  it("uploads 8 MB (Content-Length) and a chunked body through a bridge intact", async () => {
    const upload = randomBytes(8 * 1024 * 1024);
    const r = await get(`${base}/upload`, { method: "POST", headers: { "x-gefyra": "special" }, body: upload });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ bodyBytes: upload.length, bodySha256: createHash("sha256").update(upload).digest("hex") });

    const parts = Array.from({ length: 64 }, () => randomBytes(16 * 1024));
    const res = await request(`${base}/upload-chunked`, {
      method: "POST",
      headers: { "x-gefyra": "special" },
      body: Readable.from(parts),
    });
    const json = (await res.body.json()) as { bodyBytes: number; bodySha256: string; headers: Record<string, string> };
    expect(json.bodyBytes).toBe(64 * 16 * 1024);
    expect(json.bodySha256).toBe(createHash("sha256").update(Buffer.concat(parts)).digest("hex"));
    expect(json.headers["transfer-encoding"]).toBe("chunked");
  });

  it("downloads 20 MB chunked through a bridge intact", async () => {
    const res = await request(`${base}/download`, { headers: { "x-gefyra": "special" } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-length"]).toBeUndefined();
    const hash = createHash("sha256");
    let bytes = 0;
    for await (const chunk of res.body) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    expect(bytes).toBe(BIG_DOWNLOAD.length);
    expect(hash.digest("hex")).toBe(BIG_DOWNLOAD_SHA);
  });
});

describe("informational responses", () => {
  it("passes 103 Early Hints on and then the final response", async () => {
    const reply = await raw(port, "GET /early-hints HTTP/1.1\r\nHost: a\r\nx-gefyra: special\r\nConnection: close\r\n\r\n");
    expect(reply).toMatch(/^HTTP\/1\.1 103 Early Hints\r\n[Ll]ink: <\/style\.css>; rel=preload; as=style\r\n/);
    expect(reply).toMatch(/HTTP\/1\.1 200 OK[\s\S]*\r\nfinal\r\n/);
  });
});

describe("slow clients", () => {
  it("disconnects clients that send nothing, too little to tell the protocol, or a partial head", async () => {
    const p = await freePort();
    const slow = await startCarrier2({ version: 1, timeouts: { clientHeadersMs: 800 }, proxy: [proxyPort(p, [cluster.address])] });
    try {
      const outcomes = await Promise.all(
        ["", "P", "GET / HTTP/1.1\r\nHost: a\r\n"].map(
          (sent) =>
            new Promise<string>((resolve) => {
              const sock = connect(p, "127.0.0.1", () => sent && sock.write(sent));
              let got = "";
              sock.on("data", (d: Buffer) => {
                got += d.toString("latin1");
              });
              sock.on("error", () => {});
              sock.on("close", () => resolve(got.split("\r\n")[0] ?? ""));
              setTimeout(() => resolve("still open"), 10_000).unref();
            }),
        ),
      );
      expect(outcomes[0]).not.toBe("still open");
      expect(outcomes[1]).not.toBe("still open");
      expect(outcomes[2]).toBe("HTTP/1.1 408 Request Timeout");
    } finally {
      await slow.stop();
    }
  });
});

describe("upstreams that answer before reading the body", () => {
  it("drops the rest of the client's body and keeps its connection going (regression: it stalled)", async () => {
    const body = Buffer.alloc(1024 * 1024, 65);
    const head = `POST /early-answer HTTP/1.1\r\nHost: a\r\nx-gefyra: special\r\nContent-Length: ${body.length}\r\n\r\n`;
    const responses = await new Promise<number>((resolve) => {
      const sock = connect(port, "127.0.0.1");
      let got = "";
      const count = () => (got.match(/HTTP\/1\.1 200 OK/g) ?? []).length;
      sock.on("data", (d: Buffer) => {
        got += d.toString("latin1");
        if (count() === 3) {
          sock.destroy();
          resolve(3);
        }
      });
      sock.on("error", () => {});
      sock.on("close", () => resolve(count()));
      for (let i = 0; i < 3; i++) sock.write(Buffer.concat([Buffer.from(head), body]));
      setTimeout(() => {
        sock.destroy();
        resolve(count());
      }, 10_000).unref();
    });
    expect(responses).toBe(3);
  });
});

describe("backpressure", () => {
  it("slows the upstream down to the client's pace instead of buffering the response", async () => {
    const res = await request(`${base}/firehose`, { headers: { "x-gefyra": "special" } });
    expect(res.statusCode).toBe(200);
    // The client reads nothing for a while: socket buffers fill, and the upstream must stall.
    await new Promise((r) => setTimeout(r, 1500));
    const stalledAt = firehoseWritten;
    expect(stalledAt).toBeLessThan(32 * 1024 * 1024);
    let bytes = 0;
    for await (const chunk of res.body) bytes += (chunk as Buffer).length;
    expect(bytes).toBe(64 * 1024 * 1024);
  });
});

describe("failures", () => {
  it("gives 502 naming the route when a developer's endpoint is down; everyone else is unaffected", async () => {
    const results = await Promise.all([
      ...Array.from({ length: 30 }, () => get(`${base}/x`, { headers: { "x-gefyra": "offline" } })),
      ...Array.from({ length: 30 }, () => get(`${base}/x`)),
    ]);
    const offline = results.slice(0, 30);
    const others = results.slice(30);
    for (const r of offline) {
      expect(r.status).toBe(502);
      expect(r.headers["x-carrier2-error"]).toBe("C2_UPSTREAM_CONNECT");
      expect(r.json()).toMatchObject({ error: "C2_UPSTREAM_CONNECT", route: "offline", upstream: `127.0.0.1:${deadPort}` });
    }
    for (const r of others) expect(r.headers["x-served-by"]).toBe("cluster");
  });

  it("falls back to the cluster for a bridge with fallback: cluster", async () => {
    expect(await servedBy("/fb", { "x-gefyra": "offline-fallback" })).toBe("cluster");
    const line = await c2.waitForLog((l) => l.msg === "request" && l.path === "/fb");
    expect(line).toMatchObject({ route: "cluster", fallback: true, status: 200 });
  });

  it("gives 504 when the upstream does not answer in time", async () => {
    const r = await get(`${base}/wait`, { headers: { "x-gefyra": "slow" } });
    expect(r.status).toBe(504);
    expect(r.json()).toMatchObject({ error: "C2_UPSTREAM_TIMEOUT", route: "slow" });
  });

  it("aborts the client's response cleanly when the upstream fails mid-body, and keeps serving", async () => {
    const res = await request(`${base}/truncate`, { headers: { "x-gefyra": "special" } });
    expect(res.statusCode).toBe(200);
    await expect(res.body.arrayBuffer()).rejects.toThrow();
    const line = await c2.waitForLog((l) => l.msg === "request" && l.path === "/truncate");
    expect(line.error).toBe("C2_UPSTREAM_RESET");
    expect(await servedBy("/after")).toBe("cluster");
  });

  it("turns a request that loops back through this Carrier2 into 508", async () => {
    const before = forwarder.seen.length;
    const r = await get(`${base}/loop`, { headers: { "x-gefyra": "looper" } });
    expect(r.status).toBe(508);
    expect(r.json()).toMatchObject({ error: "C2_LOOP_DETECTED" });
    expect(forwarder.seen.length - before).toBe(3); // loopLimit
  });

  it("refuses malformed or ambiguous HTTP with 400 and never forwards it", async () => {
    const seenBefore = cluster.seen.length + special.seen.length;
    const smuggle = await raw(
      port,
      "POST /x HTTP/1.1\r\nHost: a\r\nx-gefyra: special\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    expect(smuggle).toMatch(/^HTTP\/1\.1 400 /);
    const twoHosts = await raw(port, "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", /\r\n\r\n[\s\S]*\n$/);
    expect(twoHosts).toMatch(/^HTTP\/1\.1 400 /);
    const garbage = await raw(port, "GET /x HTTP/9.9\r\n\r\n");
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(cluster.seen.length + special.seen.length).toBe(seenBefore);
  });
});

describe("workers", () => {
  it("threads: 2 runs two workers with the same route table", async () => {
    const p = await freePort();
    const w = await startCarrier2({ version: 1, threads: 2, proxy: [proxyPort(p, [cluster.address], { bob: { endpoint: bob.address, rules: [headerRule("bob")] } })] });
    try {
      for (let i = 0; i < 40; i++) {
        const client = new Client(`http://127.0.0.1:${p}`);
        const r = await client.request({ path: `/w${i}`, method: "GET", headers: i % 2 ? { "x-gefyra": "bob" } : {} });
        await r.body.text();
        expect(r.headers["x-served-by"]).toBe(i % 2 ? "bob" : "cluster");
        await client.close();
      }
      const lines = await w.waitForLogs((l) => l.msg === "request" && /^\/w\d+$/.test(String(l.path)), 40);
      const pids = new Set(lines.map((l) => l.pid));
      expect(pids.size).toBe(2);
    } finally {
      await w.stop();
    }
  });
});
