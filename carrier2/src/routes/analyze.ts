/**
 * Route analysis: what developers' rules do to each other on one port, before traffic is misrouted.
 *
 * Findings (the subject — the rule or bridge that loses — comes first in `bridges` and `rules`):
 * - `duplicate` (error): a later bridge matches exactly the requests of an earlier one, so it never
 *   receives traffic. Proven by each rule of either bridge being contained in a rule of the other.
 * - `shadowed` (error): a rule of a later bridge can never fire because one rule of an earlier bridge
 *   matches every request it matches. With only one bridge named (warning): the rule contradicts itself
 *   or asks for something no HTTP request carries, so it can never fire at all.
 * - `catch-all` (error): a rule that matches every request; nothing reaches the cluster, nor any later
 *   bridge.
 * - `overlap` (warning): two bridges can both match some request; the earlier one gets it. Comes with an
 *   example request that hits both rules. With `conservative: true` and no example: the rules use
 *   regexes that analysis cannot compare, so they may overlap.
 * duplicate, shadowed and catch-all are only reported when proven (regexes are compared by their
 * literal meaning or identical source); they are exact for exact, prefix, present and method rules.
 *
 * Cost: pairs are only formed between rules that agree on every exact single-valued field they share
 * (method, path, a header), found through an index, so 1,000 `x-gefyra: <name>` bridges are ~linear.
 */
import { type RuleIssue, toConditions } from "./conditions.ts";
import { alwaysTrue, type Shape, shapeOf, subsumedBy } from "./constraints.ts";
import type { Bridge, Condition } from "./model.ts";
import { orderOf } from "./precedence.ts";
import { type ExampleRequest, exampleFor } from "./witness.ts";

export type { ExampleRequest } from "./witness.ts";

export type FindingKind = "duplicate" | "shadowed" | "catch-all" | "overlap";

export interface Finding {
  kind: FindingKind;
  severity: "error" | "warning";
  /** The subject bridge, then the other bridge (config names). */
  bridges: [string] | [string, string];
  /** The subject's rule index, then the other bridge's rule index. */
  rules: [number] | [number, number];
  /** Where the subject rule is, e.g. `bridges.bob.rules[0]` or `proxy[0].bridges.bob.rules[0]`. */
  path: string;
  message: string;
  /** A request that hits both rules (or the one rule), verified against the matcher's semantics. */
  example?: ExampleRequest;
  /** The rules may overlap; regex reasoning could not decide. */
  conservative?: boolean;
}

interface RuleInfo {
  bridge: number;
  rule: number;
  order: number;
  conds: readonly Condition[];
  shape: Shape;
  catchAll: boolean;
  /** Exact values of single-valued fields (method, target, headers): the pairing index. */
  exacts: Map<string, string>;
}

function exactsOf(shape: Shape): Map<string, string> {
  const out = new Map<string, string>();
  if (shape.method.exact !== undefined) out.set("method", shape.method.exact);
  if (shape.target.exact !== undefined) out.set("target", shape.target.exact);
  for (const [name, s] of shape.headers) if (s.exact !== undefined) out.set(`header\u0000${name}`, s.exact);
  // A query parameter, cookie or baggage key asked for once with an exact value: overlaps that need it
  // repeated with another value (`?dev=alice&dev=bob`) are not reported, so it pairs like a header.
  for (const [id, { atoms }] of shape.multi) {
    if (atoms.length === 1 && atoms[0]!.exact !== undefined) out.set(id, atoms[0]!.exact);
  }
  return out;
}

/** Multi-valued fields both rules constrain: one occurrence must satisfy both (see `exactsOf`). */
function sharedFields(x: Shape, y: Shape): Set<string> {
  const out = new Set<string>();
  for (const id of x.multi.keys()) if (y.multi.has(id)) out.add(id);
  return out;
}

