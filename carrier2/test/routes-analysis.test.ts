/** Route analysis: a table of configurations and the findings they must (and must not) produce. */
import { describe, expect, it } from "vitest";
import {
  analyzeConfig,
  analyzeRoutes,
  type Bridge,
  compileMatcher,
  type Finding,
  type MatchItem,
  MatchInput,
  type RuleIssue,
  toConditions,
} from "../src/routes/index.ts";

const header = (value: string, name = "x-gefyra"): MatchItem => ({ matchHeader: { name, value } });
const path = (p: string, type: "exact" | "prefix" | "regex" = "prefix"): MatchItem => ({ matchPath: { path: p, type } });
const method = (m: string): MatchItem => ({ matchMethod: { method: m } });
const regexHeader = (name: string, value: string): MatchItem => ({ matchHeader: { name, value, type: "regex" } });
const bridge = (...rules: MatchItem[][]): Bridge => ({ endpoint: "dev:8080", rules: rules.map((match) => ({ match })) });

/** What a finding is about, without the prose. */
function brief(f: Finding): string {
  return `${f.kind} ${f.bridges.join("<")} ${f.rules.join("<")}${f.conservative ? " conservative" : ""}${f.example ? " +example" : ""}`;
}

/** Every example must hit both rules it names, through the compiled matcher. */
function checkExamples(bridges: Record<string, Bridge>, findings: Finding[]): void {
  for (const f of findings) {
    if (!f.example) continue;
    const input = () => new MatchInput({ method: f.example!.method, target: f.example!.path, headers: f.example!.headers });
    f.bridges.forEach((name, i) => {
      const issues: RuleIssue[] = [];
      const conds = toConditions(bridges[name]!.rules[f.rules[i]!]!, "r", issues)!;
      expect(compileMatcher([{ rules: [conds] }]).match(input()), `${brief(f)}: example misses ${name}`).toEqual({ bridge: 0, rule: 0 });
    });
  }
}

