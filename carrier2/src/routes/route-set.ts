/**
 * A port's bridges, compiled: names and bridges in precedence order, their conditions and the matcher.
 * Built once per configuration generation; read per request.
 */
import { compileMatcher, type BridgeConditions, type RouteMatcher } from "./compile.ts";
import { type RuleIssue, toConditions } from "./conditions.ts";
import type { Bridge, Condition } from "./model.ts";

export interface RouteSet {
  names: readonly string[];
  bridges: readonly Bridge[];
  conditions: readonly BridgeConditions[];
  matcher: RouteMatcher;
}

/**
 * Compile bridges (object key order = precedence). `basePath` prefixes issue paths, e.g.
 * `proxy[0].bridges`. Returns issues instead of a RouteSet when any rule is invalid.
 */
export function compileRouteSet(
  bridges: Readonly<Record<string, Bridge>>,
  basePath: string,
): { routes: RouteSet; issues?: undefined } | { routes?: undefined; issues: RuleIssue[] } {
  const issues: RuleIssue[] = [];
  const names = Object.keys(bridges);
  const list = names.map((n) => bridges[n]!);
  const conditions: BridgeConditions[] = list.map((bridge, b) => ({
    rules: bridge.rules.map(
      (rule, r) => toConditions(rule, `${basePath}.${names[b]}.rules[${r}]`, issues) ?? ([] as Condition[]),
    ),
  }));
  if (issues.length > 0) return { issues };
  return { routes: { names, bridges: list, conditions, matcher: compileMatcher(conditions) } };
}
