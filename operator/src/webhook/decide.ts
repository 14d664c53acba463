/**
 * Whether a GefyraBridge may be created or updated, given the other bridges of its namespace (pure).
 *
 * - Rules the shared route model refuses are refused (422 Invalid), each named by its field path.
 * - The bridge is put into its mount's route table (`route-order.ts`: the bridges of the same mount
 *   that may share a Carrier2 port with it, oldest first) and the table is analyzed
 *   (`analyzeConditions` of `carrier2/routes`). Only findings that involve this bridge count: conflicts
 *   among the others, older than this request, are theirs.
 * - Refused (403 Forbidden), against another developer's bridge: a `duplicate` or `shadowed` finding,
 *   whichever side this bridge is on (its rule never fires, or it takes every request of theirs); a
 *   `catch-all` rule of this bridge while another developer has a bridge on the mount; any bridge
 *   while another developer's bridge on the mount has a catch-all rule.
 * - Allowed with a warning: `overlap` findings; the same findings between bridges of one developer (a
 *   developer may layer their own bridges); a catch-all while the mount is this developer's alone; a
 *   rule that can never match by itself.
 *
 * A developer is a bridge's `client` (else its `gefyra.dev/client` label). Bridges without either
 * belong to no one known, so they count as another developer's to everyone.
 *
 * Updates that leave everything the decision reads as it was (rules, client, target, ports) are
 * allowed without judging: the operator's own writes (`state`, finalizers) and label edits must not
 * fail on a conflict that predates the webhook. Bridges being deleted are never judged.
 */
import { isDeepStrictEqual } from "node:util";
import { analyzeConditions, describeExample, type Finding } from "carrier2/routes";
import type { GefyraBridge } from "../crds.ts";
import { CLIENT_LABEL } from "../labels.ts";
import { bridgesOfMount, inPrecedenceOrder, remotePorts, sharePort } from "../route-order.ts";
import { bridgeRules, RULES_PATH } from "./rules.ts";

export interface BridgeAdmission {
  /** The admission.k8s.io/v1 operation: CREATE, UPDATE, DELETE or CONNECT. */
  operation: string;
  /** The bridge as it would be stored (`request.object`). */
  bridge: GefyraBridge;
  /** UPDATE: the bridge as stored now (`request.oldObject`). */
  oldBridge?: GefyraBridge | undefined;
}

export interface Refusal {
  /** 422 Invalid: rules the route model refuses. 403 Forbidden: a conflict with another developer's bridge. */
  code: 403 | 422;
  reason: "Forbidden" | "Invalid";
  message: string;
}

export interface Verdict {
  allowed: boolean;
  refusal?: Refusal;
  /** Shown by kubectl as `Warning: ...`, also with a refusal. */
  warnings: string[];
}

/** At most this many problems are spelled out in a refusal, and this many warnings returned. */
const MAX_LISTED = 10;

/** Who owns a bridge: its `client`, else its `gefyra.dev/client` label; undefined when neither is set. */
export function developerOf(bridge: GefyraBridge): string | undefined {
  return bridge.client || bridge.metadata.labels?.[CLIENT_LABEL] || undefined;
}

function sameDeveloper(a: GefyraBridge, b: GefyraBridge): boolean {
  const d = developerOf(a);
  return d !== undefined && d === developerOf(b);
}

/** Does the decision need the other bridges? False when the request is allowed without judging routes. */
export function judgesRoutes({ operation, bridge, oldBridge }: BridgeAdmission): boolean {
  if (operation !== "CREATE" && operation !== "UPDATE") return false;
  if (bridge.metadata.deletionTimestamp) return false;
  return !(operation === "UPDATE" && oldBridge && sameRouting(bridge, oldBridge));
}

function sameRouting(a: GefyraBridge, b: GefyraBridge): boolean {
  return (
    a.target === b.target &&
    developerOf(a) === developerOf(b) &&
    isDeepStrictEqual(a.providerParameter?.rules, b.providerParameter?.rules) &&
    isDeepStrictEqual(remotePorts(a), remotePorts(b))
  );
}

const q = JSON.stringify;

function owner(bridge: GefyraBridge): string {
  const developer = developerOf(bridge);
  return `GefyraBridge ${q(bridge.metadata.name)} (${developer === undefined ? "no client" : `client ${q(developer)}`})`;
}

