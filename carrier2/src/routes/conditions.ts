/**
 * Match items → normalized conditions (with regexes compiled once), and the test of one condition
 * against a request. Nothing here runs per request except `testCondition`.
 */
import type { MatchInput } from "./facts.ts";
import type { Condition, ConditionOp, MatchItem, Rule } from "./model.ts";
import { compileLinearRegex, RegexSyntaxError } from "./regex.ts";

/** A problem in a rule, with the path below the rule (`match[0].matchHeader.value`). */
export interface RuleIssue {
  path: string;
  message: string;
}

function needsValue(op: ConditionOp): boolean {
  return op !== "present";
}

function build(
  kind: Condition["kind"],
  key: string,
  op: ConditionOp,
  value: string | undefined,
  itemPath: string,
  valueField: string,
  issues: RuleIssue[],
): Condition | undefined {
  if (needsValue(op) && value === undefined) {
    issues.push({ path: `${itemPath}.${valueField}`, message: `required when type is ${op}` });
    return undefined;
  }
  const cond: Condition = { kind, key, op, value: op === "present" ? "" : (value ?? "") };
  if (op === "regex") {
    try {
      cond.valueRegex = compileLinearRegex(cond.value);
    } catch (err) {
      if (!(err instanceof RegexSyntaxError)) throw err;
      issues.push({ path: `${itemPath}.${valueField}`, message: err.message });
      return undefined;
    }
  }
  return cond;
}

/** Normalize one match item. Structural validity is the schema's job; this adds semantics. */
export function toCondition(item: MatchItem, itemPath: string, issues: RuleIssue[]): Condition | undefined {
  if ("matchPath" in item) {
    const m = item.matchPath;
    return build("path", "", m.type ?? "prefix", m.path, `${itemPath}.matchPath`, "path", issues);
  }
  if ("matchHeader" in item) {
    const m = item.matchHeader;
    const op = m.type ?? "exact";
    const p = `${itemPath}.matchHeader`;
    const cond = build("header", m.name.toLowerCase(), op, m.value, p, "value", issues);
    if (cond && op === "regex") {
      try {
        cond.keyRegex = compileLinearRegex(m.name, "i");
      } catch (err) {
        if (!(err instanceof RegexSyntaxError)) throw err;
        issues.push({ path: `${p}.name`, message: err.message });
        return undefined;
      }
    }
    return cond;
  }
  if ("matchQuery" in item) {
    const m = item.matchQuery;
    return build("query", m.name, m.type ?? "exact", m.value, `${itemPath}.matchQuery`, "value", issues);
  }
  if ("matchMethod" in item) {
    return { kind: "method", key: "", op: "exact", value: item.matchMethod.method.toUpperCase() };
  }
  if ("matchCookie" in item) {
    const m = item.matchCookie;
    return build("cookie", m.name, m.type ?? "exact", m.value, `${itemPath}.matchCookie`, "value", issues);
  }
  const m = item.matchBaggage;
  return build("baggage", m.key, m.type ?? "exact", m.value, `${itemPath}.matchBaggage`, "value", issues);
}

/** Normalize a rule's match items; undefined (with issues) when any item is invalid. */
export function toConditions(rule: Rule, rulePath: string, issues: RuleIssue[]): Condition[] | undefined {
  const before = issues.length;
  const out: Condition[] = [];
  rule.match.forEach((item, i) => {
    const c = toCondition(item, `${rulePath}.match[${i}]`, issues);
    if (c) out.push(c);
  });
  return issues.length === before ? out : undefined;
}

function testString(cond: Condition, v: string): boolean {
  switch (cond.op) {
    case "exact":
      return v === cond.value;
    case "prefix":
      return v.startsWith(cond.value);
    case "regex":
      return cond.valueRegex!.test(v);
    case "present":
      return true;
  }
}

function testAny(cond: Condition, values: readonly string[]): boolean {
  for (const v of values) if (testString(cond, v)) return true;
  return false;
}

/** Does one condition hold for this request? */
export function testCondition(cond: Condition, input: MatchInput): boolean {
  switch (cond.kind) {
    case "path":
      return testString(cond, input.facts.target);
    case "method":
      return input.facts.method === cond.value;
    case "header": {
      if (cond.keyRegex) {
        const headers = input.facts.headers;
        for (const name in headers) {
          if (!cond.keyRegex.test(name)) continue;
          const v = input.header(name);
          if (v !== undefined && testString(cond, v)) return true;
        }
        return false;
      }
      const v = input.header(cond.key);
      return v !== undefined && testString(cond, v);
    }
    case "query":
      return testAny(cond, input.query(cond.key));
    case "cookie":
      return testAny(cond, input.cookie(cond.key));
    case "baggage":
      return testAny(cond, input.baggage(cond.key));
  }
}
