/**
 * The validating admission webhook for GefyraBridges: an HTTPS server answering admission.k8s.io/v1
 * AdmissionReviews on `POST /validate-gefyrabridge` with `decide.ts`'s verdict. The other bridges of
 * the namespace are listed from the API server for each judged request (no cache: a bridge created a
 * moment ago counts). Every well-formed review is answered with its `uid`, a failure to judge with
 * `allowed: false` (code 500): the webhook fails closed, like its `failurePolicy: Fail`. A body that is
 * not a review gets 400, one over `MAX_BODY_BYTES` 413, without a review in reply.
 *
 * The serving certificate and key are PEM files, re-read when they change (a renewed Secret mounted as a
 * volume) and kept as they are when the new pair does not load.
 */
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createSecureContext } from "node:tls";
import { BRIDGE_PLURAL, type GefyraBridge, GROUP } from "../crds.ts";
import { jsonLogger, type Logger } from "../log.ts";
import { admitBridge, judgesRoutes, type Verdict } from "./decide.ts";

export const VALIDATE_PATH = "/validate-gefyrabridge";

/** An AdmissionReview carries the object and, on update, the old one: each at most ~1.5 MiB in etcd. */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

export interface WebhookOptions {
  /** Listen address; port 0 picks a free port. */
  host: string;
  port: number;
  /** PEM files: the serving certificate (with any intermediates) and its private key. */
  certFile: string;
  keyFile: string;
  /** The GefyraBridges of a namespace, as stored now. */
  listBridges(namespace: string): Promise<GefyraBridge[]>;
  log?: Logger;
  /** How often the certificate files are checked for a change; 0: never (default 30 s). */
  certCheckMs?: number;
}

export interface Webhook {
  /** `https://host:port`, the port as bound. */
  url: string;
  port: number;
  /** Load the certificate files again now; false (and the old pair kept) when they do not load. */
  reloadCertificates(): boolean;
  close(): Promise<void>;
}

interface AdmissionRequest {
  uid: string;
  operation?: string;
  namespace?: string;
  resource?: { group?: string; resource?: string };
  subResource?: string;
  object?: unknown;
  oldObject?: unknown;
}

interface AdmissionResponse {
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  warnings?: string[];
}

