// The admission webhook behind the real API server: the committed ValidatingWebhookConfiguration
// (deploy/operator/webhook.yaml), pointed at a webhook served on 127.0.0.1 with a certificate of a CA
// made here and limited to this file's namespace, so other tests' bridges never reach it. Bridges are
// created through the API server as kubectl would; refusals, warnings and the update policy come back
// as a client sees them. Then the HTTP side alone: malformed reviews, failures, certificate reloads.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import {
  AdmissionregistrationV1Api,
  ApiException,
  CustomObjectsApi,
  loadAllYaml,
  PatchStrategy,
  setHeaderOptions,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { API_VERSION, BRIDGE_PLURAL, type GefyraBridge, GROUP, VERSION } from "../../src/crds.ts";
import { kubeApi } from "../../src/kube/api.ts";
import { silentLogger } from "../../src/log.ts";
import { MAX_BODY_BYTES, startWebhook, VALIDATE_PATH, type Webhook } from "../../src/webhook/server.ts";
import { createNamespace, testKubeConfig } from "../env/cluster.ts";
import { type CertificateAuthority, createCa, type KeyPair, LOOPBACK_SERVER } from "../env/pki.ts";

const admin = testKubeConfig();
const custom = admin.makeApiClient(CustomObjectsApi);
const admission = admin.makeApiClient(AdmissionregistrationV1Api);
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const WEBHOOK_FILE = new URL("../../../deploy/operator/webhook.yaml", import.meta.url);

let ns: string;
let dir: string;
let ca: CertificateAuthority;
let serving: KeyPair;
let webhook: Webhook;
let configurationName: string;

const header = (value: string) => ({ match: [{ matchHeader: { name: "x-gefyra", value } }] });
const prefix = (path: string) => ({ match: [{ matchPath: { path, type: "prefix" } }] });

function body(name: string, client: string, rules: unknown[], target = "backend-mount"): GefyraBridge {
  return {
    apiVersion: API_VERSION,
    kind: "GefyraBridge",
    metadata: { name, namespace: ns },
    provider: "carrier2",
    providerParameter: { rules },
    target,
    client,
  };
}

const ref = () => ({ group: GROUP, version: VERSION, namespace: ns, plural: BRIDGE_PLURAL });

