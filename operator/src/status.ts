/**
 * What a reconcile reports: the Gefyra-compatible `state` with `stateTransitions` (top-level fields,
 * read by Gefyra's clients) and standard `status.conditions`. Pure: the reconcile computes the
 * report, `reportChanges` says what differs from the object, and only that is written.
 */
import type { Condition } from "./crds.ts";

export type ConditionInput = Omit<Condition, "lastTransitionTime" | "observedGeneration">;

export interface Report<S extends string> {
  state: S;
  conditions: ConditionInput[];
}

export interface Reported<S extends string> {
  state?: S;
  stateTransitions?: Partial<Record<S, string>>;
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

/** The writes that bring an object's report up to date; empty parts need no write. */
export interface ReportChanges<S extends string> {
  /** Merge patch for the main resource (`state`, `stateTransitions`), or undefined. */
  object?: { state: S; stateTransitions: Partial<Record<S, string>> };
  /** The full status (conditions replace the list), or undefined. */
  status?: { observedGeneration: number; conditions: Condition[] };
}

export function reportChanges<S extends string>(
  current: Reported<S>,
  report: Report<S>,
  generation: number,
  now: Date,
): ReportChanges<S> {
  const changes: ReportChanges<S> = {};
  if (current.state !== report.state) {
    changes.object = {
      state: report.state,
      stateTransitions: { ...current.stateTransitions, [report.state]: now.toISOString() },
    };
  }
  const conditions = mergeConditions(current.status?.conditions ?? [], report.conditions, generation, now);
  const before = current.status?.conditions ?? [];
  if (current.status?.observedGeneration !== generation || !sameConditions(before, conditions)) {
    changes.status = { observedGeneration: generation, conditions };
  }
  return changes;
}

/** Conditions as reported, keeping `lastTransitionTime` where a condition's status did not change. */
export function mergeConditions(
  current: readonly Condition[],
  next: readonly ConditionInput[],
  generation: number,
  now: Date,
): Condition[] {
  return next.map((c) => {
    const previous = current.find((p) => p.type === c.type);
    const lastTransitionTime =
      previous && previous.status === c.status ? previous.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, "Z");
    return { ...c, observedGeneration: generation, lastTransitionTime };
  });
}

function sameConditions(a: readonly Condition[], b: readonly Condition[]): boolean {
  if (a.length !== b.length) return false;
  return b.every((c) => {
    const p = a.find((x) => x.type === c.type);
    return (
      p !== undefined &&
      p.status === c.status &&
      p.reason === c.reason &&
      p.message === c.message &&
      p.observedGeneration === c.observedGeneration &&
      p.lastTransitionTime === c.lastTransitionTime
    );
  });
}
