/**
 * Proxy errors: one type, fixed codes. Every Carrier2-generated error response and every failed
 * request's log line carries one of these codes (documented in docs/errors.md).
 */

export type ErrorSource = "downstream" | "upstream" | "internal";

interface ErrorSpec {
  /** HTTP status sent when the response has not started; 0 = never answered (connection aborted). */
  status: number;
  source: ErrorSource;
  /** May the request be sent elsewhere (nothing reached the upstream)? */
  retryable: boolean;
  message: string;
}

export const PROXY_ERRORS = {
  C2_BAD_REQUEST: { status: 400, source: "downstream", retryable: false, message: "malformed or ambiguous request" },
  C2_LOOP_DETECTED: { status: 508, source: "downstream", retryable: false, message: "request looped back through this Carrier2 too often" },
  C2_NO_UPSTREAM: { status: 502, source: "internal", retryable: false, message: "no upstream configured for this route" },
  C2_UPSTREAM_CONNECT: { status: 502, source: "upstream", retryable: true, message: "could not connect to the upstream" },
  C2_UPSTREAM_CONNECT_TIMEOUT: { status: 504, source: "upstream", retryable: true, message: "connecting to the upstream timed out" },
  C2_UPSTREAM_TLS: { status: 502, source: "upstream", retryable: true, message: "TLS with the upstream failed" },
  C2_UPSTREAM_TIMEOUT: { status: 504, source: "upstream", retryable: false, message: "the upstream did not answer in time" },
  C2_UPSTREAM_RESET: { status: 502, source: "upstream", retryable: false, message: "the upstream closed the connection" },
  C2_UPSTREAM_PROTOCOL: { status: 502, source: "upstream", retryable: false, message: "the upstream sent an invalid response" },
  C2_UPSTREAM_BODY_TIMEOUT: { status: 504, source: "upstream", retryable: false, message: "the upstream stalled while sending the body" },
  C2_DOWNSTREAM_ABORTED: { status: 0, source: "downstream", retryable: false, message: "the client went away" },
  C2_INTERNAL: { status: 500, source: "internal", retryable: false, message: "internal error" },
} as const satisfies Record<string, ErrorSpec>;

export type ProxyErrorCode = keyof typeof PROXY_ERRORS;

export class ProxyError extends Error {
  override name = "ProxyError";
  readonly code: ProxyErrorCode;
  readonly status: number;
  readonly source: ErrorSource;
  readonly retryable: boolean;

  constructor(code: ProxyErrorCode, detail?: string, cause?: unknown) {
    const spec = PROXY_ERRORS[code];
    super(detail ? `${spec.message}: ${detail}` : spec.message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.status = spec.status;
    this.source = spec.source;
    this.retryable = spec.retryable;
  }
}

const CONNECT_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EADDRNOTAVAIL"]);

const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "EPROTO",
]);

/** Map an upstream client (h1.ts, undici for HTTP/2) or socket error to a ProxyError. */
export function classifyUpstreamError(err: unknown, responseStarted: boolean): ProxyError {
  if (err instanceof ProxyError) return err;
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? "";
  const detail = code ? `${code}${e.message ? ` (${e.message})` : ""}` : e?.message;
  if (CONNECT_CODES.has(code)) return new ProxyError("C2_UPSTREAM_CONNECT", detail, err);
  if (TLS_CODES.has(code) || code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_")) return new ProxyError("C2_UPSTREAM_TLS", detail, err);
  if (code === "UND_ERR_CONNECT_TIMEOUT") return new ProxyError("C2_UPSTREAM_CONNECT_TIMEOUT", detail, err);
  // An OS-level timeout may hit an established, reused connection: the request may have arrived.
  if (code === "ETIMEDOUT") return new ProxyError("C2_UPSTREAM_TIMEOUT", detail, err);
  if (code === "UND_ERR_HEADERS_TIMEOUT") return new ProxyError("C2_UPSTREAM_TIMEOUT", detail, err);
  if (code === "UND_ERR_BODY_TIMEOUT") return new ProxyError("C2_UPSTREAM_BODY_TIMEOUT", detail, err);
  if (code.startsWith("HPE_") || code === "UND_ERR_INFO" || code === "ERR_HTTP2_ERROR" || code === "ERR_HTTP2_STREAM_ERROR") {
    return new ProxyError("C2_UPSTREAM_PROTOCOL", detail, err);
  }
  if (code === "UND_ERR_ABORTED" || code === "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH" || code === "ECONNABORTED") {
    return new ProxyError(responseStarted ? "C2_UPSTREAM_RESET" : "C2_DOWNSTREAM_ABORTED", detail, err);
  }
  // ECONNRESET, EPIPE, UND_ERR_SOCKET, UND_ERR_CLOSED and anything unknown: the connection broke.
  return new ProxyError("C2_UPSTREAM_RESET", detail, err);
}