const cases: [string, Record<string, Bridge>, string[]][] = [
  // catch-all and shadowed
  ["prefix / before /api", { a: bridge([path("/")]), b: bridge([path("/api")]) }, ["catch-all a 0 +example", "shadowed b<a 0<0 +example"]],
  ["prefix \"\" is catch-all", { a: bridge([path("")]) }, ["catch-all a 0 +example"]],
  ["regex .* is catch-all", { a: bridge([path(".*", "regex")]) }, ["catch-all a 0 +example"]],
  ["regex ^ is catch-all", { a: bridge([path("^", "regex")]) }, ["catch-all a 0 +example"]],
  ["regex ^/ is catch-all", { a: bridge([path("^/", "regex")]) }, ["catch-all a 0 +example"]],
  ["header present is not catch-all", { a: bridge([{ matchHeader: { name: "x-dev", type: "present" } }]) }, []],
  ["exact path under an earlier prefix", { a: bridge([path("/api")]), b: bridge([path("/api/v1/users", "exact")]) }, ["shadowed b<a 0<0 +example"]],
  ["longer prefix after a shorter one", { a: bridge([path("/api")]), b: bridge([path("/api/v1")]) }, ["shadowed b<a 0<0 +example"]],
  ["the same exact header plus more", { a: bridge([header("alice")]), b: bridge([header("alice"), path("/api")]) }, ["shadowed b<a 0<0 +example"]],
  ["present before exact", { a: bridge([{ matchHeader: { name: "x-dev", type: "present" } }]), b: bridge([header("v", "x-dev")]) }, ["shadowed b<a 0<0 +example"]],
  ["header prefix before exact", { a: bridge([{ matchHeader: { name: "x-gefyra", value: "al", type: "prefix" } }]), b: bridge([header("alice")]) }, ["shadowed b<a 0<0 +example"]],
  ["literal regex ^/api is a prefix", { a: bridge([path("^/api", "regex")]), b: bridge([path("/api/v1")]) }, ["shadowed b<a 0<0 +example"]],
  ["only the shadowed rule of a bridge is reported", { a: bridge([header("alice")]), b: bridge([header("bob")], [header("alice")]) }, ["shadowed b<a 1<0 +example"]],
  ["method rule under a path rule", { a: bridge([path("/x")]), b: bridge([method("get"), path("/x/y", "exact")]) }, ["shadowed b<a 0<0 +example"]],
  ["query rule under a fixed path with that query", { a: bridge([{ matchQuery: { name: "x", value: "1" } }]), b: bridge([path("/a?x=1", "exact")]) }, ["shadowed b<a 0<0 +example"]],
  // never matches by itself
  ["contradictory exact headers", { a: bridge([header("a"), header("b")]) }, ["shadowed a 0"]],
  ["a path without its leading slash", { a: bridge([path("api")]) }, ["shadowed a 0"]],
  ["contradictory methods", { a: bridge([method("GET"), method("POST")]) }, ["shadowed a 0"]],
  ["an exact path whose query contradicts a query rule", { a: bridge([path("/a?x=2", "exact"), { matchQuery: { name: "x", value: "1" } }]) }, ["shadowed a 0"]],
  ["a header value HTTP cannot carry", { a: bridge([header(" alice")]) }, ["shadowed a 0"]],
  // duplicates
  ["the same exact header", { a: bridge([header("alice")]), b: bridge([header("alice")]) }, ["duplicate b<a 0<0 +example"]],
  ["header names differ only in case", { a: bridge([header("alice", "X-Gefyra")]), b: bridge([header("alice", "x-gefyra")]) }, ["duplicate b<a 0<0 +example"]],
  ["the same rules in another order", { a: bridge([path("/a")], [path("/b")]), b: bridge([path("/b")], [path("/a")]) }, ["duplicate b<a 0<1 +example"]],
  ["identical regex sources", { a: bridge([path("^/v[0-9]+/", "regex")]), b: bridge([path("^/v[0-9]+/", "regex")]) }, ["duplicate b<a 0<0 +example"]],
  ["the same baggage member", { a: bridge([{ matchBaggage: { key: "dev", value: "alice" } }]), b: bridge([{ matchBaggage: { key: "dev", value: "alice" } }]) }, ["duplicate b<a 0<0 +example"]],
  // overlaps
  ["header rule and path rule", { a: bridge([path("/api")]), b: bridge([header("bob")]) }, ["overlap b<a 0<0 +example"]],
  ["a later, broader rule", { a: bridge([header("alice"), path("/api")]), b: bridge([header("alice")]) }, ["overlap b<a 0<0 +example"]],
  ["exact before present", { a: bridge([header("v", "x-dev")]), b: bridge([{ matchHeader: { name: "x-dev", type: "present" } }]) }, ["overlap b<a 0<0 +example"]],
  ["query rule and path rule with that query", { a: bridge([path("/a?x=1", "exact")]), b: bridge([{ matchQuery: { name: "x", value: "1" } }]) }, ["overlap b<a 0<0 +example"]],
  ["cookie rule and cookie header present", { a: bridge([{ matchCookie: { name: "dev", value: "a" } }]), b: bridge([{ matchHeader: { name: "cookie", type: "present" } }]) }, ["overlap b<a 0<0 +example"]],
  ["Gefyra query regex and a query rule", { a: bridge([path("x-gefyra=michael", "regex")]), b: bridge([method("GET")]) }, ["overlap b<a 0<0 +example"]],
  ["different regexes: conservative", { a: bridge([path("^/a.*b$", "regex")]), b: bridge([path("^/a.*c$", "regex")]) }, ["overlap b<a 0<0 conservative"]],
  ["different regexes with a common request: proven", { a: bridge([path("^/v[0-9]/", "regex")]), b: bridge([path("/users$", "regex")]) }, ["overlap b<a 0<0 +example"]],
  ["a header name pattern containing a header rule", { a: bridge([regexHeader("^x-.*$", "^a")]), b: bridge([header("abc", "x-y")]) }, ["shadowed b<a 0<0 +example"]],
  ["a header name pattern and another header", { a: bridge([regexHeader("^x-.*$", "^a")]), b: bridge([header("bcd", "x-y")]) }, ["overlap b<a 0<0 +example"]],
  ["an exact header that is no routing key (one bridge uses it)", { a: bridge([header("api.example.com", "host")]), b: bridge([header("bob")]), c: bridge([header("carol")]) }, ["overlap b<a 0<0 +example", "overlap c<a 0<0 +example"]],
  // negatives
  [
    "rules keyed on different routing keys (the request would carry two developers' keys)",
    { alice: bridge([header("alice")], [{ matchCookie: { name: "dev", value: "alice" } }]), bob: bridge([header("bob")], [{ matchCookie: { name: "dev", value: "bob" } }]) },
    [],
  ],
  ["different exact header values", { a: bridge([header("alice")]), b: bridge([header("bob")]), c: bridge([header("carol")]) }, []],
  ["GET vs POST", { a: bridge([method("GET"), path("/x")]), b: bridge([method("POST"), path("/x")]) }, []],
  ["prefix /a vs /b", { a: bridge([path("/a")]), b: bridge([path("/b")]) }, []],
  ["exact path vs another prefix", { a: bridge([path("/b/x", "exact")]), b: bridge([path("/a")]) }, []],
  ["the same cookie with other values (would need it twice)", { a: bridge([{ matchCookie: { name: "dev", value: "alice" } }]), b: bridge([{ matchCookie: { name: "dev", value: "bob" } }]) }, []],
  ["the same query parameter with other values", { a: bridge([{ matchQuery: { name: "dev", value: "alice" } }]), b: bridge([{ matchQuery: { name: "dev", value: "bob" } }]) }, []],
  ["anchored literal regexes", { a: bridge([path("^/a$", "regex")]), b: bridge([path("^/b", "regex")]) }, []],
  ["header regexes with different literal prefixes", { a: bridge([regexHeader("x-gefyra", "^alice-[0-9]+$")]), b: bridge([regexHeader("x-gefyra", "^bob-[0-9]+$")]) }, []],
  ["an exact header under a header regex", { a: bridge([regexHeader("x-gefyra", "^alice")]), b: bridge([header("alice-2")]) }, ["shadowed b<a 0<0 +example"]],
  ["an anchored literal name pattern is that header", { a: bridge([regexHeader("^X-Gefyra$", "^alice$")]), b: bridge([header("alice")]) }, ["duplicate b<a 0<0 +example"]],
  ["a header regex overlapping a header rule", { a: bridge([header("alice-2")]), b: bridge([regexHeader("x-gefyra", "^alice")]) }, ["overlap b<a 0<0 +example"]],
  ["path exact with a query that differs", { a: bridge([path("/a?x=2", "exact")]), b: bridge([{ matchQuery: { name: "x", value: "1" } }]) }, []],
];

