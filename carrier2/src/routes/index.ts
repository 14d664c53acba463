/** The route model: the one place that defines, validates, compiles, evaluates and analyzes rules. */
export type * from "./model.ts";
export { type RuleIssue, testCondition, toCondition, toConditions } from "./conditions.ts";
export { MatchInput, headerValue } from "./facts.ts";
export { type BridgeConditions, compileMatcher, type RouteMatcher } from "./compile.ts";
export { compileRouteSet, type RouteSet } from "./route-set.ts";
export { evaluateReference } from "./reference.ts";
export { MAX_RULES_PER_BRIDGE, orderOf, precedes } from "./precedence.ts";
export { compileLinearRegex, RegexSyntaxError } from "./regex.ts";
export { bridgeNamePattern, bridgeSchema, hostPortSchema, matchItemSchema, ruleSchema, rulesSchema } from "./schema.ts";
export {
  analyzeConditions,
  analyzeConfig,
  analyzeRoutes,
  describeExample,
  type ExampleRequest,
  type Finding,
  type FindingKind,
  type PortFinding,
} from "./analyze.ts";
