/**
 * Header rewriting between client and upstream (RFC 9110 §7.6): hop-by-hop fields and the fields named
 * by `Connection` are removed; Host is preserved; X-Forwarded-For/-Proto/-Host are appended; the loop
 * guard header gets this Carrier2's instance id appended.
 */
import type { IncomingHttpHeaders } from "node:http";

/** Carried upstream; lists the Carrier2 instances a request has passed through. */
export const LOOP_HEADER = "x-carrier2-loop";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
  "http2-settings",
]);

/** The fields a Connection header names (hop-by-hop too); undefined when it names none. */
function namedByConnection(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined || value === "" || value === "keep-alive" || value === "close") return undefined;
  const set = new Set<string>();
  for (const part of (Array.isArray(value) ? value.join(",") : value).split(",")) {
    const t = part.trim().toLowerCase();
    if (t) set.add(t);
  }
  return set;
}

export interface ForwardedFacts {
  clientIp: string;
  proto: "http" | "https";
  instanceId: string;
  /** The upstream exchange is HTTP/2: keep `te: trailers` (gRPC needs it). */
  upstreamH2: boolean;
  /** `host:port` of the upstream: the Host of a request that came without one. */
  upstreamAddress: string;
}

/**
 * Request fields for the upstream, from the client's raw fields (names keep their case, repeated fields
 * stay separate). HTTP/2 pseudo-fields are dropped, `:authority` becoming Host when there is none.
 * Returns undefined when the request is ambiguous (more than one Host: 400).
 */
export function upstreamRequestHeaders(
  raw: readonly string[],
  connection: string | string[] | undefined,
  facts: ForwardedFacts,
): string[] | undefined {
  // Fields the client named in Connection (all of its Connection fields) are hop-by-hop too.
  const drop = namedByConnection(connection);
  let xff: string | undefined;
  let xfp: string | undefined;
  let xfh: string | undefined;
  let loop: string | undefined;
  let host: string | undefined;
  let hosts = 0;
  let authority: string | undefined;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ":authority") authority = value;
      continue;
    }
    const lower = name.toLowerCase();
    switch (lower) {
      case "host":
        hosts++;
        host = value;
        out.push(name, value);
        continue;
      case "x-forwarded-for":
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      case "x-forwarded-proto":
        xfp = xfp === undefined ? value : `${xfp}, ${value}`;
        continue;
      case "x-forwarded-host":
        xfh = xfh === undefined ? value : `${xfh}, ${value}`;
        continue;
      case LOOP_HEADER:
        loop = loop === undefined ? value : `${loop}, ${value}`;
        continue;
      case "te":
        if (facts.upstreamH2 && value.trim().toLowerCase() === "trailers") out.push(name, value);
        continue;
    }
    if (HOP_BY_HOP.has(lower) || drop?.has(lower)) continue;
    out.push(name, value);
  }
  if (hosts > 1) return undefined;
  if (host === undefined) {
    // HTTP/2 names it `:authority`; an HTTP/1.0 client may send none, and HTTP/1.1 upstreams need one:
    // the upstream's address then (nginx's `$proxy_host`), and no X-Forwarded-Host.
    if (authority !== undefined) host = authority;
    out.push("host", authority ?? facts.upstreamAddress);
  }
  out.push("x-forwarded-for", xff ? `${xff}, ${facts.clientIp}` : facts.clientIp);
  out.push("x-forwarded-proto", xfp ? `${xfp}, ${facts.proto}` : facts.proto);
  if (host !== undefined) out.push("x-forwarded-host", xfh ? `${xfh}, ${host}` : host);
  out.push(LOOP_HEADER, loop ? `${loop}, ${facts.instanceId}` : facts.instanceId);
  return out;
}

/** `[name, value, ...]` has a field `lower` (compared case-insensitively). */
export function hasField(fields: readonly string[], lower: string): boolean {
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.length === lower.length && name.toLowerCase() === lower) return true;
  }
  return false;
}

/** How many times this instance already appears in the loop header. */
export function passesThrough(headers: IncomingHttpHeaders, instanceId: string): number {
  const v = headers[LOOP_HEADER];
  if (!v) return 0;
  let n = 0;
  for (const part of (Array.isArray(v) ? v.join(",") : v).split(",")) if (part.trim() === instanceId) n++;
  return n;
}

/** Response fields for the client from the upstream's parsed fields (`[name, value, ...]`, any case). */
export function downstreamResponseFields(raw: readonly string[]): string[] {
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 10 && name.toLowerCase() === "connection") connection = connection === undefined ? raw[i + 1]! : `${connection}, ${raw[i + 1]}`;
  }
  const drop = namedByConnection(connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || drop?.has(lower)) continue;
    out.push(name, raw[i + 1]!);
  }
  return out;
}

/** A header record (undici's, node's) as a flat `[name, value, ...]`, repeated fields separate. */
export function flatFields(headers: Record<string, string | string[] | undefined>): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) out.push(name, one);
    else out.push(name, v);
  }
  return out;
}
