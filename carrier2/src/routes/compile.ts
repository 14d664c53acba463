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
import { asUtf8, isAscii, type MatchInput, rawHeaderValue } from "./facts.ts";
import type { Condition, RouteHit } from "./model.ts";
import { orderOf } from "./precedence.ts";

export interface BridgeConditions {
  /** One entry per rule: the AND of its conditions. */
  rules: readonly (readonly Condition[])[];
}

/**
 * A rule as the matcher holds it, and the RouteHit it returns: `bridge` and `rule` are its only public
 * fields, so a hit touches one object. Rules filed under the same index value are chained in precedence
 * order and share an empty `rest`, so that a lookup among 1,000 bridges touches few cache lines.
 */
class CompiledRule implements RouteHit {
  readonly bridge: number;
  readonly rule: number;
  readonly #order: number;
  /** The conditions left to test after the index lookup (the indexed one already holds). */
  readonly #rest: readonly Condition[];
  #next: CompiledRule | undefined = undefined;
  /** The last rule of the chain this one heads. */
  #tail: CompiledRule = this;

  constructor(bridge: number, rule: number, rest: readonly Condition[]) {
    this.bridge = bridge;
    this.rule = rule;
    this.#order = orderOf({ bridge, rule });
    this.#rest = rest.length === 0 ? NOTHING : rest;
  }

  get order(): number {
    return this.#order;
  }

  /** Append `rule` to the chain this one heads. */
  append(rule: CompiledRule): void {
    this.#tail.#next = rule;
    this.#tail = rule;
  }

  /** First rule of the chain from `r` that hits and beats `bestOrder`. */
  static first(r: CompiledRule | undefined, input: MatchInput, bestOrder: number): CompiledRule | undefined {
    for (; r !== undefined; r = r.#next) {
      if (r.#order >= bestOrder) return undefined;
      const rest = r.#rest;
      if (rest.length === 0 || testAll(rest, input)) return r;
    }
    return undefined;
  }
}

type IndexKind = "header" | "path" | "method" | "query" | "cookie" | "baggage";

interface Index {
  kind: IndexKind;
  key: string;
  /** First rule (in precedence order) per exact value; the others follow `next`. */
  byValue: Map<string, CompiledRule>;
}

export interface RouteMatcher {
  /** The winning bridge and rule, or undefined for the cluster. Never throws on request data. */
  match(input: MatchInput): RouteHit | undefined;
}

/** Index preference: most selective kinds first. */
const INDEX_RANK: Record<IndexKind, number> = { header: 0, cookie: 1, baggage: 2, query: 3, path: 4, method: 5 };

/** Shared by every rule with nothing left to test. */
const NOTHING: readonly Condition[] = Object.freeze([]);

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
  let scan: CompiledRule | undefined;

  bridges.forEach((bridge, b) => {
    bridge.rules.forEach((conds, r) => {
      const at = pickIndexCondition(conds);
      const rule = new CompiledRule(b, r, at < 0 ? conds : conds.filter((_, i) => i !== at));
      if (at < 0) {
        if (scan) scan.append(rule);
        else scan = rule;
        return;
      }
      const c = conds[at]!;
      const id = `${c.kind}\u0000${c.key}`;
      let index = indexes.get(id);
      if (!index) {
        index = { kind: c.kind, key: c.key, byValue: new Map() };
        indexes.set(id, index);
      }
      const head = index.byValue.get(c.value);
      if (head) head.append(rule);
      else index.byValue.set(c.value, rule);
    });
  });
  // Rules were added in precedence order, so every chain is already sorted by order.
  const indexList = [...indexes.values()];
  const first = CompiledRule.first;
  const single = indexList.length === 1 && scan === undefined ? indexList[0]! : undefined;

  if (single?.kind === "header") {
    // The common case (every rule keyed on one header, e.g. x-gefyra): one lookup, nothing else.
    const { byValue, key } = single;
    if ([...byValue.keys()].every(isAscii)) {
      // Every value is ASCII, so a raw header value equal to one reads as itself (`asUtf8`): a hit on the
      // raw value needs no UTF-8 check. A miss still asks `asUtf8`, whose result may differ and hit.
      return {
        match(input: MatchInput): RouteHit | undefined {
          const raw = rawHeaderValue(input.facts, key);
          if (raw === undefined) return undefined;
          let head = byValue.get(raw);
          if (head === undefined) {
            const v = asUtf8(raw);
            if (v === raw) return undefined;
            head = byValue.get(v);
          }
          return first(head, input, Number.POSITIVE_INFINITY);
        },
      };
    }
    return {
      match(input: MatchInput): RouteHit | undefined {
        const v = input.header(key);
        return v === undefined ? undefined : first(byValue.get(v), input, Number.POSITIVE_INFINITY);
      },
    };
  }

  return {
    match(input: MatchInput): RouteHit | undefined {
      let best: CompiledRule | undefined;
      for (let i = 0; i < indexList.length; i++) {
        const index = indexList[i]!;
        const v = indexValues(index, input);
        if (v === undefined) continue;
        if (typeof v === "string") {
          best = first(index.byValue.get(v), input, best ? best.order : Number.POSITIVE_INFINITY) ?? best;
          continue;
        }
        for (const one of v) best = first(index.byValue.get(one), input, best ? best.order : Number.POSITIVE_INFINITY) ?? best;
      }
      if (scan) best = first(scan, input, best ? best.order : Number.POSITIVE_INFINITY) ?? best;
      return best;
    },
  };
}
