/**
 * Operator errors: one type, fixed codes. A reconcile that fails writes the code's `reason` into the
 * object's `Ready` condition; `retryable: false` means "retrying cannot help until the object or
 * the workload changes" (the controller then waits for the next watch event or resync).
 */
import { ApiException } from "@kubernetes/client-node";

interface ErrorSpec {
  /** The `reason` of the condition that reports it (CamelCase, as Kubernetes wants). */
  reason: string;
  retryable: boolean;
  message: string;
}

export const OPERATOR_ERRORS = {
  OP_TARGET_INVALID: { reason: "TargetInvalid", retryable: false, message: "target is not valid" },
  OP_TARGET_KIND_UNSUPPORTED: {
    reason: "TargetKindUnsupported",
    retryable: false,
    message: "this operator version mounts Deployments only",
  },
  OP_TARGET_CONTAINER_NOT_FOUND: {
    reason: "TargetContainerNotFound",
    retryable: false,
    message: "the target has no such container",
  },
  OP_TARGET_NO_PORTS: { reason: "TargetContainerHasNoPorts", retryable: false, message: "the target container declares no ports" },
  OP_SHADOW_NAME_TAKEN: {
    reason: "ShadowNameTaken",
    retryable: false,
    message: "an object not managed by this mount has the shadow's name",
  },
  OP_SHADOW_LABEL_INVALID: {
    reason: "ShadowLabelInvalid",
    retryable: false,
    message: "a label value is too long to carry the -gefyra suffix",
  },
} as const satisfies Record<string, ErrorSpec>;

export type OperatorErrorCode = keyof typeof OPERATOR_ERRORS;

export class OperatorError extends Error {
  override name = "OperatorError";
  readonly code: OperatorErrorCode;
  readonly reason: string;
  readonly retryable: boolean;

  constructor(code: OperatorErrorCode, detail?: string, cause?: unknown) {
    const spec = OPERATOR_ERRORS[code];
    super(detail ? `${spec.message}: ${detail}` : spec.message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.reason = spec.reason;
    this.retryable = spec.retryable;
  }
}

/** The HTTP status of a failed Kubernetes API call, if it was one. */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export const isNotFound = (err: unknown): boolean => apiStatus(err) === 404;
export const isConflict = (err: unknown): boolean => apiStatus(err) === 409;

/** A one-line description of any error, with the API server's message when there is one. */
export function describeError(err: unknown): string {
  if (err instanceof ApiException) {
    const body = typeof err.body === "string" ? safeParse(err.body) : err.body;
    const message = (body as { message?: string } | undefined)?.message;
    return `Kubernetes API ${err.code}${message ? `: ${message}` : ""}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}
