import { describe, expect, it } from "vitest";
import type { Condition } from "../../src/crds.ts";
import { mergeConditions, reportChanges } from "../../src/status.ts";

const t0 = new Date("2026-01-01T10:00:00.123Z");
const t1 = new Date("2026-01-01T11:00:00.456Z");
const ready = (status: Condition["status"], reason: string) => ({ type: "Ready", status, reason, message: reason });

describe("reportChanges", () => {
  it("writes state, a transition time and conditions the first time", () => {
    const changes = reportChanges({}, { state: "PREPARING", conditions: [ready("False", "Waiting")] }, 2, t0);
    expect(changes).toEqual({
      object: { state: "PREPARING", stateTransitions: { PREPARING: "2026-01-01T10:00:00.123Z" } },
      status: {
        observedGeneration: 2,
        conditions: [{ ...ready("False", "Waiting"), observedGeneration: 2, lastTransitionTime: "2026-01-01T10:00:00Z" }],
      },
    });
  });

  it("writes nothing when the report is what the object already says", () => {
    const report = { state: "PREPARING", conditions: [ready("False", "Waiting")] };
    const first = reportChanges({}, report, 2, t0);
    const current = { state: "PREPARING", stateTransitions: first.object!.stateTransitions, status: first.status };
    expect(reportChanges(current, report, 2, t1)).toEqual({});
  });

  it("keeps earlier transitions and records the new state's", () => {
    const changes = reportChanges(
      { state: "REQUESTED", stateTransitions: { REQUESTED: "2026-01-01T09:00:00Z" } },
      { state: "PREPARING", conditions: [] },
      1,
      t0,
    );
    expect(changes.object!.stateTransitions).toEqual({
      REQUESTED: "2026-01-01T09:00:00Z",
      PREPARING: "2026-01-01T10:00:00.123Z",
    });
  });

  it("rewrites the conditions for a new generation even if they read the same", () => {
    const first = reportChanges({}, { state: "A", conditions: [ready("False", "Waiting")] }, 1, t0);
    const again = reportChanges({ state: "A", status: first.status }, { state: "A", conditions: [ready("False", "Waiting")] }, 2, t1);
    expect(again.object).toBeUndefined();
    expect(again.status!.observedGeneration).toBe(2);
    expect(again.status!.conditions[0]!.lastTransitionTime).toBe("2026-01-01T10:00:00Z");
  });
});

describe("mergeConditions", () => {
  it("moves lastTransitionTime only when the status changes", () => {
    const before = mergeConditions([], [ready("False", "Waiting")], 1, t0);
    const sameStatus = mergeConditions(before, [ready("False", "StillWaiting")], 1, t1);
    const flipped = mergeConditions(before, [ready("True", "Done")], 1, t1);
    expect(sameStatus[0]!.lastTransitionTime).toBe("2026-01-01T10:00:00Z");
    expect(flipped[0]!.lastTransitionTime).toBe("2026-01-01T11:00:00Z");
  });
});
