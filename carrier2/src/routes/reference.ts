/**
 * The reference evaluator: the route semantics written as plainly as possible (every bridge in order,
 * every rule, every condition). It is the oracle the compiled matcher is tested against and what
 * `explain` reports; it is not used on the request path.
 */
import type { BridgeConditions } from "./compile.ts";
import { testCondition } from "./conditions.ts";
import type { MatchInput } from "./facts.ts";
import type { RouteHit } from "./model.ts";

export function evaluateReference(bridges: readonly BridgeConditions[], input: MatchInput): RouteHit | undefined {
  for (let b = 0; b < bridges.length; b++) {
    const rules = bridges[b]!.rules;
    for (let r = 0; r < rules.length; r++) {
      if (rules[r]!.every((c) => testCondition(c, input))) return { bridge: b, rule: r };
    }
  }
  return undefined;
}
