/**
 * The `warnings` of a configuration: what validation warned about plus the route analysis' findings
 * (duplicate, shadowed, catch-all, overlapping bridges). They never block a change — the operator's
 * webhook is where conflicting bridges are refused.
 */
import type { Carrier2Config, ConfigIssue } from "../config/index.ts";
import { log } from "../observability/log.ts";
import { analyzeConfig, type PortFinding } from "../routes/index.ts";

/** A validation warning (`path`, `message`), or a finding with its details. */
export type Warning = ConfigIssue & Partial<Omit<PortFinding, "path" | "message">>;

export function warningsOf(config: Carrier2Config, validation: readonly ConfigIssue[]): Warning[] {
  const out: Warning[] = [...validation];
  try {
    for (const f of analyzeConfig(config)) out.push({ ...f });
  } catch (err) {
    // Analysis must never stand in the way of routing: report it, apply anyway.
    log.error({ err }, "route analysis failed (bug)");
    out.push({ path: "", message: `route analysis failed: ${(err as Error).message}` });
  }
  return out;
}
