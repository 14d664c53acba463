/** The route model's semantics, one match kind at a time, through both the compiled matcher and the reference evaluator. */
import { describe, expect, it } from "vitest";
import { validateConfig } from "../src/config/index.ts";
import {
  compileLinearRegex,
  compileMatcher,
  evaluateReference,
  type MatchItem,
  MatchInput,
  RegexSyntaxError,
  type RequestFacts,
  type RuleIssue,
  toConditions,
} from "../src/routes/index.ts";

function conds(items: MatchItem[]) {
  const issues: RuleIssue[] = [];
  const c = toConditions({ match: items }, "rule", issues);
  if (!c) throw new Error(issues.map((i) => `${i.path}: ${i.message}`).join("; "));
  return c;
}

/** Does a one-rule bridge hit this request? Asserts the compiled matcher and the reference agree. */
function hits(items: MatchItem[], req: Partial<RequestFacts>): boolean {
  const bridges = [{ rules: [conds(items)] }];
  const facts: RequestFacts = { method: req.method ?? "GET", target: req.target ?? "/", headers: req.headers ?? {} };
  const compiled = compileMatcher(bridges).match(new MatchInput(facts));
  const reference = evaluateReference(bridges, new MatchInput(facts));
  expect(compiled).toEqual(reference);
  return compiled !== undefined;
}

describe("matchPath: path and query, raw", () => {
  it("regex tests path and query (Gefyra: /p?x-gefyra=michael hits x-gefyra=michael)", () => {
    const rule: MatchItem[] = [{ matchPath: { path: "x-gefyra=michael", type: "regex" } }];
    expect(hits(rule, { target: "/p?x-gefyra=michael" })).toBe(true);
    expect(hits(rule, { target: "/p?x-gefyra=bob" })).toBe(false);
  });

  it("prefix is a plain string prefix, and the default type (Gefyra: /my-path_123 hits /my-path_1234)", () => {
    expect(hits([{ matchPath: { path: "/my-path_123", type: "prefix" } }], { target: "/my-path_1234" })).toBe(true);
    expect(hits([{ matchPath: { path: "/my-path_123" } }], { target: "/my-path_1234" })).toBe(true);
    expect(hits([{ matchPath: { path: "/my-path_123" } }], { target: "/my-path_12" })).toBe(false);
    expect(hits([{ matchPath: { path: "/api" } }], { target: "/api?x=1" })).toBe(true);
  });

  it("exact must equal the whole path and query", () => {
    const rule: MatchItem[] = [{ matchPath: { path: "/a", type: "exact" } }];
    expect(hits(rule, { target: "/a" })).toBe(true);
    expect(hits(rule, { target: "/a?x=1" })).toBe(false);
    expect(hits(rule, { target: "/a/" })).toBe(false);
    expect(hits([{ matchPath: { path: "/a?x=1", type: "exact" } }], { target: "/a?x=1" })).toBe(true);
  });

  it("regexes are unanchored unless they use ^ or $", () => {
    expect(hits([{ matchPath: { path: "api", type: "regex" } }], { target: "/v1/api/x" })).toBe(true);
    expect(hits([{ matchPath: { path: "^/api$", type: "regex" } }], { target: "/api" })).toBe(true);
    expect(hits([{ matchPath: { path: "^/api$", type: "regex" } }], { target: "/api/x" })).toBe(false);
  });
});

describe("matchHeader", () => {
  it("compares names case-insensitively (a rule may say X-Gefyra; Node delivers lower case)", () => {
    const rule: MatchItem[] = [{ matchHeader: { name: "X-Gefyra", value: "alice" } }];
    expect(hits(rule, { headers: { "x-gefyra": "alice" } })).toBe(true);
    expect(hits(rule, { headers: { "x-gefyra": "Alice" } })).toBe(false); // values are case-sensitive
  });

  it("exact (default) and prefix compare one header's value", () => {
    expect(hits([{ matchHeader: { name: "x-gefyra", value: "alice" } }], { headers: { "x-gefyra": "alice" } })).toBe(true);
    expect(hits([{ matchHeader: { name: "x-gefyra", value: "alice" } }], { headers: { "x-gefyra": "alice2" } })).toBe(false);
    expect(hits([{ matchHeader: { name: "x-gefyra", value: "ali", type: "prefix" } }], { headers: { "x-gefyra": "alice2" } })).toBe(true);
    expect(hits([{ matchHeader: { name: "x-gefyra", value: "alice" } }], { headers: {} })).toBe(false);
  });

  it("a repeated header is one value joined with ', '", () => {
    const headers = { "x-gefyra": ["alice", "bob"] };
    expect(hits([{ matchHeader: { name: "x-gefyra", value: "alice" } }], { headers })).toBe(false);
    expect(hits([{ matchHeader: { name: "x-gefyra", value: "alice, bob" } }], { headers })).toBe(true);
  });

  it("present hits any value, the empty one too, and never an absent header", () => {
    const rule: MatchItem[] = [{ matchHeader: { name: "x-dev", type: "present" } }];
    expect(hits(rule, { headers: { "x-dev": "" } })).toBe(true);
    expect(hits(rule, { headers: { "x-dev": "anything" } })).toBe(true);
    expect(hits(rule, { headers: { "x-other": "1" } })).toBe(false);
  });

  it("regex tests the name pattern (case-insensitively) and the value pattern", () => {
    const rule: MatchItem[] = [{ matchHeader: { name: "^X-Gef", value: "^mi", type: "regex" } }];
    expect(hits(rule, { headers: { "x-gefyra": "michael" } })).toBe(true);
    expect(hits(rule, { headers: { "x-gefyra": "bob" } })).toBe(false);
    expect(hits(rule, { headers: { "x-other": "michael" } })).toBe(false);
    // Any header whose name matches may supply the value.
    expect(hits(rule, { headers: { "x-gef-a": "bob", "x-gef-b": "mike" } })).toBe(true);
    expect(hits([{ matchHeader: { name: "x-[A-F]+", value: ".", type: "regex" } }], { headers: { "x-cafe": "1" } })).toBe(true);
  });

  it("regression: names of Object.prototype members are not present headers", () => {
    for (const name of ["constructor", "__proto__", "tostring"]) {
      expect(hits([{ matchHeader: { name, type: "present" } }], { headers: {} })).toBe(false);
    }
  });
});

