/**
 * Admin API, black-box: a real Carrier2 (`threads: 1`) with a token, real upstreams, HTTP and WebSocket
 * clients. The multi-worker behaviour (atomic churn, killed workers) is in admin-workers.test.ts.
 */
import { rename, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type AdminClient, eventually, sample, startWithAdmin, yaml } from "./helpers/admin.ts";
import { type Carrier2, echo, freePort, get, headerRule, proxyPort, startCarrier2, startUpstream, tempDir, type Upstream } from "./helpers/harness.ts";

const TOKEN = "t0ken-for-tests";

describe("admin API", () => {
  let cluster: Upstream;
  let alice: Upstream;
  let bob: Upstream;
  let port: number;
  let c2: Carrier2;
  let admin: AdminClient;

  const base = () => ({
    version: 1,
    threads: 1,
    timeouts: { drainMs: 10_000 },
    proxy: [proxyPort(port, [cluster.address], { alice: { endpoint: alice.address, rules: [headerRule("alice")] } })],
  });
  const servedBy = async (headers: Record<string, string> = {}, path = "/") => {
    const r = await get(`http://127.0.0.1:${port}${path}`, { headers });
    expect(r.status).toBe(200);
    return r.json().servedBy;
  };

  beforeAll(async () => {
    cluster = await startUpstream("cluster");
    alice = await startUpstream("alice");
    bob = await startUpstream("bob");
    port = await freePort();
    ({ c2, admin } = await startWithAdmin(base(), { token: TOKEN }));
  });

  afterAll(async () => {
    await c2?.stop();
    await Promise.all([cluster?.close(), alice?.close(), bob?.close()]);
  });

  it("answers 401 without the token or with a wrong one; health, readiness and metrics need none", async () => {
    for (const token of [null, "wrong", `${TOKEN}x`, TOKEN.slice(0, -1), ""]) {
      const r = await admin.call("GET", "/v1/config", { token });
      expect(r.status, `token ${token}`).toBe(401);
      expect(r.json().code).toBe("C2_ADMIN_UNAUTHORIZED");
      expect(r.headers["www-authenticate"]).toMatch(/^Bearer/);
    }
    expect((await admin.call("PUT", "/v1/config", { token: "wrong", body: base() })).status).toBe(401);
    expect((await admin.call("DELETE", "/v1/proxies/1/bridges/x", { token: null })).status).toBe(401);
    expect((await admin.call("GET", "/no/such/endpoint", { token: null })).status).toBe(401);
    expect((await admin.call("GET", "/v1/config", { headers: { authorization: `Basic ${TOKEN}` }, token: null })).status).toBe(401);
    expect((await admin.call("GET", "/v1/config", { headers: { authorization: `bearer ${TOKEN}` }, token: null })).status).toBe(200);
    expect((await admin.call("GET", "/healthz", { token: null })).status).toBe(200);
    expect((await admin.call("GET", "/readyz", { token: null })).json()).toMatchObject({ status: "ready" });
    expect((await admin.call("GET", "/metrics", { token: null })).status).toBe(200);
    expect((await admin.call("GET", "/v1/config")).status).toBe(200);
  });

  it("GET /v1/config: generation, the validated config and warnings, with an ETag", async () => {
    const r = await admin.call("GET", "/v1/config");
    expect(r.status).toBe(200);
    const body = r.json() as { generation: number; config: { proxy: { port: number }[] }; warnings: unknown[] };
    expect(r.headers.etag).toBe(`"${body.generation}"`);
    expect(body.config.proxy[0]!.port).toBe(port);
    expect(body.config).toMatchObject({ version: 1, threads: 1, loopLimit: 5 }); // defaults applied
    expect(Array.isArray(body.warnings)).toBe(true);
    const again = await admin.call("GET", "/v1/config", { headers: { "if-none-match": r.headers.etag as string } });
    expect(again.status).toBe(304);
    const asYaml = await admin.call("GET", "/v1/config", { headers: { accept: "application/yaml" } });
    expect(asYaml.headers["content-type"]).toMatch(/yaml/);
    expect(asYaml.body).toContain(`generation: ${body.generation}`);
  });

  it("an invalid configuration is refused whole (400 with issues) and nothing changes", async () => {
    const before = await admin.config();
    const bad = base();
    const alicesBridge = { endpoint: "not-host-port", rules: [headerRule("alice")] };
    bad.proxy[0]!.bridges = {
      alice: alicesBridge,
      bob: { endpoint: bob.address, rules: [{ match: [{ matchPath: { path: "(", type: "regex" } }] }] },
    };
    const r = await admin.putConfig(bad);
    expect(r.status).toBe(400);
    const body = r.json() as { error: string; code: string; issues: { path: string; message: string }[] };
    expect(body.code).toBe("C2_ADMIN_INVALID_CONFIG");
    expect(typeof body.error).toBe("string");
    expect(body.issues.map((i) => i.path)).toEqual(expect.arrayContaining(["proxy[0].bridges.alice.endpoint"]));
    for (const i of body.issues) expect(Object.keys(i).sort()).toEqual(["message", "path"]);
    alicesBridge.endpoint = alice.address; // schema errors come first; now the rule's own error
    const badRegex = await admin.putConfig(bad);
    expect(badRegex.status).toBe(400);
    expect((badRegex.json().issues as { path: string }[]).some((i) => i.path.startsWith("proxy[0].bridges.bob.rules[0]"))).toBe(true);

    const yamlBad = await admin.call("PUT", "/v1/config", { yaml: "version: 1\nproxy:\n  - port: [\n" });
    expect(yamlBad.status).toBe(400);
    expect(yamlBad.json().issues).toEqual([expect.objectContaining({ path: "" })]);
    const unknownKey = await admin.putConfig({ ...base(), proxyy: [] });
    expect(unknownKey.status).toBe(400);
    expect(unknownKey.json().issues).toEqual([{ path: "proxyy", message: "unknown field" }]);
    const notJson = await admin.call("PUT", "/v1/config", { yaml: "{", headers: { "content-type": "application/json" } });
    expect(notJson.status).toBe(400);
    expect(notJson.json().code).toBe("C2_ADMIN_BAD_REQUEST");
    const wrongType = await admin.call("PUT", "/v1/config", { yaml: "x", headers: { "content-type": "text/plain" } });
    expect(wrongType.status).toBe(415);

    expect(await admin.config()).toEqual(before);
    expect(await servedBy({ "x-gefyra": "alice" })).toBe("alice");
  });

  it("If-Match naming another generation → 412 and nothing changes; the current one applies", async () => {
    const { generation } = await admin.config();
    for (const tag of [`"${generation - 1}"`, `"${generation + 1}"`, `W/"${generation}"`, '"abc"']) {
      const r = await admin.putConfig(base(), tag);
      expect(r.status, tag).toBe(412);
      expect(r.json()).toMatchObject({ code: "C2_ADMIN_PRECONDITION_FAILED", generation });
    }
    const bridge = await admin.call("PUT", `/v1/proxies/${port}/bridges/bob`, { body: { endpoint: bob.address, rules: [headerRule("bob")] }, headers: { "if-match": `"${generation + 1}"` } });
    expect(bridge.status).toBe(412);
    expect(await admin.generation()).toBe(generation);
    // A precondition is checked before the body: an invalid body with a stale tag is still 412.
    expect((await admin.putConfig({ nonsense: true }, generation + 7)).status).toBe(412);

    const ok = await admin.putConfig(base(), generation);
    expect(ok.status).toBe(200);
    expect(ok.json().generation).toBe(generation + 1);
    expect(ok.headers.etag).toBe(`"${generation + 1}"`);
    expect((await admin.putConfig(base(), "*")).status).toBe(200);
  });

  it("accepts YAML bodies (Content-Type: application/yaml)", async () => {
    const cfg = base();
    cfg.proxy[0]!.bridges = { bob: { endpoint: bob.address, rules: [headerRule("bob")] } };
    const r = await admin.call("PUT", "/v1/config", { yaml: yaml(cfg) });
    expect(r.status).toBe(200);
    expect(await servedBy({ "x-gefyra": "bob" })).toBe("bob");
    expect(await servedBy({ "x-gefyra": "alice" })).toBe("cluster");
    expect((await admin.putConfig(base())).status).toBe(200);
  });

  it("generations grow by exactly one per applied change, whatever the endpoint; refusals do not count", async () => {
    let g = await admin.generation();
    const expectNext = async (r: Promise<{ status: number; headers: Record<string, unknown> }>, status: number) => {
      const res = await r;
      expect(res.status).toBe(status);
      g += 1;
      expect(res.headers.etag).toBe(`"${g}"`);
      expect(await admin.generation()).toBe(g);
    };
    await expectNext(admin.putConfig(base()), 200);
    await expectNext(admin.call("PUT", `/v1/proxies/${port}/bridges/bob`, { body: { endpoint: bob.address, rules: [headerRule("bob")] } }), 201);
    expect((await admin.call("PUT", `/v1/proxies/${port}/bridges/bob`, { body: { endpoint: "x", rules: [] } })).status).toBe(400);
    await expectNext(admin.call("DELETE", `/v1/proxies/${port}/bridges/bob`), 204);
    expect((await admin.call("DELETE", `/v1/proxies/${port}/bridges/bob`)).status).toBe(404);
    await expectNext(admin.putConfig(base()), 200);
    expect(await admin.generation()).toBe(g);
  });

  it("bridges: 201 created (last), 200 replaced (keeps its place), 204 deleted, 404 when absent", async () => {
    expect((await admin.putConfig(base())).status).toBe(200);
    const url = `/v1/proxies/${port}/bridges`;
    const created = await admin.call("PUT", `${url}/bob`, { body: { endpoint: bob.address, rules: [headerRule("bob")] } });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`${url}/bob`);
    expect(created.json()).toEqual({ generation: expect.any(Number), warnings: expect.any(Array) });
    expect(await servedBy({ "x-gefyra": "bob" })).toBe("bob");
    expect((await admin.call("GET", `${url}/bob`)).json()).toMatchObject({ endpoint: bob.address });

    // Replace alice (first) with a catch-all to bob's upstream: it keeps precedence over bob.
    const replaced = await admin.call("PUT", `${url}/alice`, { yaml: `endpoint: "${alice.address}"\nrules:\n  - match:\n      - matchPath: {path: /, type: prefix}\n` });
    expect(replaced.status).toBe(200);
    const names = Object.keys(((await admin.config()).config as { proxy: { bridges: object }[] }).proxy[0]!.bridges);
    expect(names).toEqual(["alice", "bob"]);
    expect(await servedBy({ "x-gefyra": "bob" })).toBe("alice");
    expect((replaced.json().warnings as { kind?: string }[]).length).toBeGreaterThan(0); // the catch-all shadows bob

    const deleted = await admin.call("DELETE", `${url}/alice`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBe("");
    expect(await servedBy({ "x-gefyra": "bob" })).toBe("bob");
    expect(await servedBy()).toBe("cluster");

    expect((await admin.call("DELETE", `${url}/alice`)).json().code).toBe("C2_ADMIN_BRIDGE_NOT_FOUND");
    expect((await admin.call("GET", `${url}/alice`)).status).toBe(404);
    const noPort = await admin.call("PUT", `/v1/proxies/1/bridges/x`, { body: { endpoint: bob.address, rules: [] } });
    expect(noPort.status).toBe(404);
    expect(noPort.json().code).toBe("C2_ADMIN_PORT_NOT_FOUND");
    const badName = await admin.call("PUT", `${url}/Not_A_Name!`, { body: { endpoint: bob.address, rules: [] } });
    expect(badName.status).toBe(400);
    expect((await admin.call("PUT", `/v1/proxies/abc/bridges/x`, { body: {} })).status).toBe(400);
    expect((await admin.putConfig(base())).status).toBe(200);
  });

  it("POST /v1/explain names the bridge and rule that would serve a request, or the cluster", async () => {
    const cfg = base();
    cfg.proxy[0]!.bridges = {
      alice: { endpoint: alice.address, rules: [headerRule("alice"), { match: [{ matchPath: { path: "/alice-only", type: "prefix" } }] }] },
      bob: { endpoint: bob.address, fallback: "cluster", rules: [{ match: [{ matchQuery: { name: "dev", value: "bob" } }, { matchMethod: { method: "POST" } }] }] },
    };
    const { generation } = (await admin.putConfig(cfg)).json() as { generation: number };
    const explain = async (body: object) => {
      const r = await admin.call("POST", "/v1/explain", { body: { port, ...body } });
      expect(r.status).toBe(200);
      return r.json();
    };
    expect(await explain({ path: "/x", headers: { "X-Gefyra": "alice" } })).toMatchObject({
      generation,
      port,
      route: "alice",
      kind: "bridge",
      rule: 0,
      upstreams: [alice.address],
      match: [{ matchHeader: { name: "x-gefyra", value: "alice" } }],
    });
    expect(await explain({ path: "/alice-only/page?x=1" })).toMatchObject({ route: "alice", rule: 1 });
    expect(await explain({ method: "post", path: "/api?dev=bob" })).toMatchObject({ route: "bob", rule: 0, fallback: "cluster" });
    expect(await explain({ method: "GET", path: "/api?dev=bob" })).toMatchObject({ route: "cluster", kind: "cluster", rule: null, upstreams: [cluster.address] });
    expect(await explain({ path: "/" })).toMatchObject({ route: "cluster" });
    // The data plane agrees.
    expect(await servedBy({}, "/alice-only/page?x=1")).toBe("alice");

    const missing = await admin.call("POST", "/v1/explain", { body: { port } });
    expect(missing.status).toBe(400);
    expect(missing.json().issues).toEqual([{ path: "path", message: "is required" }]);
    expect((await admin.call("POST", "/v1/explain", { body: { port: 1, path: "/" } })).status).toBe(404);
    expect((await admin.putConfig(base())).status).toBe(200);
  });

  it("a port that cannot be bound fails the whole update with the reason (409); the old table stays", async () => {
    const blocked = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(blocked, r));
    try {
      const { generation } = await admin.config();
      const extra = await freePort();
      const cfg = base();
      cfg.proxy[0]!.bridges = {};
      cfg.proxy.push(proxyPort(extra, [cluster.address]), proxyPort(blocked, [cluster.address]));
      const r = await admin.putConfig(cfg);
      expect(r.status).toBe(409);
      expect(r.json()).toMatchObject({ code: "C2_ADMIN_PORT_UNAVAILABLE", port: blocked, error: `cannot listen on port ${blocked}: EADDRINUSE` });
      expect(await admin.generation()).toBe(generation);
      expect(await servedBy({ "x-gefyra": "alice" })).toBe("alice");
      // The port that could be bound was released again.
      await expect(get(`http://127.0.0.1:${extra}/`)).rejects.toThrow();
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it("a removed bridge's in-flight request finishes on its upstream", async () => {
    const held: (() => void)[] = [];
    const slow = await startUpstream("slow", (req, res, self) => {
      held.push(() => echo(req, res, self));
    });
    try {
      const cfg = base();
      cfg.proxy[0]!.bridges = { slow: { endpoint: slow.address, rules: [headerRule("slow")] } };
      expect((await admin.putConfig(cfg)).status).toBe(200);
      const inFlight = get(`http://127.0.0.1:${port}/held`, { headers: { "x-gefyra": "slow" } });
      while (held.length === 0) await new Promise((r) => setTimeout(r, 10));
      expect((await admin.call("DELETE", `/v1/proxies/${port}/bridges/slow`)).status).toBe(204);
      expect(await servedBy({ "x-gefyra": "slow" })).toBe("cluster");
      held[0]!();
      const r = await inFlight;
      expect(r.status).toBe(200);
      expect(r.json().servedBy).toBe("slow");
    } finally {
      await slow.close();
      expect((await admin.putConfig(base())).status).toBe(200);
    }
  });

  it("GET /metrics counts requests, upstream errors, connections, generation, applies and rejections", async () => {
    const dead = await freePort();
    const cfg = base();
    cfg.proxy[0]!.bridges = { ...cfg.proxy[0]!.bridges, dead: { endpoint: `127.0.0.1:${dead}`, rules: [headerRule("dead")] } };
    expect((await admin.putConfig(cfg)).status).toBe(200);
    const before = await admin.metrics();
    for (let i = 0; i < 5; i++) await servedBy({ "x-gefyra": "alice" });
    expect((await get(`http://127.0.0.1:${port}/`, { headers: { "x-gefyra": "dead" } })).status).toBe(502);
    expect((await admin.putConfig({ version: 2 })).status).toBe(400);
    const after = await admin.metrics();
    const p = `port="${port}"`;
    const delta = (name: string, labels: string) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta("carrier2_requests_total", `${p},route="alice",status_class="2xx"`)).toBe(5);
    expect(delta("carrier2_requests_total", `${p},route="dead",status_class="5xx"`)).toBe(1);
    expect(delta("carrier2_request_duration_seconds_count", `${p},route="alice"`)).toBe(5);
    expect(delta("carrier2_upstream_errors_total", `${p},route="dead",kind="connect"`)).toBe(1);
    expect(delta("carrier2_config_rejections_total", 'source="admin",reason="invalid"')).toBe(1);
    expect(after).toMatch(new RegExp(`carrier2_request_duration_seconds_bucket\\{le="0.005",${p},route="alice"\\}`));
    expect(after).toContain(`carrier2_open_connections{${p}}`);
    expect(sample(after, "carrier2_config_generation")).toBe(await admin.generation());
    expect(sample(after, "carrier2_config_applies_total", 'source="admin"')).toBeGreaterThan(5);
    expect(sample(after, "carrier2_config_applies_total", 'source="startup"')).toBe(1);
    expect((await admin.putConfig(base())).status).toBe(200);
  });

  it("GET /v1/events streams routing decisions to authenticated WebSocket clients", async () => {
    const url = `ws://${admin.address}/v1/events`;
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url, { headers: { authorization: "Bearer nope" } });
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => resolve(101));
    });
    expect(refused).toBe(401);
    expect((await admin.call("GET", "/v1/events")).status).toBe(426);

    const ws = new WebSocket(`${url}?port=${port}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const events: Record<string, unknown>[] = [];
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    ws.on("message", (data) => events.push(JSON.parse(String(data)) as Record<string, unknown>));
    expect((await admin.call("GET", "/v1/status")).json().event_consumers).toBe(1);
    const { generation } = await admin.config();
    await servedBy({ "x-gefyra": "alice" }, "/ev/1?q=1");
    await servedBy({}, "/ev/2");
    while (events.filter((e) => e.type === "request").length < 2) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    expect(events[0]).toMatchObject({ type: "request", port, route: "alice", rule: 0, method: "GET", path: "/ev/1?q=1", status: 200, generation, upstream: alice.address, error: null });
    expect(typeof events[0]!.time).toBe("string");
    expect(typeof events[0]!.duration_ms).toBe("number");
    expect(events[1]).toMatchObject({ route: "cluster", rule: null, path: "/ev/2", status: 200 });
  });
});

describe("admin API: start-up", () => {
  it("refuses to bind a non-loopback address without a token", async () => {
    const c2 = await startCarrier2(undefined, { args: ["--admin", "0.0.0.0:0"], readyMsg: null, env: { CARRIER2_ADMIN_TOKEN: "" } });
    expect(await c2.exited).toBe(2);
    expect(c2.stderr()).toMatch(/refusing to serve the admin API on 0\.0\.0\.0:0 without a token/);
  });

  it("re-reads --admin-token-file when it changes (a rotated Secret), old token refused after", async () => {
    const dir = await tempDir();
    const file = join(dir, "token");
    await writeFile(file, "first-token\n");
    const { c2, admin } = await startWithAdmin(undefined, { args: ["--admin-token-file", file], readyMsg: "Idle mode: no configuration given (-c FILE); not serving any port" });
    try {
      expect((await admin.call("GET", "/v1/status", { token: "first-token" })).status).toBe(200);
      expect((await admin.call("GET", "/v1/status", { token: null })).status).toBe(401);
      // Kubernetes swaps a Secret volume's files atomically: write aside, rename over.
      await writeFile(join(dir, "token.new"), "second-token\n");
      await rename(join(dir, "token.new"), file);
      await eventually(async () => (await admin.call("GET", "/v1/status", { token: "second-token" })).status === 200, "the new token is accepted");
      expect((await admin.call("GET", "/v1/status", { token: "first-token" })).status).toBe(401);
    } finally {
      await c2.stop();
    }
  });

  it("starts idle, not ready, and serves once a configuration is PUT", async () => {
    const cluster = await startUpstream("cluster");
    const { c2, admin } = await startWithAdmin(undefined, { readyMsg: "Idle mode: no configuration given (-c FILE); not serving any port" });
    try {
      expect(await admin.config()).toEqual({ generation: 0, config: null, warnings: [] });
      expect((await admin.call("GET", "/readyz")).status).toBe(503);
      expect((await admin.call("PUT", "/v1/config", { body: { version: 1 } })).status).toBe(200);
      const port = await freePort();
      expect((await admin.putConfig({ version: 1, proxy: [proxyPort(port, [cluster.address])] }, 1)).status).toBe(200);
      expect((await get(`http://127.0.0.1:${port}/`)).json().servedBy).toBe("cluster");
      expect((await admin.call("GET", "/readyz")).json()).toEqual({ status: "ready", generation: 2 });
    } finally {
      await c2.stop();
      await cluster.close();
    }
  });
});