function listed(items: string[]): string[] {
  return items.length <= MAX_LISTED ? items : [...items.slice(0, MAX_LISTED), `and ${items.length - MAX_LISTED} more`];
}

/** `providerParameter.rules[1]: <the finding>, e.g. <its example>` (overlaps quote theirs; any request is a catch-all's). */
function describe(finding: Finding, rule: number): string {
  const quoted = finding.kind === "overlap" || finding.kind === "catch-all";
  const example = finding.example && !quoted ? `, e.g. ${describeExample(finding.example)}` : "";
  return `${RULES_PATH}[${rule}]: ${finding.message}${example}`;
}

/** The verdict on `request`, given the bridges of its namespace (the bridge itself among them or not). */
export function admitBridge(request: BridgeAdmission, others: readonly GefyraBridge[]): Verdict {
  if (!judgesRoutes(request)) return { allowed: true, warnings: [] };
  const { bridge } = request;
  const { name, namespace } = bridge.metadata;
  const own = bridgeRules(bridge.providerParameter);
  if (!own.ok) {
    const issues = own.issues.map((i) => `${i.path}: ${i.message}`);
    const message = `${owner(bridge)} has invalid rules: ${listed(issues).join("; ")}`;
    return { allowed: false, refusal: { code: 422, reason: "Invalid", message }, warnings: [] };
  }

  const mates = bridgesOfMount(others, namespace, bridge.target).filter((b) => b.metadata.name !== name && sharePort(b, bridge));
  const table = inPrecedenceOrder([...mates, bridge]);
  const byName = new Map(table.map((b) => [b.metadata.name, b]));
  const findings = analyzeConditions(
    table.map((b) => b.metadata.name),
    table.map((b) => {
      if (b === bridge) return { rules: own.conditions };
      const theirs = bridgeRules(b.providerParameter);
      return { rules: theirs.ok ? theirs.conditions : [] }; // stored before the webhook: takes no part
    }),
  );

  const refusals: string[] = [];
  const warnings: string[] = [];
  /** Other bridges a refusal already names. */
  const refusedWith = new Set<string>();
  const refuse = (line: string, against: GefyraBridge[]) => {
    refusals.push(`${line} [${against.map(owner).join(", ")}]`);
    for (const b of against) refusedWith.add(b.metadata.name);
  };

  for (const f of findings) {
    if (!f.bridges.includes(name)) continue;
    const subject = f.bridges[0] === name;
    const line = describe(f, subject ? f.rules[0] : f.rules[1]!);
    if (f.severity === "warning") {
      warnings.push(line);
    } else if (f.kind === "catch-all") {
      // Names this bridge alone: it takes every request no earlier bridge takes.
      const rivals = mates.filter((b) => !sameDeveloper(b, bridge));
      if (rivals.length > 0) refuse(`${line}; other developers have bridges on mount ${q(bridge.target)}`, rivals);
      else warnings.push(`${line} (allowed while mount ${q(bridge.target)} has no other developer's bridge)`);
    } else {
      // duplicate or shadowed: this bridge loses to the other (subject), or the other to it.
      const other = byName.get(f.bridges[subject ? 1 : 0]!)!;
      if (sameDeveloper(other, bridge)) warnings.push(`${line} (allowed: both bridges are the same developer's)`);
      else refuse(line, [other]);
    }
  }
  // Another developer's catch-all leaves no room on the mount, wherever this bridge stands.
  for (const f of findings) {
    const holder = byName.get(f.bridges[0])!;
    if (f.kind !== "catch-all" || holder === bridge || sameDeveloper(holder, bridge) || refusedWith.has(holder.metadata.name)) continue;
    refuse(`mount ${q(bridge.target)}: ${f.message}; another developer's bridge cannot share the mount with it`, [holder]);
  }

  if (refusals.length === 0) return { allowed: true, warnings: listed(warnings) };
  const message =
    `${owner(bridge)} conflicts with another developer's bridge on mount ${q(bridge.target)} ` +
    `(bridges are tried oldest first, the first hit wins): ${listed(refusals).join("; ")}`;
  return { allowed: false, refusal: { code: 403, reason: "Forbidden", message }, warnings: listed(warnings) };
}
