/**
 * What survives a restart (`--state-file`) and what SIGHUP does, through real processes. Both go through
 * the same generation counter and validation as the admin API.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWithAdmin } from "./helpers/admin.ts";
import { freePort, get, headerRule, proxyPort, startUpstream, tempDir, type Upstream } from "./helpers/harness.ts";

describe("state file and SIGHUP", () => {
  let cluster: Upstream;
  let alice: Upstream;

  beforeAll(async () => {
    cluster = await startUpstream("cluster");
    alice = await startUpstream("alice");
  });

  afterAll(async () => {
    await Promise.all([cluster?.close(), alice?.close()]);
  });

  const config = (port: number, bridges: Record<string, unknown> = {}) => ({ version: 1, proxy: [proxyPort(port, [cluster.address], bridges)] });

  it("--state-file: the last applied configuration and generation come back after a restart, preferred over -c", async () => {
    const stateFile = join(await tempDir(), "state", "carrier2.json");
    const portA = await freePort();
    const portB = await freePort();
    const first = await startWithAdmin(config(portA), { args: ["--state-file", stateFile] });
    let restarted: Awaited<ReturnType<typeof startWithAdmin>> | undefined;
    try {
      const r = await first.admin.putConfig(config(portB, { alice: { endpoint: alice.address, rules: [headerRule("alice")] } }), 1);
      expect(r.status).toBe(200);
      expect(r.json().generation).toBe(2);
      const saved = JSON.parse(await readFile(stateFile, "utf8")) as { version: number; generation: number; config: { proxy: { port: number }[] } };
      expect(saved).toMatchObject({ version: 1, generation: 2 });
      expect(saved.config.proxy.map((p) => p.port)).toEqual([portB]);
      expect(await first.c2.stop()).toBe(0);

      // Same command line (-c still names port A): the state file wins.
      restarted = await startWithAdmin(await readFile(first.c2.configFile, "utf8"), { args: ["--state-file", stateFile] });
      const serving = await restarted.c2.waitForLog((l) => l.msg === "serving");
      expect(serving).toMatchObject({ generation: 2, stateFile });
      const now = await restarted.admin.config();
      expect(now.generation).toBe(2);
      expect((now.config as { proxy: { port: number }[] }).proxy.map((p) => p.port)).toEqual([portB]);
      expect((await get(`http://127.0.0.1:${portB}/`, { headers: { "x-gefyra": "alice" } })).json().servedBy).toBe("alice");
      await expect(get(`http://127.0.0.1:${portA}/`)).rejects.toThrow();
      // The counter goes on from there.
      expect((await restarted.admin.putConfig(config(portB), 2)).json().generation).toBe(3);
    } finally {
      await first.c2.stop();
      await restarted?.c2.stop();
    }
  });

  it("a damaged or invalid state file is ignored (logged) and -c is used", async () => {
    const stateFile = join(await tempDir(), "carrier2.json");
    const port = await freePort();
    for (const content of ["{not json", JSON.stringify({ version: 1, generation: 4, config: { version: 1, proxy: [{ port: 0 }] } })]) {
      await writeFile(stateFile, content);
      const { c2, admin } = await startWithAdmin(config(port), { args: ["--state-file", stateFile] });
      try {
        await c2.waitForLog((l) => l.level === "error" && /state file/.test(l.msg));
        expect(await admin.generation()).toBe(1);
        expect((await get(`http://127.0.0.1:${port}/`)).json().servedBy).toBe("cluster");
      } finally {
        await c2.stop();
      }
    }
  });

  it("SIGHUP re-reads -c with the same validation and the same generation counter", async () => {
    const port = await freePort();
    const { c2, admin } = await startWithAdmin(config(port));
    try {
      expect((await admin.putConfig(config(port))).json().generation).toBe(2);
      await writeFile(c2.configFile, stringify(config(port, { alice: { endpoint: alice.address, rules: [headerRule("alice")] } })));
      c2.child.kill("SIGHUP");
      expect((await c2.waitForLog((l) => l.msg === "reloaded")).generation).toBe(3);
      expect(await admin.generation()).toBe(3);
      expect((await get(`http://127.0.0.1:${port}/`, { headers: { "x-gefyra": "alice" } })).json().servedBy).toBe("alice");

      await writeFile(c2.configFile, "version: 1\nproxy:\n  - port: 70000\n");
      c2.child.kill("SIGHUP");
      const refused = await c2.waitForLog((l) => /^reload refused/.test(l.msg));
      expect(refused.issues).toEqual([expect.objectContaining({ path: "proxy[0].port" })]);
      expect(await admin.generation()).toBe(3);
      expect((await get(`http://127.0.0.1:${port}/`, { headers: { "x-gefyra": "alice" } })).json().servedBy).toBe("alice");
      const metrics = await admin.metrics();
      expect(metrics).toContain('carrier2_config_applies_total{source="sighup"} 1');
      expect(metrics).toContain('carrier2_config_rejections_total{source="sighup",reason="invalid"} 1');
    } finally {
      await c2.stop();
    }
  });
});
