/**
 * Admin API with `threads: 2`: changes are atomic across workers, lose no request under load, open and
 * close ports everywhere, and survive a worker being killed. Black-box: real processes, real sockets;
 * routing is checked per request against the generation that decided it (from the access log).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "undici";
import { WebSocket } from "ws";
import { type AdminClient, fresh, sample, startWithAdmin } from "./helpers/admin.ts";
import { type Carrier2, echo, freePort, get, headerRule, type LogLine, proxyPort, startUpstream, type Upstream } from "./helpers/harness.ts";

type Ups = Record<"cluster" | "alice" | "bobA" | "bobB" | "carol", Upstream>;

/** Two route tables that differ in what they do with bob and /carol; alice and the rest never change. */
function tableConfig(which: "X" | "Y", port: number, u: Ups) {
  const carol = { endpoint: u.carol.address, rules: [{ match: [{ matchPath: { path: "/carol", type: "prefix" } }] }] };
  const rest = {
    alice: { endpoint: u.alice.address, rules: [headerRule("alice")] },
    bob: { endpoint: (which === "X" ? u.bobA : u.bobB).address, rules: [headerRule("bob")] },
  };
  return {
    version: 1,
    threads: 2,
    timeouts: { drainMs: 5_000 },
    proxy: [proxyPort(port, [u.cluster.address], which === "X" ? rest : { carol, ...rest })],
  };
}

/** The kinds of request the tests send, and who must serve each under X and under Y. */
const KINDS = [
  { path: "/a", headers: { "x-gefyra": "alice" }, X: "alice", Y: "alice" },
  { path: "/b", headers: { "x-gefyra": "bob" }, X: "bobA", Y: "bobB" },
  { path: "/carol/page", headers: {}, X: "cluster", Y: "carol" },
  { path: "/plain?x=1", headers: {}, X: "cluster", Y: "cluster" },
] as const;

