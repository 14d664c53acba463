/** HTTP/2 (h2 over TLS via ALPN, h2c with prior knowledge) and gRPC through Carrier2. */
import { connect } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Carrier2, certFiles, freePort, get, headerRule, proxyPort, startCarrier2, startUpstream, type TlsFiles, type Upstream } from "./helpers/harness.ts";

// ── a gRPC service without .proto files: JSON messages as bytes ─────────────────────────────────────
const json = {
  requestSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  requestDeserialize: (b: Buffer) => JSON.parse(b.toString()) as Record<string, unknown>,
  responseSerialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  responseDeserialize: (b: Buffer) => JSON.parse(b.toString()) as Record<string, unknown>,
};
const service = {
  hello: { path: "/demo.Greeter/Hello", requestStream: false, responseStream: false, ...json },
  count: { path: "/demo.Greeter/Count", requestStream: false, responseStream: true, ...json },
} as unknown as grpc.ServiceDefinition;
const GreeterClient = grpc.makeGenericClientConstructor(service, "Greeter");

async function grpcServer(name: string): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server();
  server.addService(service, {
    hello: (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      if (call.request.name === "missing") return cb({ code: grpc.status.NOT_FOUND, details: `${name}: no such user` });
      cb(null, { servedBy: name, greeting: `hello ${String(call.request.name)}`, gefyra: call.metadata.get("x-gefyra")[0] ?? null });
    },
    count: (call: grpc.ServerWritableStream<Record<string, unknown>, unknown>) => {
      for (let i = 0; i < Number(call.request.n); i++) call.write({ servedBy: name, i });
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

/** An HTTP/1.1-only upstream that reports the protocol version and Host it saw. */
function versionReporter(name: string): Promise<Upstream> {
  return startUpstream(name, (req, res) => {
    res.writeHead(200, { "x-served-by": name, "x-http-version": req.httpVersion, "x-seen-host": String(req.headers.host) });
    res.end(`${name}\n`);
  });
}

function h2get(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const session = connect(url, { rejectUnauthorized: false });
    session.on("error", reject);
    const stream = session.request({ ":path": path, ...headers });
    let body = "";
    let head: Record<string, unknown> = {};
    stream.on("response", (h) => {
      head = h;
    });
    stream.setEncoding("utf8");
    stream.on("data", (d: string) => {
      body += d;
    });
    stream.on("end", () => {
      session.close();
      resolve({ status: Number(head[":status"]), headers: head, body });
    });
    stream.on("error", reject);
  });
}

let c2Plain: Carrier2;
let c2Tls: Carrier2;
let plainPort: number;
let tlsPort: number;
let tls: TlsFiles;
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  tls = await certFiles("localhost");
  const grpcCluster = await grpcServer("grpc-cluster");
  const grpcAlice = await grpcServer("grpc-alice");
  const h1Alice = await versionReporter("h1-alice");
  const h1Bob = await startUpstream("h1-bob");
  const httpsBob: Upstream = await startUpstream("https-bob", undefined, tls.pem);
  const httpsCluster: Upstream = await startUpstream("https-cluster", undefined, tls.pem);
  closers.push(
    () => grpcCluster.server.forceShutdown(),
    () => grpcAlice.server.forceShutdown(),
    () => h1Alice.close(),
    () => h1Bob.close(),
    () => httpsBob.close(),
    () => httpsCluster.close(),
  );
  plainPort = await freePort();
  c2Plain = await startCarrier2({
    version: 1,
    proxy: [
      proxyPort(plainPort, [grpcCluster.address], {
        "grpc-alice": { endpoint: grpcAlice.address, rules: [{ match: [{ matchHeader: { name: "x-gefyra", value: "alice" } }, { matchPath: { path: "/demo.", type: "prefix" } }] }] },
        "h1-alice": { endpoint: h1Alice.address, rules: [headerRule("alice")] },
        "h1-bob": { endpoint: h1Bob.address, rules: [headerRule("bob")] },
      }),
    ],
  });
  tlsPort = await freePort();
  c2Tls = await startCarrier2({
    version: 1,
    proxy: [
      proxyPort(tlsPort, [httpsCluster.address], { bob: { endpoint: httpsBob.address, rules: [headerRule("bob")] } }, { tls: { certificate: tls.certificate, key: tls.key } }),
    ],
  });
});

