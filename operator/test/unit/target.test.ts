import { describe, expect, it } from "vitest";
import { TARGET_PATTERN } from "../../src/crds.ts";
import { parseTarget } from "../../src/target.ts";

describe("parseTarget", () => {
  it.each([
    ["deployment/backend", "deployment"],
    ["deploy/backend", "deployment"],
    ["statefulset/backend", "statefulset"],
    ["sts/backend", "statefulset"],
    ["pod/backend", "pod"],
    ["po/backend", "pod"],
  ])("%s is a %s", (target, kind) => {
    expect(parseTarget(target)).toEqual({ kind, name: "backend" });
    expect(target).toMatch(new RegExp(TARGET_PATTERN));
  });

  it.each(["backend", "service/backend", "deployment/", "/backend"])("rejects %s", (target) => {
    expect(() => parseTarget(target)).toThrow(/is not deployment\/NAME/);
    expect(target).not.toMatch(new RegExp(TARGET_PATTERN));
  });
});
