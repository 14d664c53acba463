import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CLUSTER_GRANTS, NAMESPACE_GRANTS, rbacObjects, rbacYaml } from "../../src/rbac.ts";

const file = new URL("../../../deploy/operator/rbac.yaml", import.meta.url);

describe("deploy/operator/rbac.yaml", () => {
  it("holds exactly what src/rbac.ts generates (run `npm run gen:rbac -w @carrier2/operator`)", () => {
    expect(readFileSync(file, "utf8")).toBe(rbacYaml());
  });
});

describe("the operator's RBAC", () => {
  const rules = [...CLUSTER_GRANTS, ...NAMESPACE_GRANTS].map((g) => g.rule);

  it("names every group, resource and verb: no wildcards, no non-resource URLs", () => {
    for (const rule of rules) {
      for (const value of [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs]) expect(value).not.toContain("*");
      expect(rule.resources?.length).toBeGreaterThan(0);
      expect(rule.nonResourceURLs).toBeUndefined();
    }
  });

  it("grants nothing on Secrets, ConfigMaps, namespaces, RBAC or CRDs, and no escalating verbs", () => {
    const resources = rules.flatMap((r) => r.resources ?? []);
    for (const forbidden of ["secrets", "configmaps", "namespaces", "serviceaccounts", "pods/exec"]) {
      expect(resources).not.toContain(forbidden);
    }
    const groups = rules.flatMap((r) => r.apiGroups ?? []);
    expect(groups).not.toContain("rbac.authorization.k8s.io");
    expect(groups).not.toContain("apiextensions.k8s.io");
    for (const verb of ["escalate", "bind", "impersonate", "deletecollection"]) expect(rules.flatMap((r) => r.verbs)).not.toContain(verb);
  });

  it("binds a ClusterRole and a Role in the operator's namespace to its ServiceAccount there", () => {
    const objects = rbacObjects("tools");
    expect(objects.map((o) => [o.kind, o.metadata!.name, o.metadata!.namespace])).toEqual([
      ["ServiceAccount", "carrier2-operator", "tools"],
      ["ClusterRole", "carrier2-operator", undefined],
      ["ClusterRoleBinding", "carrier2-operator", undefined],
      ["Role", "carrier2-operator", "tools"],
      ["RoleBinding", "carrier2-operator", "tools"],
    ]);
    for (const binding of objects.filter((o) => o.kind!.endsWith("Binding"))) {
      expect((binding as { subjects: unknown[] }).subjects).toEqual([{ kind: "ServiceAccount", name: "carrier2-operator", namespace: "tools" }]);
    }
  });
});
