/**
 * Compiler: a port's bridges → a matcher that stays cheap as bridges grow.
 *
 * Every rule is filed under ONE of its exact conditions (an "index key": a header name, the path, a
 * cookie/query name, a baggage key, the method), in a hash map from the exact value to the rules that
 * need it. Rules with no exact condition go on a scan list. Per request, each index key is read once and
 * looked up; only rules whose exact condition already holds are tested. Each candidate list is kept in
 * precedence order, so the first hit of each list is its best, and the overall winner is the lowest in
 * precedence (see `precedence.ts`). Result: 1,000 developers with `x-gefyra: <name>` rules cost one
 * hash lookup, not 1,000 comparisons.
 */
import { testCondition } from "./conditions.ts";
import type { MatchInput } from "./facts.ts";
import type { Condition, RouteHit } from "./model.ts";
import { orderOf } from "./precedence.ts";

export interface BridgeConditions {
  /** One entry per rule: the AND of its conditions. */
  rules: readonly (readonly Condition[])[];
}

interface CompiledRule {
  hit: RouteHit;
  order: number;
  /** The conditions left to test after the index lookup (the indexed one already holds). */
  rest: readonly Condition[];
}

type IndexKind = "header" | "path" | "method" | "query" | "cookie" | "baggage";

interface Index {
  kind: IndexKind;
  key: string;
  byValue: Map<string, CompiledRule[]>;
}

export interface RouteMatcher {
  /** The winning bridge and rule, or undefined for the cluster. Never throws on request data. */
  match(input: MatchInput): RouteHit | undefined;
}

/** Index preference: most selective kinds first. */
const INDEX_RANK: Record<IndexKind, number> = { header: 0, cookie: 1, baggage: 2, query: 3, path: 4, method: 5 };

function indexable(c: Condition): boolean {
  return c.op === "exact" && !c.keyRegex;
}

function pickIndexCondition(conds: readonly Condition[]): number {
  let best = -1;
  for (let i = 0; i < conds.length; i++) {
    const c = conds[i]!;
    if (!indexable(c)) continue;
    if (best < 0 || INDEX_RANK[c.kind] < INDEX_RANK[conds[best]!.kind]) best = i;
  }
  return best;
}

function testAll(conds: readonly Condition[], input: MatchInput): boolean {
  for (let i = 0; i < conds.length; i++) if (!testCondition(conds[i]!, input)) return false;
  return true;
}

/** First rule in `list` (precedence-ordered) that hits and beats `bestOrder`. */
function firstHit(list: readonly CompiledRule[], input: MatchInput, bestOrder: number): CompiledRule | undefined {
  for (let i = 0; i < list.length; i++) {
    const r = list[i]!;
    if (r.order >= bestOrder) return undefined;
    if (testAll(r.rest, input)) return r;
  }
  return undefined;
}

function indexValues(index: Index, input: MatchInput): string | readonly string[] | undefined {
  switch (index.kind) {
    case "header":
      return input.header(index.key);
    case "path":
      return input.facts.target;
    case "method":
      return input.facts.method;
    case "query":
      return input.query(index.key);
    case "cookie":
      return input.cookie(index.key);
    case "baggage":
      return input.baggage(index.key);
  }
}

export function compileMatcher(bridges: readonly BridgeConditions[]): RouteMatcher {
  const indexes = new Map<string, Index>();
  const scan: CompiledRule[] = [];

  bridges.forEach((bridge, b) => {
    bridge.rules.forEach((conds, r) => {
      const hit = { bridge: b, rule: r };
      const order = orderOf(hit);
      const at = pickIndexCondition(conds);
      if (at < 0) {
        scan.push({ hit, order, rest: conds });
        return;
      }
      const c = conds[at]!;
      const id = `${c.kind}\u0000${c.key}`;
      let index = indexes.get(id);
      if (!index) {
        index = { kind: c.kind, key: c.key, byValue: new Map() };
        indexes.set(id, index);
      }
      const rule: CompiledRule = { hit, order, rest: conds.filter((_, i) => i !== at) };
      const list = index.byValue.get(c.value);
      if (list) list.push(rule);
      else index.byValue.set(c.value, [rule]);
    });
  });
  // Rules were added in precedence order, so every list is already sorted by `order`.
  const indexList = [...indexes.values()];

  return {
    match(input: MatchInput): RouteHit | undefined {
      let best: CompiledRule | undefined;
      for (let i = 0; i < indexList.length; i++) {
        const index = indexList[i]!;
        const v = indexValues(index, input);
        if (v === undefined) continue;
        const bestOrder = best ? best.order : Number.POSITIVE_INFINITY;
        if (typeof v === "string") {
          const list = index.byValue.get(v);
          if (list) best = firstHit(list, input, bestOrder) ?? best;
          continue;
        }
        for (const one of v) {
          const list = index.byValue.get(one);
          if (list) best = firstHit(list, input, best ? best.order : bestOrder) ?? best;
        }
      }
      if (scan.length > 0) best = firstHit(scan, input, best ? best.order : Number.POSITIVE_INFINITY) ?? best;
      return best?.hit;
    },
  };
}
