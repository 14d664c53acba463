/**
 * The request id for logs: the first present of the well-known tracing headers (logged as
 * `name:value`, as Gefyra does), else a generated UUID.
 */
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export const REQUEST_ID_HEADERS = [
  "opc-request-id",
  "x-amzn-trace-id",
  "x-cloud-trace-context",
  "request-id",
  "x-ms-request-id",
] as const;

export function requestIdOf(headers: IncomingHttpHeaders): string {
  for (const name of REQUEST_ID_HEADERS) {
    const v = headers[name];
    if (typeof v === "string" && v !== "") return `${name}:${v}`;
  }
  return randomUUID();
}
