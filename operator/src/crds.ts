// The gefyra.dev/v1 custom resources: TypeScript types and the CRD manifests (the source of truth;
// `npm run gen:crds -w @carrier2/operator` writes them to deploy/crds/, a test keeps both in step).
// Field names and placement (top level, not under `spec`) follow Gefyra 2.5 so its clients keep
// working: see shared/gefyra-compat.md §2. `status` is a subresource written only by the operator.
import type { V1ObjectMeta } from "@kubernetes/client-node";
import { stringify } from "yaml";

export const GROUP = "gefyra.dev";
export const VERSION = "v1";
export const API_VERSION = `${GROUP}/${VERSION}`;

export const MOUNT_STATES = [
  "REQUESTED",
  "PREPARING",
  "INSTALLING",
  "ACTIVE",
  "RESTORING",
  "ERROR",
  "MISSING",
  "TERMINATED",
] as const;
export type MountState = (typeof MOUNT_STATES)[number];

export const BRIDGE_STATES = [
  "REQUESTED",
  "INSTALLING",
  "INSTALLED",
  "CREATING",
  "ACTIVE",
  "RESTORING",
  "ERROR",
  "TERMINATING",
] as const;
export type BridgeState = (typeof BRIDGE_STATES)[number];

/** A metav1.Condition. */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface ResourceStatus {
  observedGeneration?: number;
  conditions?: Condition[];
}

/** Timestamps arrive as RFC 3339 strings from the custom objects API, whatever V1ObjectMeta says;
 * the operator only tests them for presence. */
export type ObjectMeta = V1ObjectMeta & { name: string; namespace: string };

/** A TLS file: a path inside the target container, or a key of a Secret. */
export type TlsSource = string | { secret: { namespace: string; name: string; key: string } };
export interface TlsParameter {
  certificate: TlsSource;
  key: TlsSource;
  sni?: string;
}

export interface GefyraBridgeMount {
  apiVersion: typeof API_VERSION;
  kind: "GefyraBridgeMount";
  metadata: ObjectMeta;
  targetNamespace: string;
  /** `deployment/NAME`, `statefulset/NAME` or `pod/NAME` (aliases deploy, sts, po). */
  target: string;
  targetContainer: string;
  provider: "carrier2mount";
  /** `{"tls": TlsParameter}` for every port, or `{"<port>": {"tls": TlsParameter}}` per port. */
  providerParameter?: Record<string, TlsParameter | { tls: TlsParameter }>;
  sunset?: string;
  /** Seconds the target may be missing before the mount gives up. */
  missingGracePeriod?: number;
  state?: MountState;
  stateTransitions?: Partial<Record<MountState, string>>;
  status?: ResourceStatus;
}

export interface GefyraBridge {
  apiVersion: typeof API_VERSION;
  kind: "GefyraBridge";
  metadata: ObjectMeta;
  provider: "carrier2";
  /** `rules` as in Carrier2's config (validated by the shared route model, not by this schema). */
  providerParameter?: { rules?: unknown[] };
  connectionProvider?: string;
  targetNamespace?: string;
  /** The name of the GefyraBridgeMount (in the bridge's namespace). */
  target: string;
  targetContainer?: string;
  client?: string;
  destinationIP?: string;
  /** `"<local>:<remote>"` */
  portMappings?: string[];
  /** `{"<remote port>": "host:port"}`: where Carrier2 sends this user's traffic. */
  clusterEndpoint?: Record<string, string>;
  sunset?: string;
  state?: BridgeState;
  stateTransitions?: Partial<Record<BridgeState, string>>;
  status?: ResourceStatus;
}

// ---- OpenAPI v3 schemas (structural, see "Specifying a structural schema" in the k8s docs) ----

type Schema = Record<string, unknown>;

const DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$";
export const TARGET_PATTERN = "^(deployment|deploy|statefulset|sts|pod|po)/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$";

const immutable = (field: string): Schema => ({
  "x-kubernetes-validations": [{ rule: "self == oldSelf", message: `${field} is immutable` }],
});

