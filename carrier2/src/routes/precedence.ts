/**
 * Precedence, defined once: rules are ordered by (bridge position in config order, rule position in
 * that bridge). The request goes to the bridge of the lowest-ordered rule that hits — which is exactly
 * Gefyra's "first bridge in config order whose rules hit wins". No other tie-breaking exists: no
 * longest-prefix, no specificity. Unmatched requests go to the cluster upstream.
 */
import type { RouteHit } from "./model.ts";

/** Rules per bridge beyond this would collide in `orderOf`; the schema caps rules at this. */
export const MAX_RULES_PER_BRIDGE = 1024;

export function orderOf(hit: RouteHit): number {
  return hit.bridge * MAX_RULES_PER_BRIDGE + hit.rule;
}

/** Does `a` take precedence over `b`? */
export function precedes(a: RouteHit, b: RouteHit): boolean {
  return orderOf(a) < orderOf(b);
}
