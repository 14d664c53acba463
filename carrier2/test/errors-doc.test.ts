import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PROXY_ERRORS } from "../src/proxy/errors.ts";

describe("error codes", () => {
  const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
  it.each(Object.entries(PROXY_ERRORS))("%s is documented with its status in docs/errors.md", (code, spec) => {
    const row = doc.split("\n").find((l) => l.startsWith(`| \`${code}\``));
    expect(row, `docs/errors.md has no row for ${code}`).toBeDefined();
    if (spec.status > 0) expect(row).toContain(`| ${spec.status} |`);
  });
});
