/**
 * Validation: schema (structure) → semantics (rules, ports, endpoints, files) → defaults → frozen.
 * An invalid configuration is refused whole, with one issue per problem naming its path.
 */
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { Ajv, type ErrorObject } from "ajv";
import { compileRouteSet } from "../routes/index.ts";
import { configSchema } from "./schema.ts";
import { autoThreads } from "./threads.ts";
import type { Carrier2Config, ConfigIssue, ProxyConfig } from "./types.ts";

const ajv = new Ajv({ allErrors: true, strict: true });
const checkSchema = ajv.compile(configSchema);

export const DEFAULTS = {
  timeouts: { connectMs: 5_000, headersMs: 60_000, bodyIdleMs: 60_000, drainMs: 30_000, clientHeadersMs: 60_000 },
  loopLimit: 5,
} as const;

export type ValidationResult =
  | { ok: true; config: Carrier2Config; warnings: ConfigIssue[] }
  | { ok: false; issues: ConfigIssue[] };

export interface ValidateOptions {
  /** Read TLS certificate/key and CA files and check they parse (default true). */
  checkFiles?: boolean;
}

/** Render a JSON pointer as `proxy[0].bridges.alice`, walking the data to tell arrays from objects. */
function renderPath(data: unknown, pointer: string): string {
  if (pointer === "") return "";
  let out = "";
  let node: unknown = data;
  for (const raw of pointer.slice(1).split("/")) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
    node = node && typeof node === "object" ? (node as Record<string, unknown>)[seg] : undefined;
  }
  return out;
}

function join(base: string, key: string): string {
  return base === "" ? key : `${base}.${key}`;
}

const MATCH_KINDS = Object.keys(configSchema.properties.proxy.items.properties.bridges.additionalProperties.properties.rules.items.properties.match.items.properties);

function schemaIssue(data: unknown, e: ErrorObject): ConfigIssue {
  if (e.instancePath === "/threads") return { path: "threads", message: "must be a whole number from 1 to 256, or auto" };
  const at = renderPath(data, e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return { path: join(at, String(p.missingProperty)), message: "is required" };
    case "additionalProperties":
      return { path: join(at, String(p.additionalProperty)), message: "unknown field" };
    case "minProperties":
    case "maxProperties":
      if (/\.match\[\d+\]$/.test(at)) {
        return { path: at, message: `a match item has exactly one of ${MATCH_KINDS.join(", ")}` };
      }
      return { path: at, message: e.message ?? "invalid" };
    case "enum":
      return { path: at, message: `must be one of ${(p.allowedValues as unknown[]).join(", ")}` };
    case "const":
      return { path: at, message: `must be ${JSON.stringify(p.allowedValue)}` };
    case "propertyNames":
      return { path: join(at, String(p.propertyName)), message: "invalid name: use lower-case letters, digits, '-', '.', '_' (a Kubernetes object name)" };
    case "pattern":
      if (at.endsWith(".endpoint") || /clusterUpstream\[\d+\]$/.test(at)) return { path: at, message: "must be host:port" };
      return { path: at, message: `must match ${String(p.pattern)}` };
    default:
      return { path: at, message: e.message ?? "invalid" };
  }
}

function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(":") + 1));
}

function checkHostPort(value: string, path: string, issues: ConfigIssue[]): void {
  const port = portOf(value);
  if (!(port >= 1 && port <= 65535)) issues.push({ path, message: `port ${port} out of range 1-65535` });
}

function checkFile(path: string, file: string, issues: ConfigIssue[]): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    issues.push({ path, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    return undefined;
  }
}

