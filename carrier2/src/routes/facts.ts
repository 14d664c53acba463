/**
 * Reading request facts the way rules see them. One definition, used by the compiled matcher and the
 * reference evaluator alike. Parsing that only some rules need (query, cookies, baggage) is done lazily
 * and at most once per request.
 */
import type { RequestFacts } from "./model.ts";

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Node hands header bytes over as latin1 strings; clients send UTF-8. A value with non-ASCII bytes is
 * read as UTF-8 so that a rule written `value: café` matches what a client sends for it.
 */
export function asUtf8(v: string): string {
  return NON_ASCII.test(v) ? Buffer.from(v, "latin1").toString("utf8") : v;
}

/** An ASCII string reads as itself: `asUtf8(v) === v`. */
export function isAscii(v: string): boolean {
  return !NON_ASCII.test(v);
}

/** A header's value as Node delivers it, before `asUtf8` (repeated fields joined with ", "). */
export function rawHeaderValue(facts: RequestFacts, lowerName: string): string | undefined {
  const v = facts.headers[lowerName];
  if (typeof v === "string") return v;
  // Not `v ?? undefined`: a plain-object header map answers `constructor` or `__proto__` from its prototype.
  return Array.isArray(v) ? v.join(", ") : undefined;
}

/** A header's value as one string (repeated fields joined with ", " as RFC 9110 §5.3 allows). */
export function headerValue(facts: RequestFacts, lowerName: string): string | undefined {
  const v = rawHeaderValue(facts, lowerName);
  return v === undefined ? undefined : asUtf8(v);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Append one occurrence of a repeatable field. */
function addValue(out: Map<string, string[]>, name: string, value: string): void {
  const list = out.get(name);
  if (list) list.push(value);
  else out.set(name, [value]);
}

function parseQuery(target: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const q = target.indexOf("?");
  if (q < 0) return out;
  for (const [name, value] of new URLSearchParams(target.slice(q + 1))) {
    addValue(out, name, value);
  }
  return out;
}

function parseCookies(header: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    addValue(out, name, value);
  }
  return out;
}

/** W3C Baggage: `key=value;prop, key2=value2`; values are percent-encoded. */
function parseBaggage(header: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!header) return out;
  for (const member of header.split(",")) {
    const semi = member.indexOf(";");
    const kv = semi < 0 ? member : member.slice(0, semi);
    const eq = kv.indexOf("=");
    if (eq < 0) continue;
    const key = kv.slice(0, eq).trim();
    const value = safeDecode(kv.slice(eq + 1).trim());
    addValue(out, key, value);
  }
  return out;
}

const NONE: readonly string[] = Object.freeze([]);

/** Per-request view with lazily parsed query, cookies and baggage. Create one per request. */
export class MatchInput {
  readonly facts: RequestFacts;
  #query: Map<string, string[]> | undefined;
  #cookies: Map<string, string[]> | undefined;
  #baggage: Map<string, string[]> | undefined;

  constructor(facts: RequestFacts) {
    this.facts = facts;
  }

  header(lowerName: string): string | undefined {
    return headerValue(this.facts, lowerName);
  }

  query(name: string): readonly string[] {
    this.#query ??= parseQuery(this.facts.target);
    return this.#query.get(name) ?? NONE;
  }

  cookie(name: string): readonly string[] {
    this.#cookies ??= parseCookies(headerValue(this.facts, "cookie"));
    return this.#cookies.get(name) ?? NONE;
  }

  baggage(key: string): readonly string[] {
    this.#baggage ??= parseBaggage(headerValue(this.facts, "baggage"));
    return this.#baggage.get(key) ?? NONE;
  }
}
