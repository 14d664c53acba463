import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { crdFiles } from "../../src/crds.ts";

const dir = new URL("../../../deploy/crds/", import.meta.url);

describe("deploy/crds", () => {
  it("holds exactly what src/crds.ts generates (run `npm run gen:crds -w @carrier2/operator`)", () => {
    const generated = crdFiles();
    expect(readdirSync(dir).sort()).toEqual([...generated.keys()].sort());
    for (const [file, text] of generated) expect(readFileSync(new URL(file, dir), "utf8"), file).toBe(text);
  });
});
