/**
 * Example requests: a request satisfying a Shape (one rule, or two rules' conditions together), built
 * from its constraints and then checked with `testCondition`, so an example is never wrong — at worst
 * there is none.
 */
import { testCondition } from "./conditions.ts";
import { type Lit, type Shape, type Single, SOURCE_HEADER, sendable, testLit } from "./constraints.ts";
import { MatchInput } from "./facts.ts";
import type { Condition } from "./model.ts";
import { sampleRegex } from "./regex-shape.ts";

export interface ExampleRequest {
  method: string;
  /** Request target: path and query. */
  path: string;
  /** Lower-case names. */
  headers: Record<string, string>;
}

/** The constraints of a Single as lits, to test candidates. */
function litsOf(s: Single): Lit[] {
  const lits: Lit[] = [{ op: "prefix", value: s.prefix }, ...s.regexes];
  for (const t of s.contains) lits.push({ op: "contains", value: t });
  return lits;
}

/** A value satisfying `s`, or undefined. `header` values must not start or end with whitespace. */
function valueFor(s: Single, header: boolean, empty = ""): string | undefined {
  if (s.unsat) return undefined;
  if (s.exact !== undefined) return s.exact;
  const samples = s.regexes.map((r) => sampleRegex(r.source, r.re) ?? "");
  const rest = s.contains.join("");
  const candidates = [s.prefix + rest + samples.join("")];
  for (const sample of samples) {
    if (sample.startsWith(s.prefix)) candidates.push(sample + rest + samples.filter((x) => x !== sample).join(""));
  }
  candidates.push(samples.join("") + rest);
  const lits = litsOf(s);
  for (let c of candidates) {
    if (c === "" && s.regexes.length === 0) c = empty;
    if (header && /^[ \t]/.test(c) && s.prefix === "") c = `x${c}`;
    if (header && /[ \t]$/.test(c)) c = `${c}x`;
    if (lits.every((lit) => testLit(lit, c))) return c;
  }
  return undefined;
}

function cookieValue(v: string): string {
  return /^[ \t]|[ \t]$/.test(v) || (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) ? `"${v}"` : v;
}

function member(kind: "query" | "cookie" | "baggage", key: string, value: string): string {
  if (kind === "query") return `${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
  if (kind === "cookie") return `${key}=${cookieValue(value)}`;
  return `${key}=${encodeURIComponent(value)}`;
}

/** Build a request satisfying `shape`; undefined when none was found. */
function build(shape: Shape): ExampleRequest | undefined {
  const method = shape.method.exact ?? "GET";
  const members = { query: [] as string[], cookie: [] as string[], baggage: [] as string[] };
  for (const { kind, key, atoms } of shape.multi.values()) {
    if (kind === "pattern") continue;
    for (const a of atoms) {
      const v = valueFor(a, false, "1");
      if (v === undefined) return undefined;
      members[kind].push(member(kind, key, v));
    }
  }
  const headers: Record<string, string> = {};
  for (const [name, s] of shape.headers) {
    const carriesMembers = (name === "cookie" || name === "baggage") && members[name].length > 0;
    const v = valueFor(s, true, carriesMembers ? "" : "1");
    if (v === undefined) return undefined;
    headers[name] = v;
  }
  let target = valueFor(shape.target, false);
  if (target === undefined) return undefined;
  // Members are appended to their source unless an exact condition fixes it (then it already has them).
  if (members.query.length > 0 && shape.target.exact === undefined) {
    target += (target.includes("?") ? "&" : "?") + members.query.join("&");
  }
  for (const kind of ["cookie", "baggage"] as const) {
    const name = SOURCE_HEADER[kind];
    if (members[kind].length === 0 || shape.headers.get(name)?.exact !== undefined) continue;
    const parts = headers[name] ? [headers[name], ...members[kind]] : members[kind];
    headers[name] = parts.join(kind === "cookie" ? "; " : ", ");
  }
  for (const field of shape.multi.values()) {
    if (field.kind === "pattern" && !addPatternHeaders(field.name!, field.atoms, headers)) return undefined;
  }
  return { method, path: target, headers };
}

function fits(s: Single, v: string): boolean {
  return s.exact !== undefined ? v === s.exact : litsOf(s).every((lit) => testLit(lit, v));
}

/** One header per atom whose name matches `name` (an existing one when it fits). */
function addPatternHeaders(name: RegExp, atoms: readonly Single[], headers: Record<string, string>): boolean {
  const used = new Set<string>();
  const base = sampleRegex(name.source, name)?.toLowerCase();
  for (const atom of atoms) {
    const existing = Object.keys(headers).find((h) => !used.has(h) && name.test(h) && fits(atom, headers[h]!));
    if (existing !== undefined) {
      used.add(existing);
      continue;
    }
    const value = valueFor(atom, true, "1");
    if (value === undefined || base === undefined) return false;
    const fresh = [base, `${base}-2`, `${base}-3`, `x-${base}`].find((h) => !(h in headers) && name.test(h));
    if (fresh === undefined) return false;
    headers[fresh] = value;
    used.add(fresh);
  }
  return true;
}

/** Does `example` satisfy every condition in every list? */
export function satisfiesAll(example: ExampleRequest, ...lists: (readonly Condition[])[]): boolean {
  const input = new MatchInput({ method: example.method, target: example.path, headers: example.headers });
  return lists.every((conds) => conds.every((c) => testCondition(c, input)));
}

/** A verified example request for `shape`, or undefined. */
export function exampleFor(shape: Shape): ExampleRequest | undefined {
  if (shape.status === "unsat") return undefined;
  let example: ExampleRequest | undefined;
  try {
    example = build(shape);
  } catch {
    return undefined; // e.g. a lone surrogate that cannot be percent-encoded
  }
  return example && sendable(example) && satisfiesAll(example, shape.conds) ? example : undefined;
}