afterAll(async () => {
  await c2Plain?.stop();
  await c2Tls?.stop();
  for (const close of closers) await close();
});

describe("HTTP/2", () => {
  it("serves h2c (prior knowledge) and HTTP/1.1 on the same plaintext port, routed per request", async () => {
    const r = await h2get(`http://127.0.0.1:${plainPort}`, "/x", { "x-gefyra": "alice", host: "shared.svc" });
    expect(r.status).toBe(200);
    expect(r.headers["x-served-by"]).toBe("h1-alice");
    // Not gRPC: proxied over HTTP/1.1, which every upstream speaks (h2c would fail on most).
    expect(r.headers["x-http-version"]).toBe("1.1");
    expect(r.headers["x-seen-host"]).toBe("shared.svc");
    const h1 = await get(`http://127.0.0.1:${plainPort}/y`, { headers: { "x-gefyra": "bob" } });
    expect(h1.headers["x-served-by"]).toBe("h1-bob");
    const line = await c2Plain.waitForLog((l) => l.msg === "request" && l.path === "/x");
    expect(line).toMatchObject({ route: "h1-alice", status: 200 });
  });

  it("speaks h2 over TLS (ALPN) to clients and HTTP/1.1 to an upstream that only has it", async () => {
    const r = await h2get(`https://127.0.0.1:${tlsPort}`, "/tls", { "x-gefyra": "bob" });
    expect(r.status).toBe(200);
    expect(r.headers["x-served-by"]).toBe("https-bob");
    const seen = JSON.parse(r.body) as { headers: Record<string, string> };
    expect(seen.headers.host).toBe(`127.0.0.1:${tlsPort}`);
    expect(seen.headers["x-forwarded-proto"]).toBe("https");
    const h1 = await get(`https://127.0.0.1:${tlsPort}/tls1`);
    expect(h1.headers["x-served-by"]).toBe("https-cluster");
  });
});

describe("gRPC", () => {
  function client(): InstanceType<typeof GreeterClient> {
    const c = new GreeterClient(`127.0.0.1:${plainPort}`, grpc.credentials.createInsecure());
    closers.push(() => c.close());
    return c;
  }
  const unary = (c: InstanceType<typeof GreeterClient>, req: unknown, md: Record<string, string> = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const meta = new grpc.Metadata();
      for (const [k, v] of Object.entries(md)) meta.set(k, v);
      (c as unknown as Record<string, (...a: unknown[]) => void>).hello!(req, meta, (err: grpc.ServiceError | null, res: Record<string, unknown>) =>
        err ? reject(err) : resolve(res),
      );
    });

  it("routes unary calls by metadata, per call on one channel", async () => {
    const c = client();
    expect(await unary(c, { name: "a" }, { "x-gefyra": "alice" })).toMatchObject({ servedBy: "grpc-alice", gefyra: "alice" });
    expect(await unary(c, { name: "b" })).toMatchObject({ servedBy: "grpc-cluster", greeting: "hello b" });
    expect(await unary(c, { name: "c" }, { "x-gefyra": "alice" })).toMatchObject({ servedBy: "grpc-alice" });
  });

  it("carries gRPC status and details (trailers) back to the client", async () => {
    await expect(unary(client(), { name: "missing" }, { "x-gefyra": "alice" })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: "grpc-alice: no such user",
    });
  });

  it("streams server-streaming responses", async () => {
    const c = client();
    const meta = new grpc.Metadata();
    meta.set("x-gefyra", "alice");
    const call = (c as unknown as Record<string, (...a: unknown[]) => grpc.ClientReadableStream<Record<string, unknown>>>).count!({ n: 50 }, meta);
    const got: Record<string, unknown>[] = [];
    for await (const m of call) got.push(m as Record<string, unknown>);
    expect(got).toHaveLength(50);
    expect(got[49]).toEqual({ servedBy: "grpc-alice", i: 49 });
  });
});