function checkProxy(proxy: ProxyConfig, at: string, files: boolean, issues: ConfigIssue[], warnings: ConfigIssue[]): void {
  proxy.clusterUpstream.forEach((u, i) => {
    checkHostPort(u, `${at}.clusterUpstream[${i}]`, issues);
  });
  if (proxy.clusterUpstream.length === 0) {
    warnings.push({ path: `${at}.clusterUpstream`, message: "empty: requests that match no bridge get 502" });
  }
  for (const [name, bridge] of Object.entries(proxy.bridges)) {
    checkHostPort(bridge.endpoint, `${at}.bridges.${name}.endpoint`, issues);
  }
  if (proxy.protocol === "tcp") {
    if (Object.keys(proxy.bridges).length > 0) {
      issues.push({ path: `${at}.bridges`, message: "a tcp port sends every connection to clusterUpstream; bridges need protocol http" });
    }
    if (proxy.tls) issues.push({ path: `${at}.tls`, message: "TLS termination needs protocol http (a tcp port passes TLS through untouched)" });
  }
  const compiled = compileRouteSet(proxy.bridges, `${at}.bridges`);
  if (compiled.issues) issues.push(...compiled.issues);
  if (proxy.tls && files) {
    const cert = checkFile(`${at}.tls.certificate`, proxy.tls.certificate, issues);
    const key = checkFile(`${at}.tls.key`, proxy.tls.key, issues);
    if (cert && key) {
      try {
        createSecureContext({ cert, key });
      } catch (err) {
        issues.push({ path: `${at}.tls`, message: `certificate/key rejected: ${(err as Error).message}` });
      }
    }
  }
}

/** Keys that YAML leaves `null` when written empty (`bridges:`) mean "none". */
function dropNulls(input: unknown): unknown {
  if (!input || typeof input !== "object" || Array.isArray(input)) return input;
  const top = { ...(input as Record<string, unknown>) };
  for (const k of Object.keys(top)) if (top[k] === null) delete top[k];
  if (Array.isArray(top.proxy)) {
    top.proxy = top.proxy.map((p: unknown) => {
      if (!p || typeof p !== "object") return p;
      const copy = { ...(p as Record<string, unknown>) };
      for (const k of ["bridges", "clusterUpstream", "tls"]) if (copy[k] === null) delete copy[k];
      return copy;
    });
  }
  return top;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function validateConfig(input: unknown, options: ValidateOptions = {}): ValidationResult {
  const files = options.checkFiles ?? true;
  const data = dropNulls(input);
  if (!data || typeof data !== "object" || Array.isArray(data)) {
    return { ok: false, issues: [{ path: "", message: "the configuration must be a mapping (YAML) or object (JSON)" }] };
  }
  if (!checkSchema(data)) {
    const seen = new Set<string>();
    const issues: ConfigIssue[] = [];
    for (const e of checkSchema.errors ?? []) {
      const issue = schemaIssue(data, e);
      const id = `${issue.path}\u0000${issue.message}`;
      if (!seen.has(id)) {
        seen.add(id);
        issues.push(issue);
      }
    }
    return { ok: false, issues };
  }
  const raw = structuredClone(data) as Partial<Carrier2Config> & Record<string, unknown>;
  const config: Carrier2Config = {
    ...raw,
    version: 1,
    threads: typeof raw.threads === "number" ? raw.threads : autoThreads(),
    probes: { httpGet: raw.probes?.httpGet ?? [], httpsGet: raw.probes?.httpsGet ?? [] },
    proxy: (raw.proxy ?? []).map((p) => ({ ...p, clusterUpstream: p.clusterUpstream ?? [], bridges: p.bridges ?? {} })),
    timeouts: { ...DEFAULTS.timeouts, ...raw.timeouts },
    upstreamTls: { verify: raw.upstreamTls?.verify ?? false, ...(raw.upstreamTls?.caFile ? { caFile: raw.upstreamTls.caFile } : {}) },
    loopLimit: raw.loopLimit ?? DEFAULTS.loopLimit,
  };

  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const ports = new Map<number, string>();
  const claim = (port: number, path: string) => {
    const owner = ports.get(port);
    if (owner) issues.push({ path, message: `port ${port} is already used by ${owner}` });
    else ports.set(port, path);
  };
  config.proxy.forEach((p, i) => {
    claim(p.port, `proxy[${i}].port`);
    checkProxy(p, `proxy[${i}]`, files, issues, warnings);
  });
  for (const kind of ["httpGet", "httpsGet"] as const) {
    config.probes[kind].forEach((p, i) => {
      claim(p, `probes.${kind}[${i}]`);
    });
  }
  if (config.upstreamTls.caFile && files) checkFile("upstreamTls.caFile", config.upstreamTls.caFile, issues);
  if (config.upstreamTls.caFile && !config.upstreamTls.verify) {
    warnings.push({ path: "upstreamTls.caFile", message: "ignored unless upstreamTls.verify is true" });
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, config: deepFreeze(config), warnings };
}

/** One line per issue: `path: message`. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("\n");
}
