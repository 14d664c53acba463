/**
 * The one schema every configuration passes (file, SIGHUP, admin API), compiled once with Ajv.
 * Unknown keys are errors (a typo must not silently change routing); defaults live in `validate.ts`.
 */
import { bridgeNamePattern, bridgeSchema, hostPortSchema } from "../routes/index.ts";

const port = { type: "integer", minimum: 1, maximum: 65535 } as const;
const ms = { type: "integer", minimum: 1, maximum: 86_400_000 } as const;

export const configSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    version: { const: 1 },
    threads: { anyOf: [{ type: "integer", minimum: 1, maximum: 256 }, { const: "auto" }] },
    pid_file: { type: "string" },
    error_log: { type: "string" },
    upgrade_sock: { type: "string" },
    upstream_keepalive_pool_size: { type: "integer", minimum: 0 },
    probes: {
      type: "object",
      additionalProperties: false,
      properties: {
        httpGet: { type: "array", items: port, uniqueItems: true },
        httpsGet: { type: "array", items: port, uniqueItems: true },
      },
    },
    timeouts: {
      type: "object",
      additionalProperties: false,
      properties: { connectMs: ms, headersMs: ms, bodyIdleMs: ms, drainMs: ms, clientHeadersMs: ms },
    },
    upstreamTls: {
      type: "object",
      additionalProperties: false,
      properties: { verify: { type: "boolean" }, caFile: { type: "string", minLength: 1 } },
    },
    loopLimit: { type: "integer", minimum: 1, maximum: 100 },
    proxy: {
      type: "array",
      maxItems: 256,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["port"],
        properties: {
          port,
          protocol: { enum: ["http", "tcp"] },
          tls: {
            type: "object",
            additionalProperties: false,
            required: ["certificate", "key"],
            properties: {
              certificate: { type: "string", minLength: 1 },
              key: { type: "string", minLength: 1 },
              sni: { type: "string", maxLength: 253 },
            },
          },
          clusterUpstream: { type: "array", maxItems: 256, items: hostPortSchema },
          clusterUpstreamTls: { type: "boolean" },
          bridges: {
            type: "object",
            propertyNames: { pattern: bridgeNamePattern },
            maxProperties: 10_000,
            additionalProperties: bridgeSchema,
          },
        },
      },
    },
  },
} as const;