describe("analyzeRoutes", () => {
  it.each(cases)("%s", (_name, bridges, expected) => {
    const findings = analyzeRoutes(bridges);
    expect(findings.map(brief)).toEqual(expected);
    checkExamples(bridges, findings);
  });

  it("names paths, severities and says why", () => {
    const [catchAll, shadowed] = analyzeRoutes({ a: bridge([path("/")]), b: bridge([path("/api")]) });
    expect(catchAll).toMatchObject({ severity: "error", path: "bridges.a.rules[0]" });
    expect(shadowed).toMatchObject({
      severity: "error",
      path: "bridges.b.rules[0]",
      message: 'rule 0 of bridge "b" can never match: rule 0 of the earlier bridge "a" takes its requests (it matches every request; the first bridge in config order wins)',
    });
    const [overlap] = analyzeRoutes({ a: bridge([path("/api")]), b: bridge([header("bob")]) });
    expect(overlap).toMatchObject({
      severity: "warning",
      message: 'bridges "a" (rule 0) and "b" (rule 0) can both match a request, e.g. GET /api with x-gefyra: bob; it goes to "a", the earlier bridge',
      example: { method: "GET", path: "/api", headers: { "x-gefyra": "bob" } },
    });
    const [never] = analyzeRoutes({ a: bridge([path("api")]) });
    expect(never).toMatchObject({ severity: "warning", message: 'rule 0 of bridge "a" can never match: the path always starts with "/", never with "api"' });
  });

  it("skips invalid rules without shifting rule indexes", () => {
    const findings = analyzeRoutes({ a: bridge([path("/x")]), b: bridge([path("(", "regex")], [path("/x/y")]) });
    expect(findings.map(brief)).toEqual(["shadowed b<a 1<0 +example"]);
  });

  it("analyzeConfig runs per port and prefixes paths with the proxy", () => {
    const findings = analyzeConfig({
      proxy: [
        { port: 8080, bridges: { a: bridge([header("alice")]), b: bridge([header("bob")]) } },
        { port: 9090, bridges: { a: bridge([header("alice")]), b: bridge([header("alice")]) } },
      ],
    });
    expect(findings).toEqual([expect.objectContaining({ kind: "duplicate", port: 9090, path: "proxy[1].bridges.b" })]);
  });

  it("analyzes 1,000 exact-header bridges quickly, and finds the one duplicate among them", () => {
    const bridges: Record<string, Bridge> = {};
    for (let i = 0; i < 1000; i++) bridges[`dev-${i}`] = bridge([header(`dev-${i}`), path("/api")], [header(`dev-${i}`), method("POST")]);
    const start = performance.now();
    expect(analyzeRoutes(bridges)).toEqual([]);
    const ms = performance.now() - start;
    expect(ms).toBeLessThan(2_000);
    bridges["copy"] = bridge([header("dev-7"), method("POST")], [header("dev-7"), path("/api")]);
    expect(analyzeRoutes(bridges).map(brief)).toEqual(["duplicate copy<dev-7 0<1 +example"]);
  });

  it("analyzes 1,000 prefix-only bridges (no index applies) in reasonable time", () => {
    const bridges: Record<string, Bridge> = {};
    for (let i = 0; i < 1000; i++) bridges[`dev-${i}`] = bridge([path(`/svc-${i}/`)]);
    const start = performance.now();
    expect(analyzeRoutes(bridges)).toEqual([]);
    expect(performance.now() - start).toBeLessThan(10_000);
  });
});