describe("admin API with threads: 2", () => {
  let u: Ups;
  let port: number;
  let c2: Carrier2;
  let admin: AdminClient;
  /** generation → which table it is. */
  const tableOf = new Map<number, "X" | "Y">([[1, "X"]]);

  const put = async (which: "X" | "Y") => {
    const { generation } = await admin.config();
    const r = await admin.putConfig(tableConfig(which, port, u), generation);
    expect(r.status, r.body).toBe(200);
    const next = r.json().generation as number;
    tableOf.set(next, which);
    return next;
  };
  const workerPids = async () => {
    const status = (await admin.call("GET", "/v1/status")).json() as { workers: { pid: number; generation: number }[] };
    return status.workers;
  };
  const requestLogs = () => c2.logs.filter((l) => l.msg === "request");

  beforeAll(async () => {
    u = {
      cluster: await startUpstream("cluster"),
      alice: await startUpstream("alice"),
      bobA: await startUpstream("bobA"),
      bobB: await startUpstream("bobB"),
      carol: await startUpstream("carol"),
    };
    port = await freePort();
    ({ c2, admin } = await startWithAdmin(tableConfig("X", port, u)));
  });

  afterAll(async () => {
    await c2?.stop();
    await Promise.all(Object.values(u ?? {}).map((x) => x.close()));
  });

  it("after a 200, every fresh connection is routed by the new table, on every worker", async () => {
    for (let round = 0; round < 6; round++) {
      const which = round % 2 === 0 ? "Y" : "X";
      const generation = await put(which);
      expect((await workerPids()).map((w) => w.generation)).toEqual([generation, generation]);
      for (let i = 0; i < 8; i++) {
        for (const kind of KINDS) {
          const r = await fresh(port, kind.path, { ...kind.headers, "request-id": `fresh-${generation}-${i}-${kind.path}` });
          expect(r.status).toBe(200);
          expect(r.json().servedBy, `${kind.path} under ${which}`).toBe(kind[which]);
        }
      }
    }
    // Both workers took part (SO_REUSEPORT spreads fresh connections), each at the generation it was given.
    const lines = await c2.waitForLogs((l) => l.msg === "request" && String(l.request_id).startsWith("request-id:fresh-"), 6 * 8 * KINDS.length);
    expect(new Set(lines.map((l) => l.pid)).size).toBe(2);
  });

  it("churn under load: 4 keep-alive clients, 32 alternating PUTs, zero failed or misrouted requests", async () => {
    const CLIENTS = 4;
    const MIN_PER_CLIENT = 600;
    const PUTS = 32;
    let putsDone = false;
    let total = 0;
    const failures: string[] = [];
    const answers = new Map<string, string>(); // request id → who served it
    let applied = await admin.generation(); // the last generation whose PUT returned 200
    const floors = new Map<string, number>(); // request id → the generation applied when it was sent

    const client = async (n: number) => {
      const conn = new Client(`http://127.0.0.1:${port}`, { pipelining: 1, keepAliveTimeout: 60_000 });
      try {
        for (let i = 0; !putsDone || i < MIN_PER_CLIENT; i++) {
          const kind = KINDS[(i + n) % KINDS.length]!;
          const id = `churn-${n}-${i}`;
          floors.set(id, applied);
          try {
            const res = await conn.request({ path: kind.path, method: "GET", headers: { ...kind.headers, "request-id": id } });
            const text = await res.body.text();
            if (res.statusCode !== 200) failures.push(`${id}: ${res.statusCode} ${text}`);
            else answers.set(id, (JSON.parse(text) as { servedBy: string }).servedBy);
          } catch (err) {
            failures.push(`${id}: ${(err as Error).message}`);
          }
          total++;
        }
      } finally {
        await conn.close();
      }
    };
    const pusher = async () => {
      try {
        for (let i = 0; i < PUTS; i++) {
          // Spread the changes over the traffic: wait for some requests between two PUTs.
          const mark = total;
          while (total < mark + 40) await new Promise((r) => setTimeout(r, 5));
          applied = await put(i % 2 === 0 ? "Y" : "X");
        }
      } finally {
        putsDone = true;
      }
    };
    await Promise.all([pusher(), ...Array.from({ length: CLIENTS }, (_, n) => client(n))]);

    expect(failures).toEqual([]);
    expect(total).toBeGreaterThanOrEqual(CLIENTS * MIN_PER_CLIENT);
    expect(total).toBe(answers.size);
    // Every request was served by whom the generation that decided it (its access-log line) says, and
    // no request sent after a PUT's 200 was decided by an older table.
    const decided = new Map<string, LogLine>();
    for (const l of requestLogs()) decided.set(String(l.request_id).replace(/^request-id:/, ""), l);
    for (const id of answers.keys()) {
      // A log line is written when the response ends; the last ones may still be on their way.
      if (!decided.has(id)) decided.set(id, await c2.waitForLog((l) => l.request_id === `request-id:${id}`));
    }
    const misrouted: string[] = [];
    const generationsSeen = new Set<number>();
    for (const [id, servedBy] of answers) {
      const line = decided.get(id);
      if (!line) throw new Error(`${id}: no access-log line`);
      const table = tableOf.get(line.generation as number);
      const kind = KINDS.find((k) => line.path === k.path)!;
      generationsSeen.add(line.generation as number);
      if (!table || servedBy !== kind[table]) misrouted.push(`${id}: generation ${line.generation} (${table}) ${kind.path} → ${servedBy}`);
      // Sent after a PUT's 200: decided by that generation or a later one, never an older one.
      if ((line.generation as number) < floors.get(id)!) misrouted.push(`${id}: decided by generation ${line.generation}, sent after ${floors.get(id)} applied`);
    }
    expect(misrouted).toEqual([]);
    // The traffic really spanned the changes.
    expect(generationsSeen.size).toBeGreaterThan(PUTS / 2);
  });

  it("opens ports a change adds and closes ports it removes; a request in flight on a removed port finishes", async () => {
    const extra = await freePort();
    const { generation } = await admin.config();
    const base = tableConfig(tableOf.get(generation)!, port, u);
    const held: (() => void)[] = [];
    const slow = await startUpstream("slow", (req, res, self) => {
      held.push(() => echo(req, res, self));
    });
    try {
      await expect(fresh(extra, "/")).rejects.toThrow(/ECONNREFUSED/);
      const added = { ...base, proxy: [...base.proxy, proxyPort(extra, [slow.address])] };
      const r = await admin.putConfig(added);
      expect(r.status).toBe(200);
      tableOf.set(r.json().generation as number, tableOf.get(generation)!);
      const inFlight = get(`http://127.0.0.1:${extra}/held`);
      while (held.length === 0) await new Promise((res) => setTimeout(res, 10));

      const removed = await admin.putConfig(base);
      expect(removed.status).toBe(200);
      tableOf.set(removed.json().generation as number, tableOf.get(generation)!);
      for (let i = 0; i < 6; i++) await expect(fresh(extra, "/")).rejects.toThrow(/ECONNREFUSED/);
      expect((await fresh(port, "/plain?x=1")).json().servedBy).toBe("cluster");
      held[0]!();
      const answer = await inFlight;
      expect(answer.status).toBe(200);
      expect(answer.json().servedBy).toBe("slow");
    } finally {
      await slow.close();
    }
  });

  it("metrics and events cover every worker", async () => {
    const { generation } = await admin.config();
    const ws = new WebSocket(`ws://${admin.address}/v1/events?port=${port}`);
    const events: { type: string; pid?: number; request_id?: string }[] = [];
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    ws.on("message", (data) => events.push(JSON.parse(String(data)) as { type: string }));
    const before = await admin.metrics();
    const N = 24;
    for (let i = 0; i < N; i++) expect((await fresh(port, "/a", { "x-gefyra": "alice", "request-id": `ev-${i}` })).status).toBe(200);
    while (events.filter((e) => String(e.request_id).startsWith("request-id:ev-")).length < N) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    const after = await admin.metrics();
    const labels = `port="${port}",route="alice",status_class="2xx"`;
    expect(sample(after, "carrier2_requests_total", labels) - sample(before, "carrier2_requests_total", labels)).toBe(N);
    const route = `port="${port}",route="alice"`;
    const observed = (text: string) => sample(text, "carrier2_request_duration_seconds_count", route);
    expect(observed(after) - observed(before)).toBe(N);
    expect(sample(after, "carrier2_request_duration_seconds_bucket", `le="+Inf",${route}`)).toBe(observed(after));
    expect(sample(after, "carrier2_config_generation")).toBe(generation);
    // Both workers served some of those requests, and both reported them.
    const lines = await c2.waitForLogs((l) => l.msg === "request" && String(l.request_id).startsWith("request-id:ev-"), N);
    expect(new Set(lines.map((l) => l.pid)).size).toBe(2);
  });

  it("a killed worker is replaced, and the replacement serves the same generation", async () => {
    const { generation } = await admin.config();
    const table = tableOf.get(generation)!;
    const [victim, survivor] = await workerPids();
    process.kill(victim!.pid, "SIGKILL");
    const replaced = await c2.waitForLog((l) => l.msg === "replacement worker serving");
    expect(replaced.generation).toBe(generation);
    const workers = await workerPids();
    expect(workers.map((w) => w.pid)).toContain(survivor!.pid);
    expect(workers.map((w) => w.pid)).not.toContain(victim!.pid);
    expect(workers.map((w) => w.generation)).toEqual([generation, generation]);
    expect(await admin.generation()).toBe(generation);

    for (let i = 0; i < 16; i++) {
      for (const kind of KINDS) {
        const r = await fresh(port, kind.path, { ...kind.headers, "request-id": `after-kill-${i}-${kind.path}` });
        expect(r.status).toBe(200);
        expect(r.json().servedBy).toBe(kind[table]);
      }
    }
    const fresh_ = workers.find((w) => w.pid !== survivor!.pid)!;
    const afterKill = await c2.waitForLogs((l) => l.msg === "request" && String(l.request_id).startsWith("request-id:after-kill-"), 16 * KINDS.length);
    const byNew = afterKill.filter((l) => l.pid === fresh_.pid);
    expect(byNew.length).toBeGreaterThan(0);
    expect(new Set(byNew.map((l) => l.generation))).toEqual(new Set([generation]));
    // And changes keep working with the new worker.
    const next = await put(table === "X" ? "Y" : "X");
    expect((await workerPids()).map((w) => w.generation)).toEqual([next, next]);
  });
});