describe("matchQuery", () => {
  it("compares decoded values; any occurrence of a repeated parameter may hit", () => {
    const rule: MatchItem[] = [{ matchQuery: { name: "dev", value: "bob" } }];
    expect(hits(rule, { target: "/p?dev=bob" })).toBe(true);
    expect(hits(rule, { target: "/p?dev=alice&dev=bob" })).toBe(true);
    expect(hits(rule, { target: "/p?dev=alice" })).toBe(false);
    expect(hits(rule, { target: "/p" })).toBe(false);
    expect(hits([{ matchQuery: { name: "dev", value: "a b" } }], { target: "/?dev=a%20b" })).toBe(true);
    expect(hits([{ matchQuery: { name: "dev", value: "a b" } }], { target: "/?dev=a+b" })).toBe(true);
  });

  it("present and regex", () => {
    expect(hits([{ matchQuery: { name: "dev", type: "present" } }], { target: "/?dev" })).toBe(true);
    expect(hits([{ matchQuery: { name: "dev", type: "present" } }], { target: "/?other=1" })).toBe(false);
    expect(hits([{ matchQuery: { name: "dev", value: "^b", type: "regex" } }], { target: "/?dev=a&dev=bob" })).toBe(true);
  });
});

describe("matchMethod", () => {
  it("compares the method, case-insensitively in the rule", () => {
    expect(hits([{ matchMethod: { method: "get" } }], { method: "GET" })).toBe(true);
    expect(hits([{ matchMethod: { method: "POST" } }], { method: "GET" })).toBe(false);
  });
});

describe("matchCookie", () => {
  it("reads one cookie of the Cookie header; quoted values are unquoted", () => {
    const rule: MatchItem[] = [{ matchCookie: { name: "dev", value: "alice" } }];
    expect(hits(rule, { headers: { cookie: "session=1; dev=alice" } })).toBe(true);
    expect(hits(rule, { headers: { cookie: 'dev="alice"' } })).toBe(true);
    expect(hits(rule, { headers: { cookie: "dev=alice2" } })).toBe(false);
    expect(hits(rule, { headers: { cookie: "xdev=alice" } })).toBe(false);
    expect(hits(rule, { headers: {} })).toBe(false);
  });

  it("present and regex; a repeated cookie may hit with any occurrence", () => {
    expect(hits([{ matchCookie: { name: "dev", type: "present" } }], { headers: { cookie: "dev=" } })).toBe(true);
    expect(hits([{ matchCookie: { name: "dev", value: "^b", type: "regex" } }], { headers: { cookie: "dev=a; dev=bob" } })).toBe(true);
  });
});

describe("matchBaggage (W3C baggage header)", () => {
  it("decodes percent-encoding and ignores member properties", () => {
    const rule: MatchItem[] = [{ matchBaggage: { key: "dev", value: "bob smith" } }];
    expect(hits(rule, { headers: { baggage: "userId=1,dev=bob%20smith;ttl=30" } })).toBe(true);
    expect(hits(rule, { headers: { baggage: "userId=1, dev = bob%20smith ; ttl=30" } })).toBe(true);
    expect(hits(rule, { headers: { baggage: "dev=bob" } })).toBe(false);
    expect(hits(rule, { headers: { baggage: ["a=1", "dev=bob%20smith"] } })).toBe(true); // two headers, joined
  });

  it("present", () => {
    expect(hits([{ matchBaggage: { key: "dev", type: "present" } }], { headers: { baggage: "dev=x" } })).toBe(true);
    expect(hits([{ matchBaggage: { key: "dev", type: "present" } }], { headers: { baggage: "other=x" } })).toBe(false);
  });
});