/** Cheap disjointness: a shared exact field with different values, or incomparable path prefixes. */
function compatible(x: RuleInfo, y: RuleInfo): boolean {
  const [small, big] = x.exacts.size <= y.exacts.size ? [x.exacts, y.exacts] : [y.exacts, x.exacts];
  for (const [dim, v] of small) {
    const w = big.get(dim);
    if (w !== undefined && w !== v) return false;
  }
  const [px, py] = [x.shape.target.prefix, y.shape.target.prefix];
  return px.startsWith(py) || py.startsWith(px);
}

/**
 * Rules that may overlap a given rule, from an index on exact values.
 *
 * Routing keys: a header, cookie, query parameter or baggage key that several bridges match with
 * different exact values (`x-gefyra: alice`, `x-gefyra: bob`) is a routing key. Two rules keyed on
 * different routing keys only overlap for a request that carries two developers' keys; such overlaps
 * are not reported, so keyed rules pair only with rules sharing one of their keys, and unkeyed ones.
 * Containment is unaffected: a rule can only contain a keyed rule if it asks for the same key.
 */
class PairIndex {
  #live: RuleInfo[];
  #byDim = new Map<string, Map<string, RuleInfo[]>>();
  #withDim = new Map<string, number>();
  #without = new Map<string, RuleInfo[]>();
  #routing = new Set<string>();
  #keys = new Map<RuleInfo, string[]>();
  #unkeyed: RuleInfo[] = [];

