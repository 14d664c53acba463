/**
 * Admin API errors: one type, fixed codes. Every error response is
 * `{"error": "<message>", "code": "C2_ADMIN_…", ...details}` — the message is the specific reason when
 * there is one, else the code's general message; invalid input adds `"issues": [{"path", "message"}]`. The table is documented in docs/admin-api.md (a test checks it).
 */
import type { ConfigIssue } from "../config/index.ts";

interface AdminErrorSpec {
  status: number;
  message: string;
}

export const ADMIN_ERRORS = {
  C2_ADMIN_BAD_REQUEST: { status: 400, message: "malformed request" },
  C2_ADMIN_INVALID_CONFIG: { status: 400, message: "invalid configuration" },
  C2_ADMIN_UNAUTHORIZED: { status: 401, message: "missing or wrong bearer token" },
  C2_ADMIN_NOT_FOUND: { status: 404, message: "no such endpoint" },
  C2_ADMIN_PORT_NOT_FOUND: { status: 404, message: "no proxy on this port" },
  C2_ADMIN_BRIDGE_NOT_FOUND: { status: 404, message: "no such bridge on this port" },
  C2_ADMIN_PORT_UNAVAILABLE: { status: 409, message: "a port of the configuration cannot be opened" },
  C2_ADMIN_PRECONDITION_FAILED: { status: 412, message: "If-Match does not name the current generation" },
  C2_ADMIN_BODY_TOO_LARGE: { status: 413, message: "request body too large" },
  C2_ADMIN_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "send application/json or application/yaml" },
  C2_ADMIN_UPGRADE_REQUIRED: { status: 426, message: "this endpoint is a WebSocket" },
  C2_ADMIN_APPLY_FAILED: { status: 500, message: "applying the configuration failed" },
  C2_ADMIN_INTERNAL: { status: 500, message: "internal error" },
  C2_ADMIN_NOT_READY: { status: 503, message: "no configuration applied yet" },
} as const satisfies Record<string, AdminErrorSpec>;

export type AdminErrorCode = keyof typeof ADMIN_ERRORS;

export class AdminError extends Error {
  override name = "AdminError";
  readonly code: AdminErrorCode;
  readonly status: number;
  readonly issues: readonly ConfigIssue[] | undefined;
  /** Extra fields for the response body (e.g. the current `generation` on 412). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: AdminErrorCode, detail?: string, opts: { issues?: readonly ConfigIssue[]; details?: Record<string, unknown>; cause?: unknown } = {}) {
    const spec = ADMIN_ERRORS[code];
    super(detail ?? spec.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = spec.status;
    this.issues = opts.issues;
    this.details = opts.details ?? {};
  }

  body(): Record<string, unknown> {
    return { error: this.message, code: this.code, ...(this.issues ? { issues: this.issues } : {}), ...this.details };
  }
}
