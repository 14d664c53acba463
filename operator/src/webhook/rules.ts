/**
 * A GefyraBridge's `providerParameter.rules`, validated exactly as Carrier2 validates a configuration
 * (the same schema, the same regex engine, the same messages: `carrier2/config`), so that rules the
 * webhook admits are never refused when the route table is pushed. Issues are named by their path in
 * the bridge, e.g. `providerParameter.rules[0].match[1].matchHeader.value: invalid regular expression: ...`.
 */
import { validateConfig } from "carrier2/config";
import { type Condition, type RuleIssue, type Rule, toConditions } from "carrier2/routes";

export const RULES_PATH = "providerParameter.rules";

/** Where the rules sit in the configuration the validator is given (a bridge name the schema accepts). */
const CONFIG_PATH = "proxy[0].bridges.b.rules";

export type BridgeRules =
  | { ok: true; rules: Rule[]; /** One entry per rule, as `analyzeConditions` takes them. */ conditions: Condition[][] }
  | { ok: false; issues: RuleIssue[] };

/** Validate and normalize a bridge's rules (`providerParameter.rules`; absent: an issue). */
export function bridgeRules(providerParameter: unknown): BridgeRules {
  const rules = isObject(providerParameter) ? providerParameter["rules"] : undefined;
  if (rules === undefined) {
    return { ok: false, issues: [{ path: RULES_PATH, message: "is required: a bridge receives the requests its rules match, none without rules" }] };
  }
  const config = {
    version: 1,
    threads: 1,
    proxy: [{ port: 1, clusterUpstream: ["cluster:1"], bridges: { b: { endpoint: "bridge:1", rules } } }],
  };
  const result = validateConfig(config, { checkFiles: false });
  if (!result.ok) {
    return { ok: false, issues: result.issues.map((i) => ({ path: inBridge(i.path), message: i.message })) };
  }
  const valid = result.config.proxy[0]!.bridges["b"]!.rules;
  const conditions = valid.map((rule, r) => toConditions(rule, `${RULES_PATH}[${r}]`, [])!);
  return { ok: true, rules: valid, conditions };
}

function inBridge(path: string): string {
  return path.startsWith(CONFIG_PATH) ? RULES_PATH + path.slice(CONFIG_PATH.length) : path;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
