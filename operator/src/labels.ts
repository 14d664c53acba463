// Names the operator writes onto the objects it manages. The `bridge.gefyra.dev/duplication-id`
// label and the `-gefyra` suffixes are Gefyra's (shared/gefyra-compat.md §3); the rest are ours.

/** Suffix of the shadow workload's name and of every label value it carries. */
export const SHADOW_SUFFIX = "-gefyra";

/** Fresh per shadow workload; the shadow Service selects on it alone. */
export const DUPLICATION_ID_LABEL = "bridge.gefyra.dev/duplication-id";

/** UID of the GefyraBridgeMount that owns a shadow object. Mounts live in the operator's namespace and
 * shadows in the workload's, so ownerReferences cannot be used; cleanup lists by this label. */
export const MOUNT_UID_LABEL = "bridge.gefyra.dev/mount-uid";

/** `<namespace>/<name>` of the owning GefyraBridgeMount, for people reading the shadow object. */
export const MOUNT_ANNOTATION = "bridge.gefyra.dev/mount";

/** Annotations of the original that must not be copied to its shadow. */
export const DROPPED_ANNOTATIONS = ["kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision"];

/** Held on a GefyraBridgeMount until its shadow objects are deleted. */
export const MOUNT_FINALIZER = "gefyra.dev/carrier2-operator";

/** Recorded as the source of Events and as the field manager of writes; also the name of the
 * operator's ServiceAccount and RBAC objects (rbac.ts). */
export const CONTROLLER_NAME = "carrier2-operator";

/** Where the operator runs and Gefyra keeps mounts and bridges, unless `OPERATOR_NAMESPACE` says otherwise. */
export const DEFAULT_OPERATOR_NAMESPACE = "gefyra";

/** Gefyra's label naming the client (developer) that owns a GefyraBridge, mirroring its `client` field. */
export const CLIENT_LABEL = "gefyra.dev/client";
