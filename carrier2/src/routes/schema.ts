/**
 * JSON Schema of rules and bridges: the single structural definition, composed into the Carrier2 config
 * schema (`config/schema.ts`) and usable by the operator's CRD/webhook. Semantics that a schema cannot
 * say (regex syntax, required values) are checked by `conditions.ts`.
 */
import { MAX_RULES_PER_BRIDGE } from "./precedence.ts";

const nonEmpty = { type: "string", minLength: 1, maxLength: 4096 } as const;
const headerName = { type: "string", minLength: 1, maxLength: 256 } as const;

function item(props: Record<string, unknown>, required: string[]) {
  return { type: "object", additionalProperties: false, required, properties: props } as const;
}

export const matchItemSchema = {
  type: "object",
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    matchPath: item({ path: { type: "string", maxLength: 4096 }, type: { enum: ["exact", "prefix", "regex"] } }, ["path"]),
    matchHeader: item(
      { name: headerName, value: { type: "string", maxLength: 4096 }, type: { enum: ["exact", "prefix", "regex", "present"] } },
      ["name"],
    ),
    matchQuery: item(
      { name: nonEmpty, value: { type: "string", maxLength: 4096 }, type: { enum: ["exact", "regex", "present"] } },
      ["name"],
    ),
    matchMethod: item({ method: { type: "string", pattern: "^[A-Za-z]{1,32}$" } }, ["method"]),
    matchCookie: item(
      { name: nonEmpty, value: { type: "string", maxLength: 4096 }, type: { enum: ["exact", "regex", "present"] } },
      ["name"],
    ),
    matchBaggage: item(
      { key: nonEmpty, value: { type: "string", maxLength: 4096 }, type: { enum: ["exact", "regex", "present"] } },
      ["key"],
    ),
  },
} as const;

export const ruleSchema = {
  type: "object",
  additionalProperties: false,
  required: ["match"],
  properties: { match: { type: "array", minItems: 1, maxItems: 64, items: matchItemSchema } },
} as const;

export const rulesSchema = { type: "array", minItems: 1, maxItems: MAX_RULES_PER_BRIDGE, items: ruleSchema } as const;

/** `host:port`, `[v6]:port`. */
export const hostPortSchema = {
  type: "string",
  pattern: "^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$",
} as const;

export const bridgeSchema = {
  type: "object",
  additionalProperties: false,
  required: ["endpoint", "rules"],
  properties: {
    endpoint: hostPortSchema,
    tls: { type: "boolean" },
    sni: { type: "string", maxLength: 253 },
    fallback: { enum: ["error", "cluster"] },
    rules: rulesSchema,
  },
} as const;

/** Bridge names: Kubernetes object names (DNS subdomain), so they work as label values and in URLs. */
// Not all digits: JavaScript objects put integer-like keys first, which would break config order.
export const bridgeNamePattern = "^(?![0-9]+$)[a-z0-9]([-a-z0-9._]{0,251}[a-z0-9])?$";