/** Create a bridge; the warnings the API server passed on (`Warning: 299 - "..."` headers). */
async function create(bridge: GefyraBridge, dryRun?: "All"): Promise<string[]> {
  const response = await custom.createNamespacedCustomObjectWithHttpInfo({ ...ref(), body: bridge, ...(dryRun ? { dryRun } : {}) });
  const raw = response.headers["warning"] ?? "";
  return [...raw.matchAll(/299 - "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, "$1"));
}

/** The refusal of a request: its HTTP code and the API server's message. */
async function refusal(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    return { code: err.code, message: JSON.parse(err.body as string).message };
  }
  throw new Error("the API server accepted it");
}

const DENIED = 'admission webhook "rules.gefyrabridges.gefyra.dev" denied the request: ';

beforeAll(async () => {
  ns = await createNamespace(admin, "webhook");
  // A conflict from before the webhook existed, on a mount of its own: bob's bridge duplicates alice's.
  await custom.createNamespacedCustomObject({ ...ref(), body: body("before-alice", "alice", [header("before")], "before-mount") });
  await custom.createNamespacedCustomObject({ ...ref(), body: body("before-bob", "bob", [header("before")], "before-mount") });

  dir = mkdtempSync(join(tmpdir(), "carrier2-webhook-"));
  ca = createCa(dir, "carrier2-webhook-test-ca");
  serving = ca.sign("webhook", "/CN=webhook-1", LOOPBACK_SERVER);
  const certFile = join(dir, "tls.crt");
  const keyFile = join(dir, "tls.key");
  copyFileSync(serving.cert, certFile);
  copyFileSync(serving.key, keyFile);
  const bridges = kubeApi(admin).bridges;
  webhook = await startWebhook({
    host: "127.0.0.1",
    port: 0,
    certFile,
    keyFile,
    listBridges: async (namespace) => (await bridges.list(namespace)).items,
    log: silentLogger,
    certCheckMs: 0,
  });

  // The committed registration, sent to this webhook for this namespace only.
  const committed = loadAllYaml(readFileSync(WEBHOOK_FILE, "utf8")).find(
    (o) => o.kind === "ValidatingWebhookConfiguration",
  ) as V1ValidatingWebhookConfiguration;
  configurationName = `carrier2-webhook-test-${ns}`;
  const webhooks = committed.webhooks!.map((w) => ({
    ...w,
    clientConfig: { url: `${webhook.url}${VALIDATE_PATH}`, caBundle: readFileSync(ca.cert).toString("base64") },
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
  }));
  await admission.createValidatingWebhookConfiguration({
    body: { ...committed, metadata: { ...committed.metadata, name: configurationName, annotations: {} }, webhooks },
  });
  // The API server picks the configuration up shortly: wait until an invalid bridge is refused.
  await vi.waitFor(
    async () => {
      const invalid = body("probe", "probe", [{ match: [{ matchHeader: { name: "x", value: "(", type: "regex" } }] }]);
      expect((await refusal(create(invalid, "All"))).message).toContain(DENIED);
    },
    { timeout: 30_000, interval: 200 },
  );
});

afterAll(async () => {
  if (configurationName) await admission.deleteValidatingWebhookConfiguration({ name: configurationName });
  await webhook?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the webhook behind the API server", () => {
  it("refuses another developer's duplicate with 403, naming both bridges, the rule and an example request", async () => {
    expect(await create(body("alice", "alice", [header("alice")]))).toEqual([]);
    const { code, message } = await refusal(create(body("bob", "bob", [header("alice")])));
    expect(code).toBe(403);
    expect(message).toBe(
      `${DENIED}GefyraBridge "bob" (client "bob") conflicts with another developer's bridge on mount "backend-mount" ` +
        "(bridges are tried oldest first, the first hit wins): " +
        'providerParameter.rules[0]: bridge "bob" matches exactly the same requests as the earlier bridge "alice": ' +
        "it never receives traffic (the first bridge in config order wins), e.g. GET / with x-gefyra: alice " +
        '[GefyraBridge "alice" (client "alice")]',
    );
    await expect(custom.getNamespacedCustomObject({ ...ref(), name: "bob" })).rejects.toMatchObject({ code: 404 });
  });

  it("accepts the same developer's overlapping bridge, and returns overlap warnings to the client", async () => {
    const warnings = await create(body("alice-api", "alice", [prefix("/api")]));
    expect(warnings).toEqual([
      'providerParameter.rules[0]: bridges "alice" (rule 0) and "alice-api" (rule 0) can both match a request, e.g. GET /api with x-gefyra: alice; it goes to "alice", the earlier bridge',
    ]);
    // Another developer's overlap is allowed too, with the warning.
    expect(await create(body("carol", "carol", [header("carol")]))).toEqual([
      'providerParameter.rules[0]: bridges "alice-api" (rule 0) and "carol" (rule 0) can both match a request, e.g. GET /api with x-gefyra: carol; it goes to "alice-api", the earlier bridge',
    ]);
  });

  it("refuses a rule shadowed by another developer's prefix, and a catch-all beside other developers", async () => {
    const shadowed = await refusal(create(body("dave", "dave", [header("dave"), prefix("/api/v1")])));
    expect(shadowed.code).toBe(403);
    expect(shadowed.message).toContain('providerParameter.rules[1]: rule 1 of bridge "dave" can never match: rule 0 of the earlier bridge "alice-api"');
    const catchAll = await refusal(create(body("erin", "erin", [prefix("/")])));
    expect(catchAll.code).toBe(403);
    expect(catchAll.message).toContain('rule 0 of bridge "erin" matches every request: no request reaches the cluster; other developers have bridges');
  });

  it("refuses rules the route model refuses with 422 and the field path", async () => {
    const rules = [{ match: [{ matchPath: { path: "/api" } }, { matchHeader: { name: "x-gefyra", value: "(a)\\1", type: "regex" } }] }];
    const { code, message } = await refusal(create(body("frank", "frank", rules)));
    expect(code).toBe(422);
    expect(message).toMatch(
      /^admission webhook "rules\.gefyrabridges\.gefyra\.dev" denied the request: GefyraBridge "frank" \(client "frank"\) has invalid rules: providerParameter\.rules\[0\]\.match\[1\]\.matchHeader\.value: invalid regular expression/,
    );
  });

  it("lets writes that keep the rules through a conflict older than the webhook; judges a change of rules; never blocks deletion", async () => {
    const patch = (name: string, change: object) => custom.patchNamespacedCustomObject({ ...ref(), name, body: change }, mergePatch);
    const patched = await patch("before-bob", { state: "ACTIVE", metadata: { labels: { team: "b" } } });
    expect(patched.state).toBe("ACTIVE");
    const changed = await refusal(patch("before-bob", { providerParameter: { rules: [header("before"), header("bob-2")] } }));
    expect(changed.code).toBe(403);
    expect(changed.message).toContain('[GefyraBridge "before-alice" (client "alice")]');
    await patch("before-bob", { providerParameter: { rules: [header("bob-2")] } });
    await custom.deleteNamespacedCustomObject({ ...ref(), name: "alice" });
    await custom.deleteNamespacedCustomObject({ ...ref(), name: "before-alice" });
  });
});

/** POST (or `method`) to the webhook without the API server; status and body. */
function send(
  target: Webhook,
  options: { path?: string; method?: string; body?: string | Buffer; /** Without Content-Length. */ chunked?: boolean },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${target.url}${options.path ?? VALIDATE_PATH}`,
      { method: options.method ?? "POST", ca: readFileSync(ca.cert), headers: { "content-type": "application/json" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    if (options.chunked && options.body) req.write(options.body);
    req.end(options.chunked ? undefined : options.body);
  });
}

const review = (request: object) => JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request });
const bridgeResource = { group: GROUP, version: VERSION, resource: BRIDGE_PLURAL };

describe("the webhook's HTTP side", () => {
  it("answers what is not a review with an error, and stays up", async () => {
    expect((await send(webhook, { path: "/elsewhere", body: "{}" })).status).toBe(404);
    expect((await send(webhook, { method: "GET" })).status).toBe(405);
    expect(await send(webhook, { body: "{not json" })).toEqual({ status: 400, body: "the body is not JSON\n" });
    expect((await send(webhook, { body: JSON.stringify({ kind: "AdmissionReview" }) })).status).toBe(400);
    expect((await send(webhook, { body: review({ operation: "CREATE" }) })).body).toBe("the AdmissionReview has no request.uid\n");
    const huge = Buffer.alloc(MAX_BODY_BYTES + 1, " ");
    expect((await send(webhook, { body: huge })).status).toBe(413);
    expect((await send(webhook, { body: huge, chunked: true })).status).toBe(413);
    const ok = await send(webhook, { body: review({ uid: "u-1", operation: "DELETE", resource: bridgeResource, namespace: ns }) });
    expect(JSON.parse(ok.body)).toEqual({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: "u-1", allowed: true } });
  });

  it("answers every review with its uid: refusing a review it cannot judge, or of something else", async () => {
    const failing = await startWebhook({
      host: "127.0.0.1",
      port: 0,
      certFile: serving.cert,
      keyFile: serving.key,
      listBridges: () => Promise.reject(new Error("the API server is away")),
      log: silentLogger,
      certCheckMs: 0,
    });
    try {
      const object = body("x", "x", [header("x")]);
      const answer = await send(failing, { body: review({ uid: "u-2", operation: "CREATE", resource: bridgeResource, namespace: ns, object }) });
      expect(JSON.parse(answer.body).response).toEqual({
        uid: "u-2",
        allowed: false,
        status: { code: 500, reason: "InternalError", message: "the bridge could not be judged: Error: the API server is away" },
      });
      const pods = await send(failing, { body: review({ uid: "u-3", operation: "CREATE", resource: { group: "", resource: "pods" }, object }) });
      expect(JSON.parse(pods.body).response).toMatchObject({ uid: "u-3", allowed: false, status: { code: 400 } });
      const noObject = await send(failing, { body: review({ uid: "u-4", operation: "CREATE", resource: bridgeResource }) });
      expect(JSON.parse(noObject.body).response).toMatchObject({ uid: "u-4", allowed: false, status: { code: 400 } });
    } finally {
      await failing.close();
    }
  });

  it("serves a renewed certificate once reloaded, and keeps the old one when the new pair does not load", async () => {
    const served = () =>
      new Promise<string>((resolve, reject) => {
        const req = request(`${webhook.url}/`, { ca: readFileSync(ca.cert), agent: false }, (res) => {
          resolve((res.socket as TLSSocket).getPeerCertificate().subject.CN as string);
          res.resume();
        });
        req.on("error", reject);
        req.end();
      });
    expect(await served()).toBe("webhook-1");
    const renewed = ca.sign("webhook-2", "/CN=webhook-2", LOOPBACK_SERVER);
    copyFileSync(renewed.cert, join(dir, "tls.crt"));
    copyFileSync(renewed.key, join(dir, "tls.key"));
    expect(webhook.reloadCertificates()).toBe(true);
    expect(await served()).toBe("webhook-2");
    copyFileSync(serving.key, join(dir, "tls.key")); // a key of another certificate
    expect(webhook.reloadCertificates()).toBe(false);
    expect(await served()).toBe("webhook-2");
  });
});
