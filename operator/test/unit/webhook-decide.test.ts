import { describe, expect, it } from "vitest";
import type { GefyraBridge } from "../../src/crds.ts";
import { admitBridge, type BridgeAdmission, judgesRoutes, type Verdict } from "../../src/webhook/decide.ts";

const NS = "gefyra";
/** Creation times, one minute apart: T[0] is the oldest. */
const T = ["2026-11-21T10:00:00Z", "2026-11-21T10:01:00Z", "2026-11-21T10:02:00Z"];

interface Options {
  created?: string | undefined;
  target?: string;
  ports?: string[];
  labels?: Record<string, string>;
  deleting?: boolean;
  namespace?: string;
}

function bridge(name: string, client: string | undefined, rules: unknown, o: Options = {}): GefyraBridge {
  return {
    apiVersion: "gefyra.dev/v1",
    kind: "GefyraBridge",
    metadata: {
      name,
      namespace: o.namespace ?? NS,
      ...(o.created ? { creationTimestamp: o.created as unknown as Date } : {}),
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.deleting ? { deletionTimestamp: T[2] as unknown as Date } : {}),
    },
    provider: "carrier2",
    ...(rules === undefined ? {} : { providerParameter: { rules: rules as unknown[] } }),
    target: o.target ?? "backend-mount",
    ...(client === undefined ? {} : { client }),
    ...(o.ports ? { portMappings: o.ports } : {}),
  };
}

const header = (value: string) => ({ match: [{ matchHeader: { name: "x-gefyra", value } }] });
const prefix = (path: string) => ({ match: [{ matchPath: { path, type: "prefix" } }] });

/** A new bridge (no creationTimestamp yet: the newest), judged against `others`. */
function create(incoming: GefyraBridge, others: GefyraBridge[]): Verdict {
  return admitBridge({ operation: "CREATE", bridge: incoming }, others);
}

const alice = (rules: unknown[], o: Options = {}) => bridge("alice", "alice", rules, { created: T[0], ...o });

describe("admitBridge: another developer's bridge", () => {
  it("refuses a duplicate, naming both bridges, the rule and the example request", () => {
    const v = create(bridge("bob", "bob", [header("alice")]), [alice([header("alice")])]);
    expect(v.allowed).toBe(false);
    expect(v.refusal).toMatchObject({ code: 403, reason: "Forbidden" });
    expect(v.refusal!.message).toBe(
      'GefyraBridge "bob" (client "bob") conflicts with another developer\'s bridge on mount "backend-mount" ' +
        "(bridges are tried oldest first, the first hit wins): " +
        'providerParameter.rules[0]: bridge "bob" matches exactly the same requests as the earlier bridge "alice": ' +
        "it never receives traffic (the first bridge in config order wins), e.g. GET / with x-gefyra: alice " +
        '[GefyraBridge "alice" (client "alice")]',
    );
  });

  it("refuses a rule shadowed by an earlier bridge (prefix /api before /api/v1)", () => {
    const v = create(bridge("bob", "bob", [header("bob"), prefix("/api/v1")]), [alice([prefix("/api")])]);
    expect(v.refusal?.code).toBe(403);
    expect(v.refusal!.message).toContain(
      'providerParameter.rules[1]: rule 1 of bridge "bob" can never match: rule 0 of the earlier bridge "alice" takes its requests',
    );
    expect(v.refusal!.message).toContain("e.g. GET /api/v1");
  });

  it("refuses a change that makes an older bridge shadow a newer one of another developer", () => {
    const bob = bridge("bob", "bob", [prefix("/api/v1")], { created: T[1] });
    const old = alice([header("alice")]);
    const changed = alice([header("alice"), prefix("/api")]);
    const v = admitBridge({ operation: "UPDATE", bridge: changed, oldBridge: old }, [old, bob]);
    expect(v.refusal?.code).toBe(403);
    // The path is the incoming bridge's rule that takes bob's requests.
    expect(v.refusal!.message).toContain(
      'providerParameter.rules[1]: rule 0 of bridge "bob" can never match: rule 1 of the earlier bridge "alice" takes its requests',
    );
    expect(v.refusal!.message).toContain('[GefyraBridge "bob" (client "bob")]');
  });

  it("refuses a rule behind another developer's prefix / (a catch-all), in both orders", () => {
    const behind = create(bridge("bob", "bob", [prefix("/api")]), [alice([prefix("/")])]);
    expect(behind.refusal!.message).toContain('rule 0 of bridge "bob" can never match: rule 0 of the earlier bridge "alice" takes its requests (it matches every request');

    const bob = bridge("bob", "bob", [prefix("/api")], { created: T[0] });
    const late = create(bridge("alice", "alice", [prefix("/")]), [bob]);
    expect(late.refusal?.code).toBe(403);
    expect(late.refusal!.message).toContain(
      'providerParameter.rules[0]: rule 0 of bridge "alice" matches every request: no request reaches the cluster; ' +
        'other developers have bridges on mount "backend-mount" [GefyraBridge "bob" (client "bob")]',
    );
  });

  it("refuses any bridge beside another developer's catch-all, even one that comes first", () => {
    // Created in the same second as the catch-all, "aaron" sorts before "alice": nothing shadows it.
    const v = create(bridge("aaron", "aaron", [header("aaron")], { created: T[0] }), [alice([{ match: [{ matchPath: { path: ".*", type: "regex" } }] }])]);
    expect(v.refusal?.code).toBe(403);
    expect(v.refusal!.message).toContain('mount "backend-mount": rule 0 of bridge "alice" matches every request');
    expect(v.refusal!.message).toContain('[GefyraBridge "alice" (client "alice")]');
  });

  it("allows an overlap with a warning carrying the example request", () => {
    const v = create(bridge("bob", "bob", [header("bob")]), [alice([prefix("/api")])]);
    expect(v).toEqual({
      allowed: true,
      warnings: [
        'providerParameter.rules[0]: bridges "alice" (rule 0) and "bob" (rule 0) can both match a request, e.g. GET /api with x-gefyra: bob; it goes to "alice", the earlier bridge',
      ],
    });
  });

  it("allows different developers' header values without a word", () => {
    expect(create(bridge("bob", "bob", [header("bob")]), [alice([header("alice")])])).toEqual({ allowed: true, warnings: [] });
  });

  it("counts a bridge without client or label as another developer's, even to another such bridge", () => {
    const v = create(bridge("anon-2", undefined, [header("x")]), [bridge("anon-1", undefined, [header("x")], { created: T[0] })]);
    expect(v.refusal?.message).toContain('[GefyraBridge "anon-1" (no client)]');
    expect(v.refusal?.message).toContain('GefyraBridge "anon-2" (no client) conflicts');
  });
});

