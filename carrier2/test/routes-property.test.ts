/**
 * Properties over random rules and requests (small alphabets, so that hits are frequent):
 * - the compiled matcher decides exactly like the plain reference evaluator;
 * - analysis never claims a shadowed rule, duplicate or catch-all that a request disproves, and every
 *   example it gives hits both rules it names.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  analyzeConditions,
  type BridgeConditions,
  type Condition,
  compileMatcher,
  evaluateReference,
  type MatchItem,
  MatchInput,
  type RequestFacts,
  type RuleIssue,
  testCondition,
  toConditions,
} from "../src/routes/index.ts";
import { sendable, shapeOf } from "../src/routes/constraints.ts";
import { exampleFor } from "../src/routes/witness.ts";

// ── rules ────────────────────────────────────────────────────────────────────────────────────────────

const values = ["a", "b", "ab", "1", "2", "", "a b"];
const regexes = ["^a", "a|b", "b$", ".*", "^/a", "x=1", "^(a+)+$", "[ab]+", "^$", "^/a$", "a", "^a$", "\\?x=", "^/a/?$", "(?<=a)b", "^[^a]", "^/a/b"];
const headerNames = ["x-gefyra", "X-Gefyra", "x-b", "cookie", "baggage", "constructor"];
const namePatterns = ["x-gefyra", "^x-", "^X-B$", "x-.*", "^cookie$", "b"];

const exactOrPrefix = fc.constantFrom<"exact" | "prefix">("exact", "prefix");
const valueType = fc.constantFrom<"exact" | "regex" | "present">("exact", "regex", "present");

const pathItem: fc.Arbitrary<MatchItem> = fc.oneof(
  fc.record({ path: fc.constantFrom("/", "", "/a", "/a/b", "/ab", "/b", "/a?x=1", "/a?x=2", "a"), type: exactOrPrefix }),
  fc.record({ path: fc.constantFrom(...regexes), type: fc.constant("regex" as const) }),
).map((matchPath) => ({ matchPath }));

const headerItem: fc.Arbitrary<MatchItem> = fc.oneof(
  fc.record({ name: fc.constantFrom(...headerNames), value: fc.constantFrom(...values, "a=1", "k=a"), type: exactOrPrefix }),
  fc.record({ name: fc.constantFrom(...headerNames), type: fc.constant("present" as const) }),
  fc.record({ name: fc.constantFrom(...namePatterns), value: fc.constantFrom(...regexes), type: fc.constant("regex" as const) }),
).map((matchHeader) => ({ matchHeader }));

/** A value-typed item (query, cookie, baggage): a regex value for regex, none for present. */
function valued<K extends string>(names: string[], nameField: K) {
  return fc.record({ name: fc.constantFrom(...names), type: valueType, lit: fc.constantFrom(...values), re: fc.constantFrom(...regexes) }).map(
    ({ name, type, lit, re }) =>
      ({ [nameField]: name, type, ...(type === "present" ? {} : { value: type === "regex" ? re : lit }) }) as Record<K, string> & {
        type: "exact" | "regex" | "present";
        value?: string;
      },
  );
}

const item: fc.Arbitrary<MatchItem> = fc.oneof(
  pathItem,
  headerItem,
  valued(["x", "y"], "name").map((matchQuery) => ({ matchQuery })),
  fc.constantFrom("GET", "POST", "get").map((method) => ({ matchMethod: { method } })),
  valued(["c", "d"], "name").map((matchCookie) => ({ matchCookie })),
  valued(["k", "l"], "key").map((matchBaggage) => ({ matchBaggage })),
);

const bridgesArb = fc.array(fc.array(fc.array(item, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }), {
  minLength: 1,
  maxLength: 6,
});

function compile(bridges: MatchItem[][][]): BridgeConditions[] {
  return bridges.map((rules) => ({
    rules: rules.map((match) => {
      const issues: RuleIssue[] = [];
      const c = toConditions({ match }, "r", issues);
      if (!c) throw new Error(JSON.stringify(issues));
      return c;
    }),
  }));
}

