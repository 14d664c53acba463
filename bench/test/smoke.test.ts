/**
 * CI smoke: the bench harness still runs end to end (`--smoke`: seconds, Carrier2 and direct only) and
 * writes well-formed results. No timing is asserted, ever: only that figures exist and are sane.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunReport } from "../src/model.ts";

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));

let out: string;
let code: number | null;
let output = "";

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), "carrier2-bench-smoke-"));
  const child = spawn(process.execPath, [MAIN, "--smoke", "--out", out], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    output += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    output += d;
  });
  code = await new Promise((resolve) => child.once("exit", resolve));
}, 110_000);

afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe("bench --smoke", () => {
  it("exits 0", () => {
    expect(code, output).toBe(0);
  });

  it("writes the JSON, markdown and SVG of one run", async () => {
    const files = (await readdir(out)).sort();
    const stamps = new Set(files.map((f) => f.replace(/\.(json|md|svg)$/, "")));
    expect(stamps.size, files.join(", ")).toBe(1);
    const [stamp] = stamps;
    expect(files).toEqual([`${stamp}.json`, `${stamp}.md`, `${stamp}.svg`]);
  });

  it("the JSON report is well-formed: Carrier2 and direct measured, ratios present", async () => {
    const json = (await readdir(out)).find((f) => f.endsWith(".json"))!;
    const report = JSON.parse(await readFile(join(out, json), "utf8")) as RunReport;
    expect(report.format).toBe("carrier2-bench/1");
    expect(report.mode).toBe("smoke");
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(report.machine.loadavgStart).toHaveLength(3);
    const one = report.scenarios.find((s) => s.id === "1-one-developer");
    expect(one?.status).toBe("ran");
    for (const kind of ["direct", "carrier2"]) {
      const m = one!.measurements.find((x) => x.kind === kind);
      expect(m?.result, `${kind}: ${m?.skipped}`).toBeDefined();
      const r = m!.result!;
      expect(r.requests).toBeGreaterThan(0);
      expect(r.rps).toBeGreaterThan(0);
      expect(r.errors).toBe(0);
      expect(r.non2xx).toBe(0);
      expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p99);
      expect(r.latencyMs.p99).toBeLessThanOrEqual(r.latencyMs.p99_9);
    }
    const direct = one!.ratios.find((r) => r.peer === "direct");
    expect(direct?.value).toBeGreaterThan(0);
    const rss = report.scenarios.find((s) => s.id === "8-rss");
    const samples = rss?.measurements[0]?.extra?.rss as { totalMiB: number }[] | undefined;
    if (process.platform === "linux") expect(samples?.length).toBeGreaterThanOrEqual(3);
  });

  it("the markdown names every scenario and the SVG is an SVG document", async () => {
    const files = await readdir(out);
    const md = await readFile(join(out, files.find((f) => f.endsWith(".md"))!), "utf8");
    expect(md).toContain("One developer's header route");
    expect(md).toContain("carrier2/direct");
    const svg = await readFile(join(out, files.find((f) => f.endsWith(".svg"))!), "utf8");
    expect(svg.startsWith("<?xml")).toBe(true);
    expect(svg).toContain("<svg");
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("carrier2×1");
  });
});