describe("admitBridge: the same developer", () => {
  it("may duplicate and shadow their own bridges, with warnings", () => {
    const first = bridge("bob-1", "bob", [prefix("/api")], { created: T[0] });
    const v = create(bridge("bob-2", "bob", [header("bob"), prefix("/api/v1")]), [first]);
    expect(v.allowed).toBe(true);
    expect(v.warnings).toEqual([
      'providerParameter.rules[0]: bridges "bob-1" (rule 0) and "bob-2" (rule 0) can both match a request, e.g. GET /api with x-gefyra: bob; it goes to "bob-1", the earlier bridge',
      'providerParameter.rules[1]: rule 1 of bridge "bob-2" can never match: rule 0 of the earlier bridge "bob-1" takes its requests ' +
        "(it matches every request this rule matches; the first bridge in config order wins), e.g. GET /api/v1 " +
        "(allowed: both bridges are the same developer's)",
    ]);
    const duplicate = create(bridge("bob-2", "bob", [prefix("/api")]), [first]);
    expect(duplicate.allowed).toBe(true);
    expect(duplicate.warnings).toEqual([
      'providerParameter.rules[0]: bridge "bob-2" matches exactly the same requests as the earlier bridge "bob-1": it never receives traffic ' +
        "(the first bridge in config order wins), e.g. GET /api (allowed: both bridges are the same developer's)",
    ]);
  });

  it("is known by the gefyra.dev/client label when the client field is not set", () => {
    const first = bridge("bob-1", undefined, [header("bob")], { created: T[0], labels: { "gefyra.dev/client": "bob" } });
    const v = create(bridge("bob-2", "bob", [header("bob")]), [first]);
    expect(v.allowed).toBe(true);
    expect(v.warnings[0]).toContain('bridge "bob-2" matches exactly the same requests as the earlier bridge "bob-1"');
  });

  it("may have a catch-all while the mount is theirs alone, with a warning", () => {
    const own = bridge("bob-1", "bob", [header("bob")], { created: T[0] });
    const v = create(bridge("bob-2", "bob", [prefix("/")]), [own]);
    expect(v.allowed).toBe(true);
    expect(v.warnings).toEqual([
      'providerParameter.rules[0]: rule 0 of bridge "bob-2" matches every request: no request reaches the cluster ' +
        '(allowed while mount "backend-mount" has no other developer\'s bridge)',
    ]);
    expect(create(bridge("bob-2", "bob", [prefix("/")]), []).allowed).toBe(true);
  });
});

