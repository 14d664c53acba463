/**
 * Admin internals, table-driven: entity-tag preconditions, token checks, the event hub's bounds, the
 * error-code table (every code documented in docs/admin-api.md), and the state file's atomic writes.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AdminAuth } from "../src/admin/auth.ts";
import { ifMatchHolds } from "../src/admin/config-store.ts";
import { ADMIN_ERRORS, AdminError } from "../src/admin/errors.ts";
import { readStateFile, writeStateFile } from "../src/admin/state-file.ts";
import { validateConfig } from "../src/config/index.ts";
import { EventBatcher, type EventConsumer, EventHub, MAX_BATCH, type RequestEvent, requestChannel } from "../src/observability/events.ts";
import { tempDir } from "./helpers/harness.ts";

describe("If-Match", () => {
  it.each([
    ['"7"', 7, true],
    ["7", 7, true],
    [' "6", "7" ', 7, true],
    ['"6"', 7, false],
    ['W/"7"', 7, false],
    ['"07x"', 7, false],
    ["*", 7, true],
    ["*", 0, false],
    ['"0"', 0, true],
    ["", 7, false],
  ] as const)("%j against generation %i → %s", (header, generation, holds) => {
    expect(ifMatchHolds(header, generation)).toBe(holds);
  });
});

describe("AdminAuth", () => {
  it("accepts exactly `Bearer <token>` (scheme case-insensitive)", () => {
    const auth = AdminAuth.fromToken("s3cret");
    expect(auth.required).toBe(true);
    for (const h of ["Bearer s3cret", "bearer s3cret", "BEARER  s3cret "]) expect(auth.check(h), h).toBe(true);
    for (const h of [undefined, "", "s3cret", "Bearer", "Bearer s3cre", "Bearer s3crett", "Basic s3cret", "Bearer s3cret extra"]) expect(auth.check(h), String(h)).toBe(false);
  });

  it("without a token everything is accepted", () => {
    const auth = AdminAuth.none();
    expect(auth.required).toBe(false);
    expect(auth.check(undefined)).toBe(true);
  });

  it("a token file is read at start (empty is an error) and re-read before refusing", async () => {
    const file = join(await tempDir(), "token");
    await writeFile(file, "\n");
    expect(() => AdminAuth.fromFile(file)).toThrow(/empty/);
    await writeFile(file, "one\n");
    const auth = AdminAuth.fromFile(file);
    try {
      expect(auth.check("Bearer one")).toBe(true);
      await writeFile(file, "two-longer\n");
      expect(auth.check("Bearer two-longer")).toBe(true);
      expect(auth.check("Bearer one")).toBe(false);
    } finally {
      auth.close();
    }
  });
});

const event = (i: number): RequestEvent => ({
  type: "request",
  time: "2026-01-01T00:00:00.000Z",
  port: 8080 + (i % 2),
  route: "cluster",
  rule: null,
  method: "GET",
  path: `/${i}`,
  status: 200,
  duration_ms: 1,
  generation: 1,
  upstream: null,
  request_id: String(i),
  error: null,
});

function fakeConsumer(filter?: (e: RequestEvent) => boolean) {
  const c = { bufferedAmount: 0, sent: [] as string[], dropped: false } as EventConsumer & { bufferedAmount: number; sent: string[]; dropped: boolean };
  c.send = (t: string) => void c.sent.push(t);
  c.dropSlow = () => {
    c.dropped = true;
  };
  if (filter) c.accepts = filter;
  return c;
}

describe("EventHub", () => {
  it("turns production on with the first consumer and off with the last", () => {
    const active: boolean[] = [];
    const hub = new EventHub({ onActive: (on) => active.push(on) });
    const a = hub.add(fakeConsumer());
    const b = hub.add(fakeConsumer());
    a();
    b();
    b();
    expect(active).toEqual([true, false]);
  });

  it("drops a consumer that is too far behind, and only that one; filters apply per consumer", () => {
    let slow = 0;
    const hub = new EventHub({ onActive: () => {}, onSlow: () => slow++, maxBuffered: 100 });
    const fast = fakeConsumer();
    const lagging = fakeConsumer();
    const only8080 = fakeConsumer((e) => e.port === 8080);
    hub.add(fast);
    hub.add(lagging);
    hub.add(only8080);
    hub.publish([event(0), event(1)], 0);
    lagging.bufferedAmount = 101;
    hub.publish([event(2)], 3);
    expect(fast.sent.map((t) => JSON.parse(t))).toEqual([event(0), event(1), event(2), { type: "dropped", count: 3 }]);
    expect(lagging.sent).toHaveLength(2);
    expect(lagging.dropped).toBe(true);
    expect(only8080.sent.map((t) => JSON.parse(t).request_id ?? "dropped")).toEqual(["0", "2", "dropped"]);
    expect(slow).toBe(1);
    expect(hub.size).toBe(2);
  });
});

describe("EventBatcher", () => {
  it("publishes nothing unless started, batches, and bounds a batch (the rest is counted as dropped)", () => {
    const batches: [number, number][] = [];
    const batcher = new EventBatcher((events, dropped) => batches.push([events.length, dropped]));
    expect(requestChannel.hasSubscribers).toBe(false);
    batcher.start();
    expect(requestChannel.hasSubscribers).toBe(true);
    for (let i = 0; i < MAX_BATCH + 5; i++) requestChannel.publish(event(i));
    batcher.stop();
    expect(requestChannel.hasSubscribers).toBe(false);
    expect(batches).toEqual([[MAX_BATCH, 5]]);
  });
});

describe("error codes", () => {
  it.each(Object.entries(ADMIN_ERRORS))("%s is documented with its status in docs/admin-api.md", async (code, spec) => {
    const doc = await readFile(new URL("../../docs/admin-api.md", import.meta.url), "utf8");
    const row = doc.split("\n").find((l) => l.startsWith(`| \`${code}\``));
    expect(row, `docs/admin-api.md has no row for ${code}`).toBeDefined();
    expect(row).toContain(`| ${spec.status} |`);
  });

  it("an error body is {error, code, issues?, ...details}", () => {
    expect(new AdminError("C2_ADMIN_INVALID_CONFIG", "bad", { issues: [{ path: "a", message: "b" }] }).body()).toEqual({
      error: "bad",
      code: "C2_ADMIN_INVALID_CONFIG",
      issues: [{ path: "a", message: "b" }],
    });
    expect(new AdminError("C2_ADMIN_PRECONDITION_FAILED", undefined, { details: { generation: 3 } }).body()).toEqual({
      error: ADMIN_ERRORS.C2_ADMIN_PRECONDITION_FAILED.message,
      code: "C2_ADMIN_PRECONDITION_FAILED",
      generation: 3,
    });
  });
});

describe("state file", () => {
  it("round-trips a configuration and leaves no temporary file behind", async () => {
    const dir = await tempDir();
    const file = join(dir, "nested", "state.json");
    const result = validateConfig({ version: 1, proxy: [{ port: 8080, clusterUpstream: ["a:1"] }] });
    if (!result.ok) throw new Error("invalid");
    expect(await readStateFile(file)).toBeUndefined();
    await writeStateFile(file, 3, result.config);
    await writeStateFile(file, 4, result.config);
    const saved = await readStateFile(file);
    expect(saved?.generation).toBe(4);
    expect(validateConfig(saved?.config)).toMatchObject({ ok: true, config: result.config });
    expect(await readdir(join(dir, "nested"))).toEqual(["state.json"]);
    await writeFile(file, JSON.stringify({ version: 2, generation: 1, config: {} }));
    await expect(readStateFile(file)).rejects.toThrow(/not a Carrier2 state file/);
  });
});