  constructor(live: RuleInfo[]) {
    this.#live = live;
    /** Per field: the first bridge and value seen, and whether others differ (≥ 2 bridges, ≥ 2 values). */
    const seen = new Map<string, { bridge: number; value: string; bridges: boolean; values: boolean }>();
    for (const info of live) {
      for (const [dim, v] of info.exacts) {
        const byValue = getOrAdd(this.#byDim, dim, () => new Map<string, RuleInfo[]>());
        getOrAdd(byValue, v, () => []).push(info);
        this.#withDim.set(dim, (this.#withDim.get(dim) ?? 0) + 1);
        if (dim === "method" || dim === "target") continue; // request attributes, not developer keys
        const f = getOrAdd(seen, dim, () => ({ bridge: info.bridge, value: v, bridges: false, values: false }));
        f.bridges ||= f.bridge !== info.bridge;
        f.values ||= f.value !== v;
        if (f.bridges && f.values) this.#routing.add(dim);
      }
    }
    for (const info of live) {
      const keys = [...info.exacts.keys()].filter((d) => this.#routing.has(d));
      this.#keys.set(info, keys);
      if (keys.length === 0) this.#unkeyed.push(info);
    }
  }

  #lacking(dim: string): RuleInfo[] {
    return getOrAdd(this.#without, dim, () => this.#live.filter((r) => !r.exacts.has(dim)));
  }

  /** Candidate lists, each in precedence order; `dedupe` when a rule may be in more than one. */
  candidates(x: RuleInfo): { lists: RuleInfo[][]; dedupe: boolean } {
    const keys = this.#keys.get(x)!;
    if (keys.length > 0) {
      const lists = keys.map((d) => this.#byDim.get(d)!.get(x.exacts.get(d)!)!);
      lists.push(this.#unkeyed);
      return { lists, dedupe: keys.length > 1 };
    }
    let best: RuleInfo[][] = [this.#live];
    let cost = this.#live.length;
    for (const [dim, v] of x.exacts) {
      const same = this.#byDim.get(dim)?.get(v) ?? [];
      const c = same.length + this.#live.length - (this.#withDim.get(dim) ?? 0);
      if (c < cost) {
        cost = c;
        best = [same, this.#lacking(dim)];
      }
    }
    return { lists: best, dedupe: false };
  }
}

function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

function q(s: string): string {
  return JSON.stringify(s);
}

/** `GET /api with x-gefyra: bob`: an example request in one line, as finding messages quote it. */
export function describeExample(ex: ExampleRequest): string {
  const headers = Object.entries(ex.headers).map(([n, v]) => `${n}: ${v}`);
  return `${ex.method} ${ex.path}${headers.length ? ` with ${headers.join(", ")}` : ""}`;
}

interface Pairing {
  x: RuleInfo;
  y: RuleInfo;
  example?: ExampleRequest;
  /** Without an example: why the overlap is only possible. */
  unproven?: string;
}

/**
 * Analyze a port's bridges in precedence order, given as conditions (`toConditions`). `names[i]` names
 * `bridges[i]`; `basePath` prefixes finding paths.
 */
export function analyzeConditions(
  names: readonly string[],
  bridges: readonly { rules: readonly (readonly Condition[] | undefined)[] }[],
  basePath = "bridges",
): Finding[] {
  const infos: RuleInfo[][] = bridges.map((b, bridge) =>
    b.rules.flatMap((conds, rule) => {
      if (!conds) return []; // invalid: validation reports it
      const shape = shapeOf(conds);
      return [{ bridge, rule, order: orderOf({ bridge, rule }), conds, shape, catchAll: conds.every(alwaysTrue), exacts: exactsOf(shape) }];
    }),
  );
  const at = (x: RuleInfo) => `${basePath}.${names[x.bridge]}.rules[${x.rule}]`;
  const nameOf = (x: RuleInfo) => names[x.bridge]!;
  const findings: { finding: Finding; sort: number[] }[] = [];
  const add = (finding: Finding, subject: RuleInfo, kindRank: number, other?: RuleInfo) =>
    findings.push({ finding, sort: [subject.order, kindRank, other?.order ?? -1] });

  const live: RuleInfo[] = [];
  for (const x of infos.flat()) {
    if (x.shape.status === "unsat") {
      const message = `rule ${x.rule} of bridge ${q(nameOf(x))} can never match: ${x.shape.why}`;
      add({ kind: "shadowed", severity: "warning", bridges: [nameOf(x)], rules: [x.rule], path: at(x), message }, x, 1);
      continue;
    }
    live.push(x);
    if (x.catchAll) {
      const later = x.bridge < bridges.length - 1 ? " or any later bridge" : "";
      const message = `rule ${x.rule} of bridge ${q(nameOf(x))} matches every request: no request reaches the cluster${later}`;
      const example = exampleFor(x.shape);
      add({ kind: "catch-all", severity: "error", bridges: [nameOf(x)], rules: [x.rule], path: at(x), message, ...(example ? { example } : {}) }, x, 0);
    }
  }

  const index = new PairIndex(live);
  /** Per rule: earlier bridges that contain it (bridge → containing rule), and later ones. */
  const coveredBy = new Map<RuleInfo, Map<number, RuleInfo>>();
  const covers = new Map<RuleInfo, Set<number>>();
  const shadowedBy = new Map<RuleInfo, RuleInfo>();
  const overlaps = new Map<string, Pairing>();

  for (const x of live) {
    const { lists, dedupe } = index.candidates(x);
    const seen = dedupe ? new Set<RuleInfo>() : undefined;
    for (const list of lists) {
      for (const y of list) {
        if (y.bridge >= x.bridge) break;
        if (seen) {
          if (seen.has(y)) continue;
          seen.add(y);
        }
        if (!compatible(x, y)) continue;
        const contained = subsumedBy(x.shape, y.conds);
        if (contained) {
          const m = getOrAdd(coveredBy, x, () => new Map<number, RuleInfo>());
          if (!m.has(y.bridge)) m.set(y.bridge, y);
          const prev = shadowedBy.get(x);
          if (!prev || y.order < prev.order) shadowedBy.set(x, y);
        }
        if (subsumedBy(y.shape, x.conds)) {
          getOrAdd(covers, y, () => new Set<number>()).add(x.bridge);
        }
        if (contained || x.catchAll || y.catchAll) continue;
        const key = `${y.bridge}\u0000${x.bridge}`;
        const prev = overlaps.get(key);
        if (prev?.example) continue;
        const merged = shapeOf([...y.conds, ...x.conds], sharedFields(x.shape, y.shape));
        if (merged.status === "unsat") continue;
        const example = exampleFor(merged);
        if (example) overlaps.set(key, { x, y, example });
        else if (!prev) {
          const unproven = merged.status === "unknown" ? "their regexes are compared conservatively" : "no example request could be built";
          overlaps.set(key, { x, y, unproven });
        }
      }
    }
  }

  // Duplicates: every live rule of B is contained in A and every live rule of A in B.
  const duplicateOf = new Map<number, number>();
  infos.forEach((rules, b) => {
    const mine = rules.filter((r) => r.shape.status !== "unsat");
    if (mine.length === 0) return;
    const candidates = [...(coveredBy.get(mine[0]!)?.keys() ?? [])].sort((p, r) => p - r);
    for (const a of candidates) {
      if (!mine.every((x) => coveredBy.get(x)?.has(a))) continue;
      const theirs = infos[a]!.filter((r) => r.shape.status !== "unsat");
      if (theirs.length === 0 || !theirs.every((y) => covers.get(y)?.has(b))) continue;
      duplicateOf.set(b, a);
      const x = mine[0]!;
      const y = coveredBy.get(x)!.get(a)!;
      const example = exampleFor(shapeOf([...y.conds, ...x.conds]));
      const message = `bridge ${q(names[b]!)} matches exactly the same requests as the earlier bridge ${q(names[a]!)}: it never receives traffic (the first bridge in config order wins)`;
      add({ kind: "duplicate", severity: "error", bridges: [names[b]!, names[a]!], rules: [x.rule, y.rule], path: `${basePath}.${names[b]}`, message, ...(example ? { example } : {}) }, x, -1, y);
      return;
    }
  });

  for (const [x, y] of shadowedBy) {
    if (duplicateOf.get(x.bridge) === y.bridge) continue;
    const example = exampleFor(shapeOf([...y.conds, ...x.conds]));
    const why = y.catchAll ? "it matches every request" : "it matches every request this rule matches";
    const message = `rule ${x.rule} of bridge ${q(nameOf(x))} can never match: rule ${y.rule} of the earlier bridge ${q(nameOf(y))} takes its requests (${why}; the first bridge in config order wins)`;
    add({ kind: "shadowed", severity: "error", bridges: [nameOf(x), nameOf(y)], rules: [x.rule, y.rule], path: at(x), message, ...(example ? { example } : {}) }, x, 1, y);
  }

  for (const { x, y, example, unproven } of overlaps.values()) {
    if (duplicateOf.get(x.bridge) === y.bridge) continue;
    const pair = `bridges ${q(nameOf(y))} (rule ${y.rule}) and ${q(nameOf(x))} (rule ${x.rule})`;
    const common: Omit<Finding, "message"> = { kind: "overlap", severity: "warning", bridges: [nameOf(x), nameOf(y)], rules: [x.rule, y.rule], path: at(x) };
    const message = example
      ? `${pair} can both match a request, e.g. ${describeExample(example)}; it goes to ${q(nameOf(y))}, the earlier bridge`
      : `${pair} may both match a request: ${unproven}, so this is not proven`;
    add(example ? { ...common, message, example } : { ...common, message, conservative: true }, x, 2, y);
  }

  findings.sort((a, b) => a.sort[0]! - b.sort[0]! || a.sort[1]! - b.sort[1]! || a.sort[2]! - b.sort[2]!);
  return findings.map((f) => f.finding);
}

/** Analyze a port's bridges (object key order = precedence). Invalid rules are skipped (validation reports them). */
export function analyzeRoutes(bridges: Readonly<Record<string, Bridge>>, basePath = "bridges"): Finding[] {
  const names = Object.keys(bridges);
  const conds = names.map((name) => ({
    rules: bridges[name]!.rules.map((rule, r) => toConditions(rule, `${basePath}.${name}.rules[${r}]`, [] as RuleIssue[])),
  }));
  return analyzeConditions(names, conds, basePath);
}

export interface PortFinding extends Finding {
  port: number;
}

/** Analyze every proxy port of a configuration; paths start with `proxy[i]`. */
export function analyzeConfig(config: {
  proxy: readonly { port: number; bridges: Readonly<Record<string, Bridge>> }[];
}): PortFinding[] {
  return config.proxy.flatMap((p, i) => analyzeRoutes(p.bridges, `proxy[${i}].bridges`).map((f) => ({ ...f, port: p.port })));
}
