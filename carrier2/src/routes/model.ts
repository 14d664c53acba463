/**
 * The route model: the shapes developers write (Gefyra Carrier2 v1 rules plus Carrier2 extensions).
 *
 * Semantics (the one definition; `reference.ts` is its executable form):
 * - A bridge hits when ANY of its `rules` hits (OR); a rule hits when ALL of its `match` items hit (AND).
 * - Precedence: the first bridge in config order whose rules hit wins (Gefyra). See `precedence.ts`.
 * - `matchPath` tests the request target's path AND query, raw as received (`/p?x=1`).
 * - Header names, cookie names, query names and baggage keys: header names compare case-insensitively,
 *   the others case-sensitively. Values always compare case-sensitively.
 */

export type PathMatchType = "exact" | "prefix" | "regex";
export type HeaderMatchType = "exact" | "prefix" | "regex" | "present";
export type ValueMatchType = "exact" | "regex" | "present";

export interface MatchPath {
  path: string;
  /** Default `prefix`. */
  type?: PathMatchType;
}

export interface MatchHeader {
  name: string;
  /** Required unless `type: present`. */
  value?: string;
  /** Default `exact`. With `regex`, `name` is a regex too (Gefyra). */
  type?: HeaderMatchType;
}

export interface MatchQuery {
  name: string;
  value?: string;
  /** Default `exact`. Hits when any occurrence of the parameter hits. */
  type?: ValueMatchType;
}

export interface MatchMethod {
  method: string;
}

export interface MatchCookie {
  name: string;
  value?: string;
  type?: ValueMatchType;
}

/** A member of the W3C `baggage` header (`key=value`), propagated by tracing libraries across hops. */
export interface MatchBaggage {
  key: string;
  value?: string;
  type?: ValueMatchType;
}

export type MatchItem =
  | { matchPath: MatchPath }
  | { matchHeader: MatchHeader }
  | { matchQuery: MatchQuery }
  | { matchMethod: MatchMethod }
  | { matchCookie: MatchCookie }
  | { matchBaggage: MatchBaggage };

export interface Rule {
  match: MatchItem[];
}

export type BridgeFallback = "error" | "cluster";

export interface Bridge {
  /** `host:port` of that developer's endpoint. */
  endpoint: string;
  /** Upstream TLS toward the endpoint. Default: the proxy port's tls (Gefyra). */
  tls?: boolean;
  /** SNI toward the endpoint. Default: the proxy port's `tls.sni`. */
  sni?: string;
  /** What to do when the endpoint is unreachable: `error` (502, default) or `cluster`. */
  fallback?: BridgeFallback;
  rules: Rule[];
}

/** The kinds of condition a match item compiles to. */
export type ConditionKind = "path" | "header" | "query" | "method" | "cookie" | "baggage";
export type ConditionOp = "exact" | "prefix" | "regex" | "present";

/** A normalized condition: what every consumer (compiler, reference evaluator, analysis) works on. */
export interface Condition {
  kind: ConditionKind;
  /** Header name (lower-cased), query/cookie name, baggage key; `""` for path and method. */
  key: string;
  op: ConditionOp;
  /** The literal or the regex source; `""` for `present`. */
  value: string;
  /** Compiled value pattern for `regex` (linear-time engine). */
  valueRegex?: RegExp;
  /** Header regex rules match the header NAME by regex too (case-insensitive). */
  keyRegex?: RegExp;
}

/** Everything the matcher needs from a request. Header names are lower-case (as Node delivers them). */
export interface RequestFacts {
  method: string;
  /** Request target: path and query, raw (origin-form). */
  target: string;
  /** Values as Node delivers them: each byte one latin1 character (matching reads non-ASCII as UTF-8). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Which bridge (by config order) and which of its rules decided a request. */
export interface RouteHit {
  bridge: number;
  rule: number;
}