class BadRequest extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function readPair(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

export async function startWebhook(options: WebhookOptions): Promise<Webhook> {
  const log = options.log ?? jsonLogger();
  let pair = readPair(options.certFile, options.keyFile);
  const server: Server = createServer({ ...pair }, (req, res) => {
    serve(req, res, options, log).catch((err: unknown) => {
      log.error("admission webhook: request failed", { error: String(err) });
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end();
    });
  });
  // The API server waits `timeoutSeconds` (a few seconds) for an answer: nothing needs longer.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });

  const reloadCertificates = (): boolean => {
    try {
      const next = readPair(options.certFile, options.keyFile);
      if (next.cert.equals(pair.cert) && next.key.equals(pair.key)) return true;
      createSecureContext(next); // throws when they do not load (a key of another certificate), before any change
      server.setSecureContext({ ...next });
      pair = next;
      log.info("admission webhook: certificate reloaded", { certFile: options.certFile });
      return true;
    } catch (err) {
      log.warn("admission webhook: certificate not reloaded, keeping the previous one", { error: String(err) });
      return false;
    }
  };
  const certCheckMs = options.certCheckMs ?? 30_000;
  const onChange = () => reloadCertificates();
  if (certCheckMs > 0) {
    for (const file of [options.certFile, options.keyFile]) watchFile(file, { interval: certCheckMs, persistent: false }, onChange);
  }

  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  log.info("admission webhook listening", { url: `https://${host}:${port}${VALIDATE_PATH}` });
  return {
    url: `https://${host}:${port}`,
    port,
    reloadCertificates,
    async close() {
      for (const file of [options.certFile, options.keyFile]) unwatchFile(file, onChange);
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, options: WebhookOptions, log: Logger): Promise<void> {
  let request: AdmissionRequest;
  try {
    // The API server adds `?timeout=...` to the path it was given.
    if (new URL(req.url ?? "/", "https://webhook").pathname !== VALIDATE_PATH) throw new BadRequest(404, "not found");
    if (req.method !== "POST") throw new BadRequest(405, "use POST");
    request = parseReview(await readBody(req));
  } catch (err) {
    if (!(err instanceof BadRequest)) throw err;
    const headers: Record<string, string> = { "content-type": "text/plain", connection: "close" };
    if (err.status === 405) headers["allow"] = "POST";
    res.writeHead(err.status, headers).end(`${err.message}\n`);
    return;
  }

  let response: AdmissionResponse;
  try {
    response = await review(request, options.listBridges);
  } catch (err) {
    log.error("admission webhook: could not judge", { uid: request.uid, error: String(err) });
    response = { allowed: false, status: { code: 500, reason: "InternalError", message: `the bridge could not be judged: ${String(err)}` } };
  }
  const object = request.object as Partial<GefyraBridge> | undefined;
  log.info("admission", {
    uid: request.uid,
    operation: request.operation,
    namespace: request.namespace,
    name: object?.metadata?.name,
    allowed: response.allowed,
    code: response.status?.code,
    warnings: response.warnings?.length ?? 0,
  });
  const body = JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: request.uid, ...response } });
  res.writeHead(200, { "content-type": "application/json" }).end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  if (Number(req.headers["content-length"]) > MAX_BODY_BYTES) {
    return Promise.reject(new BadRequest(413, `the body exceeds ${MAX_BODY_BYTES} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners("data");
        reject(new BadRequest(413, `the body exceeds ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parseReview(body: Buffer): AdmissionRequest {
  let review: unknown;
  try {
    review = JSON.parse(body.toString("utf8"));
  } catch {
    throw new BadRequest(400, "the body is not JSON");
  }
  const r = review as { apiVersion?: unknown; kind?: unknown; request?: { uid?: unknown } } | null;
  if (r?.apiVersion !== "admission.k8s.io/v1" || r.kind !== "AdmissionReview") {
    throw new BadRequest(400, "expected an admission.k8s.io/v1 AdmissionReview");
  }
  if (typeof r.request?.uid !== "string" || r.request.uid === "") throw new BadRequest(400, "the AdmissionReview has no request.uid");
  return r.request as AdmissionRequest;
}

async function review(request: AdmissionRequest, listBridges: WebhookOptions["listBridges"]): Promise<AdmissionResponse> {
  const { operation = "", resource, subResource } = request;
  if (resource?.group !== GROUP || resource.resource !== BRIDGE_PLURAL || subResource) {
    const message = `this webhook judges ${BRIDGE_PLURAL}.${GROUP}, not ${resource?.resource ?? "?"}.${resource?.group ?? "?"}${subResource ? `/${subResource}` : ""}`;
    return { allowed: false, status: { code: 400, reason: "BadRequest", message } };
  }
  if (operation !== "CREATE" && operation !== "UPDATE") return { allowed: true };
  const bridge = asBridge(request.object, request.namespace);
  if (!bridge) return { allowed: false, status: { code: 400, reason: "BadRequest", message: "the review carries no GefyraBridge" } };
  const admission = { operation, bridge, oldBridge: asBridge(request.oldObject, request.namespace) };
  const others = judgesRoutes(admission) ? await listBridges(bridge.metadata.namespace) : [];
  return toResponse(admitBridge(admission, others));
}

/** The object as a bridge, with its namespace filled in from the request when missing. */
function asBridge(object: unknown, namespace: string | undefined): GefyraBridge | undefined {
  const o = object as GefyraBridge | undefined;
  if (typeof o !== "object" || o === null || typeof o.metadata?.name !== "string") return undefined;
  return { ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace || namespace || "" } };
}

function toResponse(verdict: Verdict): AdmissionResponse {
  const warnings = verdict.warnings.length > 0 ? { warnings: verdict.warnings } : {};
  if (verdict.allowed) return { allowed: true, ...warnings };
  const { code, reason, message } = verdict.refusal!;
  return { allowed: false, status: { code, reason, message }, ...warnings };
}