const dnsLabel = (description: string): Schema => ({
  type: "string",
  description,
  maxLength: 63,
  pattern: DNS_LABEL,
});

const sunset: Schema = {
  type: "string",
  format: "date-time",
  description: "When the operator removes this object by itself (RFC 3339).",
};

const stateSchema = (states: readonly string[]): Schema => ({
  type: "string",
  enum: [...states],
  description: "Gefyra-compatible lifecycle state, written by the operator.",
});

const stateTransitionsSchema = (states: readonly string[]): Schema => ({
  type: "object",
  description: "When each state was entered (RFC 3339), written by the operator.",
  additionalProperties: { type: "string", format: "date-time" },
  "x-kubernetes-validations": [
    { rule: `self.all(k, k in ${JSON.stringify(states)})`, message: "keys must be states" },
  ],
});

const conditionsSchema: Schema = {
  type: "array",
  description: "Standard conditions (metav1.Condition); `Ready` summarises the object.",
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": ["type"],
  items: {
    type: "object",
    required: ["type", "status", "reason", "message", "lastTransitionTime"],
    properties: {
      type: { type: "string", maxLength: 316 },
      status: { type: "string", enum: ["True", "False", "Unknown"] },
      reason: { type: "string", maxLength: 1024, pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$" },
      message: { type: "string", maxLength: 32768 },
      observedGeneration: { type: "integer", format: "int64", minimum: 0 },
      lastTransitionTime: { type: "string", format: "date-time" },
    },
  },
};

const statusSchema: Schema = {
  type: "object",
  properties: {
    observedGeneration: { type: "integer", format: "int64", minimum: 0 },
    conditions: conditionsSchema,
  },
};

const tlsSourceSchema: Schema = {
  description: 'A path inside the target container, or {"secret": {"namespace", "name", "key"}}.',
  "x-kubernetes-preserve-unknown-fields": true,
};

const tlsSchema: Schema = {
  type: "object",
  required: ["certificate", "key"],
  properties: {
    certificate: tlsSourceSchema,
    key: tlsSourceSchema,
    sni: { type: "string", description: "Server name; also the default SNI toward upstreams." },
  },
};

const mountSchema: Schema = {
  type: "object",
  required: ["targetNamespace", "target", "targetContainer"],
  properties: {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: { type: "object" },
    targetNamespace: { ...dnsLabel("Namespace of the workload to mount."), ...immutable("targetNamespace") },
    target: {
      type: "string",
      description: "The workload: deployment/NAME, statefulset/NAME or pod/NAME (aliases deploy, sts, po).",
      maxLength: 265,
      pattern: TARGET_PATTERN,
      ...immutable("target"),
    },
    targetContainer: { ...dnsLabel("The container whose ports Carrier2 takes over."), ...immutable("targetContainer") },
    provider: { type: "string", enum: ["carrier2mount"], default: "carrier2mount" },
    providerParameter: {
      type: "object",
      description:
        'TLS termination: {"tls": {"certificate", "key", "sni"}} for every port, or {"<port>": {"tls": {...}}} per port.',
      additionalProperties: {
        type: "object",
        properties: { ...(tlsSchema["properties"] as Schema), tls: tlsSchema },
      },
      "x-kubernetes-validations": [
        {
          rule: "self.all(k, k == 'tls' ? !has(self[k].tls) : k.matches('^[1-9][0-9]{0,4}$') && has(self[k].tls) && !has(self[k].sni))",
          message: 'keys are "tls" (TLS for every port) or a port number (with its own "tls")',
        },
      ],
    },
    sunset,
    missingGracePeriod: {
      type: "integer",
      minimum: 0,
      description: "Seconds the target may be missing before the mount is given up.",
    },
    state: stateSchema(MOUNT_STATES),
    stateTransitions: stateTransitionsSchema(MOUNT_STATES),
    status: statusSchema,
  },
};

const bridgeSchema: Schema = {
  type: "object",
  required: ["target"],
  properties: {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: { type: "object" },
    provider: { type: "string", enum: ["carrier2"], default: "carrier2" },
    providerParameter: {
      type: "object",
      properties: {
        rules: {
          type: "array",
          description: "Carrier2 routing rules (OR over rules; AND over each rule's match items).",
          items: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        },
      },
    },
    connectionProvider: { type: "string", description: "How the client reaches the cluster (e.g. stowaway)." },
    targetNamespace: dnsLabel("Namespace of the mounted workload."),
    target: {
      type: "string",
      description: "Name of the GefyraBridgeMount in this namespace.",
      maxLength: 253,
      pattern: DNS_SUBDOMAIN,
      ...immutable("target"),
    },
    targetContainer: dnsLabel("The mounted container."),
    client: { type: "string", maxLength: 253, description: "The Gefyra client that owns this bridge." },
    destinationIP: {
      type: "string",
      description: "IP of the user's container.",
      "x-kubernetes-validations": [{ rule: "isIP(self)", message: "must be an IP address" }],
    },
    portMappings: {
      type: "array",
      items: { type: "string", pattern: "^[0-9]{1,5}:[0-9]{1,5}$" },
      description: '"<local>:<remote>" port pairs.',
    },
    clusterEndpoint: {
      type: "object",
      description: '{"<remote port>": "host:port"}: where Carrier2 forwards this user\'s traffic.',
      additionalProperties: { type: "string", pattern: "^[^:\\s]+:[0-9]{1,5}$" },
      "x-kubernetes-validations": [
        { rule: "self.all(k, k.matches('^[1-9][0-9]{0,4}$'))", message: "keys must be port numbers" },
      ],
    },
    sunset,
    state: stateSchema(BRIDGE_STATES),
    stateTransitions: stateTransitionsSchema(BRIDGE_STATES),
    status: statusSchema,
  },
};

// ---- CustomResourceDefinitions ----

interface CrdNames {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
}

const readyColumn = {
  name: "Ready",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
};
const ageColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };

