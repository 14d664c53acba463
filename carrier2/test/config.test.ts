import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatIssues, parseConfigText, validateConfig } from "../src/config/index.ts";
import { autoThreads, cgroupCpus } from "../src/config/threads.ts";
import { BIN, freePort, startCarrier2, tempDir } from "./helpers/harness.ts";

const base = (bridges: unknown, extra: Record<string, unknown> = {}) => ({
  version: 1,
  proxy: [{ port: 8080, clusterUpstream: ["svc.demo:8080"], bridges, ...extra }],
});

function issuesOf(input: unknown): string[] {
  const r = validateConfig(input, { checkFiles: true });
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

describe("config validation", () => {
  it("accepts Gefyra's format including the Gefyra-only keys, with defaults", () => {
    const r = parseConfigText(`
version: 1
threads: 4
pid_file: /tmp/carrier2.pid
error_log: /tmp/carrier.log
upgrade_sock: /tmp/carrier2.sock
upstream_keepalive_pool_size: 100
probes:
  httpGet: [8001, 8002]
proxy:
  - port: 8080
    clusterUpstream:
      - "backend-gefyra-svc.demo.svc.cluster.local:8080"
    bridges:
      user-1:
        endpoint: "10.0.0.7:8080"
        rules:
          - match:
              - matchHeader: {name: "x-gefyra", value: "user-1"}
              - matchPath: {path: "/my-svc", type: prefix}
`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.threads).toBe(4);
    const auto = parseConfigText("version: 1\nthreads: auto\n");
    expect(auto.ok && auto.config.threads).toBe(autoThreads());
    expect(r.config.timeouts.connectMs).toBe(5000);
    expect(Object.isFrozen(r.config.proxy[0])).toBe(true);
  });

  it("threads defaults to auto: the CPUs this process may use, at most 4", () => {
    const r = validateConfig({ version: 1 });
    expect(r.ok && r.config.threads).toBe(autoThreads());
    expect(cgroupCpus("max 100000")).toBeUndefined();
    expect(cgroupCpus("150000 100000")).toBe(2);
    expect(cgroupCpus("50000 100000")).toBe(1);
    expect(issuesOf({ version: 1, threads: "many" })).toEqual(["threads: must be a whole number from 1 to 256, or auto"]);
  });

  it("accepts empty sections written as YAML nulls", () => {
    expect(parseConfigText("version: 1\nproxy:\n  - port: 8080\n    bridges:\n").ok).toBe(true);
  });

  it.each([
    [
      "bad regex names the full path",
      base({ alice: { endpoint: "a:1", rules: [{ match: [{ matchHeader: { name: "x-gefyra", value: "(", type: "regex" } }] }] } }),
      "proxy[0].bridges.alice.rules[0].match[0].matchHeader.value: invalid regular expression",
    ],
    [
      "super-linear regex is refused",
      base({ alice: { endpoint: "a:1", rules: [{ match: [{ matchPath: { path: "(a)\\1", type: "regex" } }] }] } }),
      "proxy[0].bridges.alice.rules[0].match[0].matchPath.path: invalid regular expression: /(a)\\1/ needs backtracking",
    ],
    ["unknown key", { version: 1, proxy: [{ port: 1, bogus: true }] }, "proxy[0].bogus: unknown field"],
    ["missing endpoint", base({ bob: { rules: [{ match: [{ matchPath: { path: "/" } }] }] } }), "proxy[0].bridges.bob.endpoint: is required"],
    ["endpoint not host:port", base({ bob: { endpoint: "nope", rules: [{ match: [{ matchPath: { path: "/" } }] }] } }), "proxy[0].bridges.bob.endpoint: must be host:port"],
    ["endpoint port range", base({ bob: { endpoint: "h:70000", rules: [{ match: [{ matchPath: { path: "/" } }] }] } }), "proxy[0].bridges.bob.endpoint: port 70000 out of range"],
    [
      "two kinds in one match item",
      base({ bob: { endpoint: "h:1", rules: [{ match: [{ matchPath: { path: "/" }, matchMethod: { method: "GET" } }] }] } }),
      "proxy[0].bridges.bob.rules[0].match[0]: a match item has exactly one of",
    ],
    ["bad match type", base({ bob: { endpoint: "h:1", rules: [{ match: [{ matchPath: { path: "/", type: "glob" } }] }] } }), "proxy[0].bridges.bob.rules[0].match[0].matchPath.type: must be one of exact, prefix, regex"],
    ["value missing for exact header", base({ bob: { endpoint: "h:1", rules: [{ match: [{ matchHeader: { name: "x" } }] }] } }), "proxy[0].bridges.bob.rules[0].match[0].matchHeader.value: required when type is exact"],
    ["duplicate port", { version: 1, proxy: [{ port: 80 }, { port: 80 }] }, "proxy[1].port: port 80 is already used by proxy[0].port"],
    ["probe port collides", { version: 1, probes: { httpGet: [80] }, proxy: [{ port: 80 }] }, "probes.httpGet[0]: port 80 is already used by proxy[0].port"],
    ["numeric bridge name", base({ "1": { endpoint: "h:1", rules: [{ match: [{ matchPath: { path: "/" } }] }] } }), "proxy[0].bridges.1: invalid name"],
    ["version", { version: 2 }, "version: must be 1"],
    ["tls files must exist", { version: 1, proxy: [{ port: 1, tls: { certificate: "/nonexistent/c.pem", key: "/nonexistent/k.pem" } }] }, "proxy[0].tls.certificate: cannot read /nonexistent/c.pem: ENOENT"],
  ])("%s", (_name, input, expected) => {
    const issues = issuesOf(input);
    expect(issues.join("\n")).toContain(expected);
  });

  it("reports every problem, not just the first", () => {
    const issues = issuesOf({ version: 1, proxy: [{ port: 0, bridges: { a: { endpoint: "x", rules: [] } } }] });
    expect(issues.length).toBeGreaterThanOrEqual(3);
  });

  it("refuses duplicate YAML keys (an ambiguous bridge table)", () => {
    const r = parseConfigText("version: 1\nversion: 1\n");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(formatIssues(r.issues)).toMatch(/not valid YAML\/JSON/);
  });

  it("accepts JSON", () => {
    expect(parseConfigText(JSON.stringify(base({}))).ok).toBe(true);
  });
});

describe("carrier2 command line", () => {
  it("--help prints usage and exits 0", () => {
    const r = spawnSync(process.execPath, [BIN, "--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Usage: carrier2");
  });

  it("an invalid file exits non-zero with one line per problem naming its path", async () => {
    const file = join(await tempDir(), "bad.yaml");
    await writeFile(
      file,
      "version: 1\nproxy:\n  - port: 8080\n    bridges:\n      alice:\n        endpoint: a:1\n        rules:\n          - match:\n              - matchHeader: {name: x-gefyra, value: '(', type: regex}\n",
    );
    const r = spawnSync(process.execPath, [BIN, "-c", file], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("proxy[0].bridges.alice.rules[0].match[0].matchHeader.value: invalid regular expression");
  });

  it("-t validates and exits 0 for a valid file", async () => {
    const file = join(await tempDir(), "ok.yaml");
    await writeFile(file, "version: 1\nproxy:\n  - port: 8080\n    clusterUpstream: ['a:1']\n");
    const r = spawnSync(process.execPath, [BIN, "-t", "-c", file], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("is valid");
  });

  it("runs `threads: auto` workers when the file does not say", async () => {
    const port = await freePort();
    const c2 = await startCarrier2(`version: 1\nproxy:\n  - port: ${port}\n    clusterUpstream: ["127.0.0.1:9"]\n`);
    try {
      const serving = await c2.waitForLog((l) => l.msg === "serving");
      expect(serving.threads).toBe(autoThreads());
    } finally {
      await c2.stop();
    }
  });

  it("an unknown flag exits 2 with usage", () => {
    const r = spawnSync(process.execPath, [BIN, "--bogus"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Usage: carrier2");
  });
});
