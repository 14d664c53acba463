import { OperatorError } from "./errors.ts";

export type TargetKind = "deployment" | "statefulset" | "pod";

export interface Target {
  kind: TargetKind;
  name: string;
}

const KINDS: Record<string, TargetKind> = {
  deployment: "deployment",
  deploy: "deployment",
  statefulset: "statefulset",
  sts: "statefulset",
  pod: "pod",
  po: "pod",
};

/** Parse a mount's `target` (`deployment/NAME`, aliases as kubectl's: deploy, sts, po). */
export function parseTarget(target: string): Target {
  const slash = target.indexOf("/");
  const kind = KINDS[target.slice(0, slash)];
  const name = target.slice(slash + 1);
  if (slash < 0 || kind === undefined || name === "") {
    throw new OperatorError("OP_TARGET_INVALID", `"${target}" is not deployment/NAME, statefulset/NAME or pod/NAME`);
  }
  return { kind, name };
}