describe("rules and precedence", () => {
  it("items of a match are ANDed, rules are ORed", () => {
    const items: MatchItem[] = [{ matchHeader: { name: "x-gefyra", value: "a" } }, { matchPath: { path: "/api" } }];
    expect(hits(items, { target: "/api", headers: { "x-gefyra": "a" } })).toBe(true);
    expect(hits(items, { target: "/web", headers: { "x-gefyra": "a" } })).toBe(false);
    const bridges = [{ rules: [conds([{ matchPath: { path: "/a" } }]), conds([{ matchPath: { path: "/b" } }])] }];
    expect(compileMatcher(bridges).match(new MatchInput({ method: "GET", target: "/b", headers: {} }))).toEqual({ bridge: 0, rule: 1 });
  });

  it("the first bridge in config order wins: no longest-prefix, no specificity", () => {
    const bridges = [{ rules: [conds([{ matchPath: { path: "/" } }])] }, { rules: [conds([{ matchPath: { path: "/api", type: "exact" } }])] }];
    const input = () => new MatchInput({ method: "GET", target: "/api", headers: {} });
    expect(compileMatcher(bridges).match(input())).toEqual({ bridge: 0, rule: 0 });
    expect(evaluateReference(bridges, input())).toEqual({ bridge: 0, rule: 0 });
  });

  it("fallback is error | cluster per bridge", () => {
    const config = (fallback: unknown) => ({
      version: 1,
      proxy: [{ port: 8080, bridges: { a: { endpoint: "h:1", fallback, rules: [{ match: [{ matchPath: { path: "/" } }] }] } } }],
    });
    expect(validateConfig(config("cluster"), { checkFiles: false }).ok).toBe(true);
    expect(validateConfig(config("error"), { checkFiles: false }).ok).toBe(true);
    const bad = validateConfig(config("retry"), { checkFiles: false });
    expect(bad.ok ? [] : bad.issues.map((i) => `${i.path}: ${i.message}`)).toEqual(["proxy[0].bridges.a.fallback: must be one of error, cluster"]);
  });
});

describe("regex safety", () => {
  const rejected = (source: string) => {
    try {
      compileLinearRegex(source);
    } catch (err) {
      expect(err).toBeInstanceOf(RegexSyntaxError);
      return (err as Error).message;
    }
    throw new Error(`/${source}/ was accepted`);
  };

  it.each([
    ["(a)\\1", "invalid regular expression: /(a)\\1/ needs backtracking: backreferences (\\1, \\k<name>) are not supported (Carrier2 runs regexes in linear time)"],
    ["(?<n>a)\\k<n>", "invalid regular expression: /(?<n>a)\\k<n>/ needs backtracking: backreferences (\\1, \\k<name>) are not supported (Carrier2 runs regexes in linear time)"],
    ["a(?=b)", "invalid regular expression: /a(?=b)/ needs backtracking: lookahead ((?=...), (?!...)) is not supported (Carrier2 runs regexes in linear time)"],
    ["a(?!b)", "invalid regular expression: /a(?!b)/ needs backtracking: lookahead ((?=...), (?!...)) is not supported (Carrier2 runs regexes in linear time)"],
    ["(?i:a)", "invalid regular expression: /(?i:a)/ uses inline modifiers ((?i:...)), which are not supported (Carrier2 runs regexes in linear time)"],
    [
      "[a-z]{1,64}",
      "invalid regular expression: /[a-z]{1,64}/ repeats too much: counted repetitions ({n}, {n,m}, {n,}) are unrolled and their bounds, multiplied when nested, must not exceed 16; use *, + or a smaller bound (Carrier2 runs regexes in linear time)",
    ],
    ["(", "invalid regular expression: /(/: Unterminated group"],
    ["a**", "invalid regular expression: /a**/: Nothing to repeat"],
  ])("rejects /%s/ with a clear message", (source, message) => {
    expect(rejected(source)).toBe(message);
  });

  it("accepts nested quantifiers, lookbehind and counted repetition up to 16", () => {
    for (const s of ["^(a+)+$", "(a|ab)*c", "(?<=x)y", "(?<!x)y", "[0-9]{1,16}", "(ab){8}", "\\bword\\b"]) {
      expect(() => compileLinearRegex(s)).not.toThrow();
    }
  });

  it("'a'*40 + '!' against ^(a+)+$ takes linear time", () => {
    const rule: MatchItem[] = [{ matchHeader: { name: "x-evil", value: "^(a+)+$", type: "regex" } }];
    const start = performance.now();
    expect(hits(rule, { headers: { "x-evil": `${"a".repeat(40)}!` } })).toBe(false);
    expect(hits(rule, { headers: { "x-evil": `${"a".repeat(100_000)}!` } })).toBe(false);
    expect(performance.now() - start).toBeLessThan(1_000); // backtracking would take longer than the universe
  });

  it("validation reports a bad header name pattern with its path", () => {
    const issues: RuleIssue[] = [];
    toConditions({ match: [{ matchHeader: { name: "(a)\\1", value: "x", type: "regex" } }] }, "r", issues);
    expect(issues).toEqual([{ path: "r.match[0].matchHeader.name", message: expect.stringContaining("needs backtracking: backreferences") }]);
  });
});
