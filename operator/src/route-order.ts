/**
 * A mount's route table, as far as it is decided by the GefyraBridges alone: which bridges take part,
 * which Carrier2 ports each is on, and the order their rules are tried in (the first hit wins, see
 * `carrier2/routes` precedence.ts). Defined once, here: the admission webhook judges a bridge against
 * the table it would join, and the route-table push will write each port's bridges in this order.
 *
 * Precedence is first come, first served: the bridge created first (`metadata.creationTimestamp`)
 * comes first; bridges created in the same second (the timestamp's resolution) by name. A bridge
 * keeps its place when it is updated; a new bridge goes last. (Gefyra writes bridges in the API's
 * list order, which is by name, so a bridge named `aaa` would jump ahead of everyone's.)
 */
import type { GefyraBridge } from "./crds.ts";

/** What ordering and placement read of a bridge. */
export type BridgeRef = Pick<GefyraBridge, "metadata" | "target" | "portMappings">;

/** Milliseconds since the epoch; a bridge not yet created (no timestamp) counts as the newest. */
function createdAt(bridge: BridgeRef): number {
  const at = Date.parse(String(bridge.metadata.creationTimestamp ?? ""));
  return Number.isNaN(at) ? Number.POSITIVE_INFINITY : at;
}

/** Negative when `a` takes precedence over `b` (an Array#sort comparator). */
export function compareBridges(a: BridgeRef, b: BridgeRef): number {
  const byTime = createdAt(a) - createdAt(b);
  if (byTime !== 0 && !Number.isNaN(byTime)) return byTime;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** A sorted copy: the first bridge is tried first. */
export function inPrecedenceOrder<T extends BridgeRef>(bridges: readonly T[]): T[] {
  return [...bridges].sort(compareBridges);
}

/** The bridges of mount `mount` in `namespace` that take part in its route table: not those being deleted. */
export function bridgesOfMount<T extends BridgeRef>(bridges: readonly T[], namespace: string, mount: string): T[] {
  return bridges.filter(
    (b) => b.metadata.namespace === namespace && b.target === mount && !b.metadata.deletionTimestamp,
  );
}

/**
 * The Carrier2 ports a bridge is on: the remote side of its `portMappings` (`"<local>:<remote>"`), as
 * Gefyra places bridges. Empty when it declares none.
 */
export function remotePorts(bridge: BridgeRef): number[] {
  const ports = (bridge.portMappings ?? []).map((m) => Number(m.slice(m.indexOf(":") + 1)));
  return [...new Set(ports.filter((p) => Number.isInteger(p) && p > 0))].sort((a, b) => a - b);
}

/**
 * Can two bridges meet on a Carrier2 port? Yes when they share a remote port, and when either declares
 * none (it is not placed yet: assume it may be anywhere).
 */
export function sharePort(a: BridgeRef, b: BridgeRef): boolean {
  const [pa, pb] = [remotePorts(a), remotePorts(b)];
  return pa.length === 0 || pb.length === 0 || pa.some((p) => pb.includes(p));
}