describe("admitBridge: rules the route model refuses", () => {
  it.each([
    [
      "an invalid regex, by its path",
      [{ match: [{ matchPath: { path: "/api" } }, { matchHeader: { name: "x-gefyra", value: "(a)\\1", type: "regex" } }] }],
      "providerParameter.rules[0].match[1].matchHeader.value: invalid regular expression",
    ],
    ["an unknown field", [{ match: [{ matchHeadr: { name: "x-gefyra", value: "bob" } }] }], "providerParameter.rules[0].match[0].matchHeadr: unknown field"],
    ["a missing value", [{ match: [{ matchQuery: { name: "dev" } }] }], "providerParameter.rules[0].match[0].matchQuery.value: required when type is exact"],
    ["an empty match", [{ match: [] }], "providerParameter.rules[0].match:"],
    ["no rules", [], "providerParameter.rules:"],
    ["rules that are not a list", "x-gefyra: bob", "providerParameter.rules: must be array"],
    ["no rules at all", undefined, "providerParameter.rules: is required"],
  ])("refuses %s with 422", (_, rules, message) => {
    const v = create(bridge("bob", "bob", rules), []);
    expect(v.allowed).toBe(false);
    expect(v.refusal).toMatchObject({ code: 422, reason: "Invalid" });
    expect(v.refusal!.message).toMatch(/^GefyraBridge "bob" \(client "bob"\) has invalid rules: /);
    expect(v.refusal!.message).toContain(message);
  });

  it("warns about a rule that can never match by itself", () => {
    const v = create(bridge("bob", "bob", [{ match: [{ matchPath: { path: "api" } }] }]), []);
    expect(v).toEqual({
      allowed: true,
      warnings: ['providerParameter.rules[0]: rule 0 of bridge "bob" can never match: the path always starts with "/", never with "api"'],
    });
  });

  it("leaves out other bridges whose rules are invalid (stored before the webhook)", () => {
    const broken = bridge("alice", "alice", [{ match: [{ matchHeader: { value: "x" } }] }], { created: T[0] });
    expect(create(bridge("bob", "bob", [prefix("/api")]), [broken])).toEqual({ allowed: true, warnings: [] });
  });
});

describe("admitBridge: which bridges are compared", () => {
  const rivals = (o: Options) => [alice([header("x")], o)];
  const incoming = bridge("bob", "bob", [header("x")], { ports: ["8080:80"] });

  it.each([
    ["another mount", { target: "other-mount" }],
    ["another namespace", { namespace: "elsewhere" }],
    ["one being deleted", { deleting: true }],
    ["one on other ports only", { ports: ["9090:90", "9091:91"] }],
  ])("not %s", (_, o) => {
    expect(create(incoming, rivals(o))).toEqual({ allowed: true, warnings: [] });
  });

  it("one on a shared port, or one that declares no port", () => {
    expect(create(incoming, rivals({ ports: ["7070:70", "8081:80"] })).allowed).toBe(false);
    expect(create(incoming, rivals({})).allowed).toBe(false);
  });
});

describe("admitBridge: updates and deletions", () => {
  // Two bridges in conflict before the webhook existed.
  const first = alice([header("x")]);
  const second = bridge("bob", "bob", [header("x")], { created: T[1] });

  it("does not judge an update that leaves rules, client, target and ports as they were", () => {
    const statePatched = { ...second, state: "ACTIVE" as const, metadata: { ...second.metadata, labels: { team: "b" } } };
    const request: BridgeAdmission = { operation: "UPDATE", bridge: statePatched, oldBridge: second };
    expect(judgesRoutes(request)).toBe(false);
    expect(admitBridge(request, [first, second])).toEqual({ allowed: true, warnings: [] });
  });

  it("judges an update that changes the rules, against the others only (not its own stored version)", () => {
    const changed = { ...second, providerParameter: { rules: [header("x"), header("bob")] } };
    const request: BridgeAdmission = { operation: "UPDATE", bridge: changed, oldBridge: second };
    expect(judgesRoutes(request)).toBe(true);
    expect(admitBridge(request, [first, second]).refusal?.message).toContain('earlier bridge "alice"');
    const fixed = { ...second, providerParameter: { rules: [header("bob")] } };
    expect(admitBridge({ operation: "UPDATE", bridge: fixed, oldBridge: second }, [first, second])).toEqual({ allowed: true, warnings: [] });
  });

  it("judges an update that hands the bridge to another developer", () => {
    const own = bridge("alice-2", "alice", [header("x")], { created: T[1] });
    const handed = { ...own, client: "carol" };
    expect(admitBridge({ operation: "UPDATE", bridge: own, oldBridge: own }, [first, own]).allowed).toBe(true);
    expect(admitBridge({ operation: "UPDATE", bridge: handed, oldBridge: own }, [first, own]).allowed).toBe(false);
  });

  it("never blocks a deletion, nor an update of a bridge being deleted (its finalizers)", () => {
    expect(admitBridge({ operation: "DELETE", bridge: second }, [first])).toEqual({ allowed: true, warnings: [] });
    const deleting = bridge("bob", "bob", [header("x")], { created: T[1], deleting: true });
    expect(admitBridge({ operation: "UPDATE", bridge: deleting, oldBridge: second }, [first])).toEqual({ allowed: true, warnings: [] });
  });
});
