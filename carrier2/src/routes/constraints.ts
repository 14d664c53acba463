/**
 * Rules as constraints on request fields, for analysis. A rule is an AND of conditions; grouped by the
 * field they read they become independent constraint sets:
 * - single-valued fields: the method, the request target (path and query), each header by name;
 * - multi-valued fields: each query parameter, cookie and baggage key, where every condition is
 *   "some occurrence satisfies it" (so `x=1` and `x=2` can both hold: `?x=1&x=2`).
 * Exact, prefix, present and literal-regex constraints are reasoned about exactly; other regexes are
 * opaque ("may hold, implies nothing"), which makes a conclusion `unknown` rather than wrong.
 * Fields that read the same bytes (the target and its query, the `cookie`/`baggage` headers and their
 * members) are decided exactly when the shared source is fixed by an `exact` condition; otherwise a
 * witness appends members to it, which never breaks a condition (there are no negative conditions).
 *
 * The request space is what Carrier2 can receive: a target starting with `/` without whitespace or
 * control characters; header values without control characters or surrounding whitespace; header names
 * that are HTTP tokens. A condition outside it can never hold.
 */
import { MatchInput } from "./facts.ts";
import type { Condition } from "./model.ts";
import { regexShape } from "./regex-shape.ts";

/** One condition as a constraint on one string. `regex` is an opaque pattern. */
export type Lit =
  | { op: "exact" | "prefix" | "contains"; value: string }
  | { op: "present" }
  | { op: "regex"; re: RegExp; source: string; prefix: string; all: boolean };

/** The conjunction of the constraints on one string. */
export interface Single {
  exact?: string;
  /** Every value starts with this ("/" for the target). */
  prefix: string;
  /** Every value contains these (none contained in `prefix`). */
  contains: string[];
  /** Opaque patterns every value must match (distinct sources, none matching everything). */
  regexes: Extract<Lit, { op: "regex" }>[];
  /** Set when no value satisfies the constraints: why. */
  unsat?: string;
}

export type Status = "sat" | "unsat" | "unknown";

/**
 * Fields that may occur more than once, each condition needing one occurrence: query parameters,
 * cookies, baggage members, and headers whose name matches a pattern (`matchHeader` type regex).
 */
export type MultiKind = "query" | "cookie" | "baggage" | "pattern";

export interface MultiField {
  kind: MultiKind;
  /** Parameter/cookie name, baggage key, or the (case-folded) header name pattern's source. */
  key: string;
  /** One Single per condition, or one for all of them when they must share an occurrence. */
  atoms: Single[];
  /** For `pattern`: the header name pattern. */
  name?: RegExp;
}

export interface Shape {
  conds: readonly Condition[];
  method: Single;
  target: Single;
  headers: Map<string, Single>;
  /** By `multiKey(kind, key)`. */
  multi: Map<string, MultiField>;
  status: Status;
  /** When `status` is unsat: why. */
  why?: string;
}

const litCache = new WeakMap<Condition, Lit>();

export function litOf(c: Condition): Lit {
  let lit = litCache.get(c);
  if (lit) return lit;
  if (c.op === "present") lit = { op: "present" };
  else if (c.op === "regex") {
    const re = c.valueRegex!;
    const shape = regexShape(c.value, re);
    lit =
      shape.form === "opaque"
        ? { op: "regex", re, source: c.value, prefix: shape.prefix, all: shape.matchesAll }
        : { op: shape.form, value: shape.literal };
  } else lit = { op: c.op, value: c.value };
  litCache.set(c, lit);
  return lit;
}

export function testLit(lit: Lit, v: string): boolean {
  switch (lit.op) {
    case "exact":
      return v === lit.value;
    case "prefix":
      return v.startsWith(lit.value);
    case "contains":
      return v.includes(lit.value);
    case "present":
      return true;
    case "regex":
      return lit.re.test(v);
  }
}

// ── what can be sent ─────────────────────────────────────────────────────────────────────────────────