// ── requests ─────────────────────────────────────────────────────────────────────────────────────────

const queryPart = fc
  .array(fc.tuple(fc.constantFrom("x", "y", "x-gefyra"), fc.constantFrom("1", "2", "a", "b", "a%20b", "a+b", "")), { maxLength: 3 })
  .map((pairs) => (pairs.length === 0 ? "" : `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`));

const cookieHeader = fc
  .array(fc.tuple(fc.constantFrom("c", "d", "e"), fc.constantFrom("a", "b", "ab", "1", '"a"', "")), { minLength: 1, maxLength: 3 })
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join("; "));

const baggageHeader = fc
  .array(fc.tuple(fc.constantFrom("k", "l", " k"), fc.constantFrom("a", "b", "a%20b", "1"), fc.constantFrom("", ";p=1")), { minLength: 1, maxLength: 3 })
  .map((members) => members.map(([k, v, p]) => `${k}=${v}${p}`).join(","));

const headerValue = fc.constantFrom("a", "b", "ab", "1", "2", "a b", "", "a=1", "k=a");

const requestArb: fc.Arbitrary<RequestFacts> = fc
  .record({
    method: fc.constantFrom("GET", "POST", "PUT"),
    path: fc.constantFrom("/", "/a", "/a/b", "/ab", "/b", "/x-gefyra=a", "/ba"),
    query: queryPart,
    gefyra: fc.option(fc.oneof(headerValue, fc.constant<string | string[]>(["a", "b"])), { nil: undefined }),
    xb: fc.option(headerValue, { nil: undefined }),
    xother: fc.option(headerValue, { nil: undefined }),
    cookie: fc.option(cookieHeader, { nil: undefined }),
    baggage: fc.option(baggageHeader, { nil: undefined }),
  })
  .map(({ method, path, query, gefyra, xb, xother, cookie, baggage }) => {
    const headers: Record<string, string | string[]> = {};
    if (gefyra !== undefined) headers["x-gefyra"] = gefyra;
    if (xb !== undefined) headers["x-b"] = xb;
    if (xother !== undefined) headers["x-gefyra-other"] = xother;
    if (cookie !== undefined) headers["cookie"] = cookie;
    if (baggage !== undefined) headers["baggage"] = baggage;
    return { method, target: path + query, headers };
  });

/** `ROUTES_PROPERTY_RUNS=20 npx vitest ...` multiplies the runs for a longer search. */
const SCALE = Number(process.env["ROUTES_PROPERTY_RUNS"] ?? 1);

const input = (facts: RequestFacts) => new MatchInput(facts);
const ruleHits = (conds: readonly Condition[], facts: RequestFacts) => {
  const i = input(facts);
  return conds.every((c) => testCondition(c, i));
};
const bridgeHits = (b: BridgeConditions, facts: RequestFacts) => b.rules.some((r) => ruleHits(r, facts));

// ── properties ───────────────────────────────────────────────────────────────────────────────────────

