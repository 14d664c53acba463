/** Small HTTP helpers shared by the admin routes: entity tags, YAML bodies, the route context. */
import { parse, YAMLParseError } from "yaml";
import type { AdminAuth } from "./auth.ts";
import type { ConfigStore } from "./config-store.ts";
import { AdminError } from "./errors.ts";

/** What every admin route module is given. */
export interface AdminContext {
  store: ConfigStore;
  auth: AdminAuth;
  /** Require the token on `GET /metrics` too. */
  metricsAuth: boolean;
}

/** The entity tag of a generation: `"7"`. */
export function etag(generation: number): string {
  return `"${generation}"`;
}

/** A body sent as YAML (`application/yaml`), parsed by the route that knows what it should be. */
export class YamlBody {
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }
}

export const YAML_TYPES = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"];

/** A JSON body as is; a YAML body parsed (duplicate keys are errors). */
export function bodyValue(body: unknown): unknown {
  if (!(body instanceof YamlBody)) return body;
  try {
    return parse(body.text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    const message = err instanceof YAMLParseError ? err.message.split("\n")[0]! : (err as Error).message;
    throw new AdminError("C2_ADMIN_BAD_REQUEST", "the body is not valid YAML", { issues: [{ path: "", message: `not valid YAML: ${message}` }] });
  }
}

/** Does the client prefer YAML (`Accept: application/yaml`)? */
export function wantsYaml(accept: string | undefined): boolean {
  return accept !== undefined && YAML_TYPES.some((t) => accept.includes(t));
}

/** A proxy port from a path parameter. */
export function portParam(raw: string): number {
  const port = Number(raw);
  if (!/^\d{1,5}$/.test(raw) || port < 1 || port > 65535) {
    throw new AdminError("C2_ADMIN_BAD_REQUEST", `port ${JSON.stringify(raw)} is not 1-65535`, { issues: [{ path: "port", message: "must be an integer 1-65535" }] });
  }
  return port;
}