/** Characters a header value can carry (Node decodes field bytes as latin1; no controls but TAB). */
const HEADER_CHARS = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET_CHARS = /^[\x21-\x7e\x80-\xff]*$/;
const TOKEN = /^:?[!#$%&'*+\-.^_`|~0-9a-z]+$/;

type ValueSpace = "target" | "header" | "cookie" | "any";

/** Could this request be sent to Carrier2 over HTTP/1.1 as it is? */
export function sendable(req: { method: string; path: string; headers: Readonly<Record<string, string>> }): boolean {
  if (!/^[A-Z]+$/.test(req.method) || !req.path.startsWith("/") || !TARGET_CHARS.test(req.path)) return false;
  for (const [name, value] of Object.entries(req.headers)) {
    if (!TOKEN.test(name) || name.startsWith(":") || !HEADER_CHARS.test(value) || /^[ \t]|[ \t]$/.test(value)) return false;
  }
  return true;
}

function q(s: string): string {
  return JSON.stringify(s);
}

/** Why `lit` cannot hold for any value of this space, or undefined. */
function outsideSpace(lit: Lit, space: ValueSpace): string | undefined {
  if (lit.op !== "exact" && lit.op !== "prefix" && lit.op !== "contains") return undefined;
  const v = lit.value;
  switch (space) {
    case "target":
      return TARGET_CHARS.test(v) ? undefined : `request targets contain no whitespace or control characters: ${q(v)}`;
    case "header":
      if (!HEADER_CHARS.test(v)) return `header values carry no control characters and nothing beyond latin-1: ${q(v)}`;
      if (lit.op !== "contains" && /^[ \t]/.test(v)) return `HTTP strips leading whitespace from header values: ${q(v)}`;
      if (lit.op === "exact" && /[ \t]$/.test(v)) return `HTTP strips trailing whitespace from header values: ${q(v)}`;
      return undefined;
    case "cookie":
      if (!HEADER_CHARS.test(v) || v.includes(";")) return `cookie values carry no ';', no control characters and nothing beyond latin-1: ${q(v)}`;
      return undefined;
    case "any":
      return undefined;
  }
}

/** Why a field name can never be present, or undefined. */
function badName(kind: Condition["kind"], key: string): string | undefined {
  switch (kind) {
    case "header":
      return TOKEN.test(key) ? undefined : `${q(key)} is not a valid header name`;
    case "cookie":
      return key === key.trim() && HEADER_CHARS.test(key) && !/[=;]/.test(key) ? undefined : `${q(key)} is not a valid cookie name`;
    case "baggage":
      return key === key.trim() && HEADER_CHARS.test(key) && !/[=;,]/.test(key) ? undefined : `${q(key)} is not a valid baggage key`;
    default:
      return undefined;
  }
}

// ── one string ───────────────────────────────────────────────────────────────────────────────────────

function describeLit(lit: Lit): string {
  switch (lit.op) {
    case "exact":
      return `equal ${q(lit.value)}`;
    case "prefix":
      return `start with ${q(lit.value)}`;
    case "contains":
      return `contain ${q(lit.value)}`;
    case "present":
      return "be present";
    case "regex":
      return `match /${lit.source}/`;
  }
}

/** The conjunction of `lits` on one string of `space`; `base` is a prefix every value has. */
export function normalize(lits: readonly Lit[], space: ValueSpace, base = ""): Single {
  const s: Single = { prefix: base, contains: [], regexes: [] };
  const fail = (why: string): Single => ({ ...s, unsat: why });
  const addPrefix = (p: string): string | undefined => {
    if (p.startsWith(s.prefix)) s.prefix = p;
    else if (!s.prefix.startsWith(p)) {
      return s.prefix === base ? `always starts with ${q(base)}, never with ${q(p)}` : `cannot both start with ${q(s.prefix)} and ${q(p)}`;
    }
    return undefined;
  };
  for (const lit of lits) {
    const outside = outsideSpace(lit, space);
    if (outside) return fail(outside);
    if (lit.op === "exact") {
      if (s.exact !== undefined && s.exact !== lit.value) return fail(`cannot equal both ${q(s.exact)} and ${q(lit.value)}`);
      s.exact = lit.value;
    } else if (lit.op === "prefix") {
      const why = addPrefix(lit.value);
      if (why) return fail(why);
    } else if (lit.op === "contains") {
      s.contains.push(lit.value);
    } else if (lit.op === "regex") {
      const why = addPrefix(lit.prefix);
      if (why) return fail(why);
      if (!lit.all && !s.regexes.some((r) => r.source === lit.source)) s.regexes.push(lit);
    }
  }
  if (s.exact !== undefined) {
    const e = s.exact;
    if (!e.startsWith(s.prefix)) return fail(`${q(e)} does not start with ${q(s.prefix)}`);
    for (const lit of lits) if (!testLit(lit, e)) return fail(`${q(e)} does not ${describeLit(lit)}`);
    return { exact: e, prefix: e, contains: [], regexes: [] };
  }
  s.contains = s.contains.filter(
    (t, i) => !s.prefix.includes(t) && !s.contains.some((u, j) => (u.includes(t) && u !== t) || (u === t && j < i)),
  );
  return s;
}

/** Does every value satisfying `s` satisfy `lit`? True only when proven. */
export function impliesLit(s: Single, lit: Lit): boolean {
  if (s.unsat) return true;
  if (s.exact !== undefined) return testLit(lit, s.exact);
  switch (lit.op) {
    case "present":
      return true;
    case "exact":
      return false;
    case "prefix":
      return s.prefix.startsWith(lit.value);
    case "contains":
      return s.prefix.includes(lit.value) || s.contains.some((t) => t.includes(lit.value));
    case "regex":
      return lit.all || s.regexes.some((r) => r.source === lit.source);
  }
}

function singleStatus(s: Single): Status {
  if (s.unsat) return "unsat";
  return s.regexes.length > 0 ? "unknown" : "sat";
}

// ── a rule ───────────────────────────────────────────────────────────────────────────────────────────

const SPACE_OF: Record<MultiKind, ValueSpace> = { query: "any", cookie: "cookie", baggage: "any", pattern: "header" };
/** The header a multi-valued field is read from (the query comes from the target). */
export const SOURCE_HEADER: Record<"cookie" | "baggage", string> = { cookie: "cookie", baggage: "baggage" };

export function multiKey(kind: MultiKind, key: string): string {
  return `${kind}\u0000${key}`;
}

/** The values of one multi-valued field when its source is fixed. */
function valuesFrom(kind: "query" | "cookie" | "baggage", key: string, source: string): readonly string[] {
  const input = new MatchInput({ method: "GET", target: kind === "query" ? source : "/", headers: { [kind]: source } });
  return kind === "query" ? input.query(key) : kind === "cookie" ? input.cookie(key) : input.baggage(key);
}

/** The source of a multi-valued field when an exact condition fixes it. */
function fixedSource(shape: Pick<Shape, "target" | "headers">, kind: MultiKind): string | undefined {
  if (kind === "pattern") return undefined;
  return kind === "query" ? shape.target.exact : shape.headers.get(SOURCE_HEADER[kind])?.exact;
}

const nameCache = new WeakMap<Condition, string | null>();

/** A header name pattern that is one literal name (`^x-gefyra$`): that name, lower-cased. */
export function literalHeaderName(c: Condition): string | undefined {
  let name = nameCache.get(c);
  if (name === undefined) {
    // `key` is the pattern lower-cased; a literal stays literal, anything else stays non-literal.
    const shape = regexShape(c.key, c.keyRegex!);
    name = shape.form === "exact" ? shape.literal.toLowerCase() : null;
    nameCache.set(c, name);
  }
  return name ?? undefined;
}

/** The field a condition reads: a single-valued one, or a multi-valued one by `multiKey`. */
function fieldOf(c: Condition): { single: "method" | "target" | string; multi?: undefined } | { multi: [MultiKind, string] } {
  if (c.kind === "method") return { single: "method" };
  if (c.kind === "path") return { single: "target" };
  if (c.kind === "header") {
    if (!c.keyRegex) return { single: `header\u0000${c.key}` };
    const name = literalHeaderName(c);
    return name === undefined ? { multi: ["pattern", c.keyRegex.source] } : { single: `header\u0000${name}` };
  }
  return { multi: [c.kind, c.key] };
}

/** Could a header name matching this pattern be sent? (Literal patterns: yes, when a token.) */
function patternNameStatus(c: Condition): Status {
  const shape = regexShape(c.key, c.keyRegex!);
  return shape.form !== "opaque" && TOKEN.test(shape.literal) && !shape.literal.startsWith(":") ? "sat" : "unknown";
}

/**
 * Group a rule's conditions (or two rules' together) by field and decide what can be decided.
 * Multi-valued fields named in `once` (by `multiKey`) must be satisfied by one occurrence.
 */
export function shapeOf(conds: readonly Condition[], once?: ReadonlySet<string>): Shape {
  const singles = new Map<string, Lit[]>([
    ["method", []],
    ["target", []],
  ]);
  const multiLits = new Map<string, { kind: MultiKind; key: string; lits: Lit[]; name?: RegExp; status: Status }>();
  let why: string | undefined;
  for (const c of conds) {
    const field = fieldOf(c);
    const lit = litOf(c);
    if (field.multi === undefined) {
      const name = field.single.startsWith("header\u0000") ? field.single.slice(7) : undefined;
      if (name !== undefined) why ??= badName("header", name);
      const list = singles.get(field.single);
      if (list) list.push(lit);
      else singles.set(field.single, [lit]);
      continue;
    }
    const [kind, key] = field.multi;
    if (kind !== "pattern") why ??= badName(kind, key);
    const id = multiKey(kind, key);
    const entry = multiLits.get(id);
    if (entry) entry.lits.push(lit);
    else {
      const status = kind === "pattern" ? patternNameStatus(c) : "sat";
      multiLits.set(id, { kind, key, lits: [lit], status, ...(kind === "pattern" ? { name: c.keyRegex! } : {}) });
    }
  }
  const shape: Shape = {
    conds,
    method: normalize(singles.get("method")!, "any"),
    target: normalize(singles.get("target")!, "target", "/"),
    headers: new Map(),
    multi: new Map(),
    status: "sat",
  };
  for (const [id, lits] of singles) {
    if (id.startsWith("header\u0000")) shape.headers.set(id.slice(7), normalize(lits, "header"));
  }
  const statuses: Status[] = [singleStatus(shape.method), singleStatus(shape.target)];
  const note = (s: Status, reason: string) => {
    statuses.push(s);
    if (s === "unsat") why ??= reason;
  };
  if (shape.method.unsat) why ??= `the method ${shape.method.unsat}`;
  if (shape.target.unsat) why ??= `the path ${shape.target.unsat}`;
  for (const [name, s] of shape.headers) note(singleStatus(s), `header ${name}: ${s.unsat}`);
  for (const [id, { kind, key, lits, name, status }] of multiLits) {
    const space = SPACE_OF[kind];
    const atoms = once?.has(id) ? [normalize(lits, space)] : lits.map((lit) => normalize([lit], space));
    shape.multi.set(id, { kind, key, atoms, ...(name ? { name } : {}) });
    statuses.push(status);
    const label = kind === "pattern" ? `a header matching /${key}/` : `${kind} ${key}`;
    for (const a of atoms) note(singleStatus(a), `${label}: ${a.unsat}`);
    const source = fixedSource(shape, kind);
    if (source !== undefined && kind !== "pattern") {
      const values = valuesFrom(kind, key, source);
      const missing = lits.find((lit) => !values.some((v) => testLit(lit, v)));
      if (missing) note("unsat", `${kind} ${key} must ${describeLit(missing)}, but the exact ${kind === "query" ? "path" : `${kind} header`} ${q(source)} fixes it`);
    }
  }
  if (why !== undefined || statuses.includes("unsat")) {
    shape.status = "unsat";
    shape.why = why ?? "contradictory conditions";
  } else shape.status = statuses.includes("unknown") ? "unknown" : "sat";
  return shape;
}

/** Does every request satisfying `x` satisfy condition `c`? True only when proven. */
export function implies(x: Shape, c: Condition): boolean {
  if (x.status === "unsat") return true;
  const lit = litOf(c);
  const field = fieldOf(c);
  if (field.multi === undefined) {
    if (field.single === "method") return impliesLit(x.method, lit);
    if (field.single === "target") return impliesLit(x.target, lit);
    const name = field.single.slice(7);
    const s = x.headers.get(name);
    if (s) return impliesLit(s, lit);
    // A cookie/baggage member condition needs its header.
    if (lit.op !== "present") return false;
    for (const { kind } of x.multi.values()) if ((kind === "cookie" || kind === "baggage") && SOURCE_HEADER[kind] === name) return true;
    return false;
  }
  const [kind, key] = field.multi;
  const source = fixedSource(x, kind);
  if (source !== undefined && kind !== "pattern") return valuesFrom(kind, key, source).some((v) => testLit(lit, v));
  const entry = x.multi.get(multiKey(kind, key));
  if (entry?.atoms.some((a) => impliesLit(a, lit))) return true;
  if (kind !== "pattern") return false;
  // A header x guarantees, whose name matches the pattern, with values that satisfy the value pattern.
  for (const [name, s] of x.headers) if (c.keyRegex!.test(name) && impliesLit(s, lit)) return true;
  return false;
}

/** Does every request satisfying `x` satisfy every condition of `conds` (x ⊆ conds)? Proven only. */
export function subsumedBy(x: Shape, conds: readonly Condition[]): boolean {
  for (const c of conds) if (!implies(x, c)) return false;
  return true;
}

/** Is condition `c` true of every request? */
export function alwaysTrue(c: Condition): boolean {
  return c.kind === "path" && impliesLit(normalize([], "target", "/"), litOf(c));
}