describe("route properties", () => {
  it("the compiled matcher agrees with the reference evaluator", () => {
    fc.assert(
      fc.property(bridgesArb, fc.array(requestArb, { minLength: 1, maxLength: 25 }), (raw, requests) => {
        const bridges = compile(raw);
        const matcher = compileMatcher(bridges);
        for (const facts of requests) {
          expect(matcher.match(input(facts))).toEqual(evaluateReference(bridges, input(facts)));
        }
      }),
      { numRuns: 400 * SCALE },
    );
  });

  it("the compiled matcher agrees with the reference on many bridges sharing header names and values", () => {
    const manyBridges = fc.array(
      fc.array(
        fc.tuple(fc.constantFrom("x-gefyra", "x-b"), fc.constantFrom("a", "b", "ab", "1"), fc.option(pathItem, { nil: undefined })).map(
          ([name, value, extra]): MatchItem[] => [{ matchHeader: { name, value } }, ...(extra ? [extra] : [])],
        ),
        { minLength: 1, maxLength: 2 },
      ),
      { minLength: 5, maxLength: 30 },
    );
    fc.assert(
      fc.property(manyBridges, fc.array(requestArb, { minLength: 1, maxLength: 25 }), (raw, requests) => {
        const bridges = compile(raw);
        const matcher = compileMatcher(bridges);
        for (const facts of requests) expect(matcher.match(input(facts))).toEqual(evaluateReference(bridges, input(facts)));
      }),
      { numRuns: 300 * SCALE },
    );
  });

  it("the compiled matcher agrees with the reference on header-only rules with non-ASCII values and bytes", () => {
    // The one-header fast path looks the raw value up before UTF-8 decoding it: values and raw headers mix
    // ASCII, "é" as text and as its UTF-8 bytes read as latin1, U+FFFD, and a char above U+00FF whose low
    // byte is "d" (never sent by Node, but the reference decodes it to "d").
    const text = fc.constantFrom("d", "dev-1", "é", "\u00c3\u00a9", "caf", "\ufffd", "\u0164", "\u00ff", ", ");
    const str = fc.array(text, { maxLength: 3 }).map((parts) => parts.join(""));
    const bridges = fc.array(
      fc.array(
        fc.tuple(str, fc.option(pathItem, { nil: undefined })).map(([value, extra]): MatchItem[] => [
          { matchHeader: { name: "x-gefyra", value } },
          ...(extra ? [extra] : []),
        ]),
        { minLength: 1, maxLength: 2 },
      ),
      { minLength: 1, maxLength: 4 },
    );
    const request = fc
      .record({ path: fc.constantFrom("/", "/a", "/ab"), gefyra: fc.option(fc.oneof(str, fc.array(str, { minLength: 1, maxLength: 2 })), { nil: undefined }) })
      .map(({ path, gefyra }): RequestFacts => ({ method: "GET", target: path, headers: gefyra === undefined ? {} : { "x-gefyra": gefyra } }));
    const example: [MatchItem[][][], RequestFacts[]] = [
      [[[{ matchHeader: { name: "x-gefyra", value: "d" } }]], [[{ matchHeader: { name: "x-gefyra", value: "dev-1" } }]]],
      ["d", "\u0164", "dev-1", "\u0164ev-1", "\u00c3\u00a9"].map((v) => ({ method: "GET", target: "/", headers: { "x-gefyra": v } })),
    ];
    fc.assert(
      fc.property(bridges, fc.array(request, { minLength: 1, maxLength: 25 }), (raw, requests) => {
        const compiled = compile(raw);
        const matcher = compileMatcher(compiled);
        for (const facts of requests) expect(matcher.match(input(facts))).toEqual(evaluateReference(compiled, input(facts)));
      }),
      { numRuns: 300 * SCALE, examples: [example] },
    );
  });

  it("analysis claims are never disproved by a request, and examples hit both rules", () => {
    let claims = 0;
    fc.assert(
      fc.property(bridgesArb, fc.array(requestArb, { minLength: 1, maxLength: 25 }), (raw, random) => {
        const bridges = compile(raw);
        const names = bridges.map((_, i) => `b${i}`);
        const findings = analyzeConditions(names, bridges);
        // Requests: random ones, one built for each rule, and the findings' examples.
        const requests: RequestFacts[] = [...random];
        for (const b of bridges) {
          for (const r of b.rules) {
            const ex = exampleFor(shapeOf(r));
            if (ex) requests.push({ method: ex.method, target: ex.path, headers: ex.headers });
          }
        }
        for (const f of findings) if (f.example) requests.push({ method: f.example.method, target: f.example.path, headers: f.example.headers });

        for (const f of findings) {
          const [x, y] = f.bridges.map((n) => Number(n.slice(1)));
          const rx = bridges[x!]!.rules[f.rules[0]]!;
          const ry = y === undefined ? undefined : bridges[y]!.rules[f.rules[1]!]!;
          if (f.example) {
            expect(sendable(f.example), JSON.stringify(f)).toBe(true);
            const facts = { method: f.example.method, target: f.example.path, headers: f.example.headers };
            expect(compileMatcher([{ rules: [rx] }]).match(input(facts)), `example misses ${f.bridges[0]}: ${JSON.stringify(f)}`).toBeDefined();
            if (ry) expect(compileMatcher([{ rules: [ry] }]).match(input(facts)), `example misses ${f.bridges[1]}: ${JSON.stringify(f)}`).toBeDefined();
          }
          if (f.kind === "overlap") continue;
          claims++;
          for (const facts of requests) {
            const why = `${JSON.stringify(f)} disproved by ${JSON.stringify(facts)}`;
            if (f.kind === "catch-all") expect(ruleHits(rx, facts), why).toBe(true);
            else if (f.kind === "duplicate") expect(bridgeHits(bridges[x!]!, facts), why).toBe(bridgeHits(bridges[y!]!, facts));
            else if (ry) expect(!ruleHits(rx, facts) || ruleHits(ry, facts), why).toBe(true);
            else expect(ruleHits(rx, facts), why).toBe(false);
          }
        }
      }),
      { numRuns: 600 * SCALE },
    );
    expect(claims).toBeGreaterThan(50); // the generators do produce shadowed rules, duplicates and catch-alls
  });

  it("without regexes analysis is exact: two bridges hit by one request are always reported, never conservatively", () => {
    const plainItem: fc.Arbitrary<MatchItem> = fc.oneof(
      fc.record({ path: fc.constantFrom("/", "/a", "/a/b", "/ab", "/b", "/a?x=1"), type: exactOrPrefix }).map((matchPath) => ({ matchPath })),
      fc.constantFrom("GET", "POST").map((method) => ({ matchMethod: { method } })),
      fc.record({ name: fc.constant("x-gefyra"), value: fc.constantFrom("a", "b", "ab"), type: exactOrPrefix }).map((matchHeader) => ({ matchHeader })),
      fc.constant({ matchHeader: { name: "x-gefyra", type: "present" as const } }),
    );
    const plainBridges = fc.array(fc.array(fc.array(plainItem, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 2 }), { minLength: 2, maxLength: 5 });
    fc.assert(
      fc.property(plainBridges, fc.array(requestArb, { minLength: 1, maxLength: 25 }), (raw, requests) => {
        const bridges = compile(raw);
        const names = bridges.map((_, i) => `b${i}`);
        const findings = analyzeConditions(names, bridges);
        expect(findings.filter((f) => f.conservative)).toEqual([]);
        const related = (a: string, b: string) =>
          findings.some((f) => (f.bridges[0] === b && f.bridges[1] === a) || (f.kind === "catch-all" && (f.bridges[0] === a || f.bridges[0] === b)));
        // A bridge whose every hit rule is reported as never firing (shadowed, or a duplicate) loses the request anyway.
        const lost = (b: number, facts: RequestFacts) =>
          findings.some((f) => f.kind === "duplicate" && f.bridges[0] === names[b]) ||
          bridges[b]!.rules.every((r, i) => !ruleHits(r, facts) || findings.some((f) => f.kind === "shadowed" && f.bridges[0] === names[b] && f.rules[0] === i));
        for (const facts of requests) {
          const hit = bridges.map((b) => bridgeHits(b, facts));
          for (let b = 1; b < bridges.length; b++) {
            for (let a = 0; a < b; a++) {
              if (!hit[a] || !hit[b] || lost(a, facts) || lost(b, facts)) continue;
              expect(related(names[a]!, names[b]!), `${names[a]} and ${names[b]} both hit by ${JSON.stringify(facts)}`).toBe(true);
            }
          }
        }
      }),
      { numRuns: 400 * SCALE },
    );
  });
});
