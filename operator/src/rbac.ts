/**
 * The operator's least-privilege RBAC, the source of truth of deploy/operator/rbac.yaml
 * (`npm run gen:rbac -w @carrier2/operator`; a unit test fails when the YAML is stale).
 *
 * Exactly the API calls the operator makes (kube/api.ts, kube/events.ts, the informers of
 * operator.ts) plus those the next step needs, each with the reason it is there, which also becomes
 * a comment in the YAML. No wildcards, no Secrets, no RBAC or CRD writes.
 * test/integration/rbac.test.ts runs the operator as this ServiceAccount against a real API server.
 */
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import { Document, type YAMLSeq } from "yaml";
import { BRIDGE_PLURAL, GROUP, MOUNT_PLURAL } from "./crds.ts";
import { CONTROLLER_NAME, DEFAULT_OPERATOR_NAMESPACE } from "./labels.ts";

/** The ServiceAccount the operator runs as; its ClusterRole, Role and bindings have the same name. */
export const SERVICE_ACCOUNT = CONTROLLER_NAME;

/** A rule and why the operator needs it. */
export interface Grant {
  why: string;
  rule: V1PolicyRule;
}

/** In the operator's namespace (a Role): the mounts and bridges, which live only there, and Events about them. */
export const NAMESPACE_GRANTS: Grant[] = [
  {
    why: "informers list and watch mounts and bridges; reconciles get them, and write finalizer and state by merge patch; the admission webhook lists bridges",
    rule: { apiGroups: [GROUP], resources: [MOUNT_PLURAL, BRIDGE_PLURAL], verbs: ["get", "list", "watch", "patch"] },
  },
  {
    why: "status.conditions, by merge patch of the status subresource",
    rule: { apiGroups: [GROUP], resources: [`${MOUNT_PLURAL}/status`, `${BRIDGE_PLURAL}/status`], verbs: ["patch"] },
  },
  {
    why: "Events about mounts and bridges (kube/events.ts creates a new one each time, never patches)",
    rule: { apiGroups: [""], resources: ["events"], verbs: ["create"] },
  },
];

/** Verbs on the shadow objects: read them, server-side apply them (an apply that creates needs create), replace
 * them where an apply cannot repair a hand edit (update, then a patch of managedFields), delete them. */
const SHADOW_VERBS = ["get", "list", "create", "patch", "update", "delete"];

/** In every namespace a mount may target (a ClusterRole): the target, its shadow objects, and its pods. */
export const CLUSTER_GRANTS: Grant[] = [
  {
    why: "the target Deployment (get) and its shadow copy",
    rule: { apiGroups: ["apps"], resources: ["deployments"], verbs: SHADOW_VERBS },
  },
  {
    why: "the shadow Service",
    rule: { apiGroups: [""], resources: ["services"], verbs: SHADOW_VERBS },
  },
  {
    why: "the target's HPAs (list) and their shadow copies",
    rule: { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: SHADOW_VERBS },
  },
  {
    why: "next step, not used yet: watch the target's pods and patch their container image to Carrier2",
    rule: { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "patch"] },
  },
];

export type RbacObject = V1ServiceAccount | V1ClusterRole | V1ClusterRoleBinding | V1Role | V1RoleBinding;

const labels = { "app.kubernetes.io/name": CONTROLLER_NAME, "app.kubernetes.io/part-of": "carrier2" };
const rules = (grants: Grant[]): V1PolicyRule[] => grants.map((g) => g.rule);

/** The ServiceAccount, its ClusterRole and Role, and their bindings, for an operator in `namespace`. */
export function rbacObjects(namespace: string = DEFAULT_OPERATOR_NAMESPACE): RbacObject[] {
  const name = SERVICE_ACCOUNT;
  const subjects = [{ kind: "ServiceAccount", name, namespace }];
  const roleRef = (kind: string) => ({ apiGroup: "rbac.authorization.k8s.io", kind, name });
  const rbac = "rbac.authorization.k8s.io/v1";
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace, labels } } satisfies V1ServiceAccount,
    { apiVersion: rbac, kind: "ClusterRole", metadata: { name, labels }, rules: rules(CLUSTER_GRANTS) } satisfies V1ClusterRole,
    {
      apiVersion: rbac,
      kind: "ClusterRoleBinding",
      metadata: { name, labels },
      roleRef: roleRef("ClusterRole"),
      subjects,
    } satisfies V1ClusterRoleBinding,
    { apiVersion: rbac, kind: "Role", metadata: { name, namespace, labels }, rules: rules(NAMESPACE_GRANTS) } satisfies V1Role,
    {
      apiVersion: rbac,
      kind: "RoleBinding",
      metadata: { name, namespace, labels },
      roleRef: roleRef("Role"),
      subjects,
    } satisfies V1RoleBinding,
  ];
}

/** deploy/operator/rbac.yaml: the objects as one multi-document YAML, each rule under its reason. */
export function rbacYaml(namespace?: string): string {
  const header = "# Generated from operator/src/rbac.ts by `npm run gen:rbac -w @carrier2/operator`. Do not edit.\n";
  const documents = rbacObjects(namespace).map((object) => {
    const doc = new Document(object, { aliasDuplicateObjects: false });
    const grants = object.kind === "ClusterRole" ? CLUSTER_GRANTS : object.kind === "Role" ? NAMESPACE_GRANTS : [];
    const items = grants.length > 0 ? (doc.get("rules", true) as YAMLSeq).items : [];
    items.forEach((item, i) => {
      (item as { commentBefore?: string }).commentBefore = ` ${grants[i]!.why}`;
    });
    return doc.toString({ lineWidth: 0 });
  });
  return header + documents.join("---\n");
}