function crd(names: CrdNames, description: string, schema: Schema, columns: Schema[]) {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${names.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: { ...names, listKind: `${names.kind}List`, categories: ["gefyra"] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: columns,
          schema: { openAPIV3Schema: { description, ...schema } },
        },
      ],
    },
  };
}

export const MOUNT_CRD = crd(
  { kind: "GefyraBridgeMount", plural: "gefyrabridgemounts", singular: "gefyrabridgemount", shortNames: ["gbridgemount"] },
  "Prepares a workload for bridging: a shadow copy serves cluster traffic, Carrier2 takes over the target container.",
  mountSchema,
  [
    { name: "State", type: "string", jsonPath: ".state" },
    { name: "Target", type: "string", jsonPath: ".target" },
    { name: "Namespace", type: "string", jsonPath: ".targetNamespace" },
    { name: "Container", type: "string", jsonPath: ".targetContainer", priority: 1 },
    readyColumn,
    ageColumn,
  ],
);

export const BRIDGE_CRD = crd(
  { kind: "GefyraBridge", plural: "gefyrabridges", singular: "gefyrabridge", shortNames: ["gbridge"] },
  "Routes the requests that match its rules from a mounted workload to one developer's container.",
  bridgeSchema,
  [
    { name: "State", type: "string", jsonPath: ".state" },
    { name: "Mount", type: "string", jsonPath: ".target" },
    { name: "Client", type: "string", jsonPath: ".client" },
    { name: "Destination", type: "string", jsonPath: ".destinationIP", priority: 1 },
    readyColumn,
    ageColumn,
  ],
);

export const MOUNT_PLURAL = MOUNT_CRD.spec.names.plural;
export const BRIDGE_PLURAL = BRIDGE_CRD.spec.names.plural;

/** The files under deploy/crds/, by file name. */
export function crdFiles(): Map<string, string> {
  const header = "# Generated from operator/src/crds.ts by `npm run gen:crds -w @carrier2/operator`. Do not edit.\n";
  return new Map(
    [MOUNT_CRD, BRIDGE_CRD].map((c) => [`${c.metadata.name}.yaml`, header + stringify(c, { lineWidth: 0 })]),
  );
}
