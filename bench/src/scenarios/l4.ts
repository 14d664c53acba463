/**
 * Scenario (7): L4 (TCP) relay. Carrier2 with a `protocol: tcp` port, nginx `stream {}` and HAProxy
 * `mode tcp`, each relaying every connection to the cluster upstream; HTTP is the payload. Variants:
 * one request per connection (connection setup: accept + upstream connect + relay), keep-alive
 * requests (relay of small messages) and 1 MB downloads (MB/s). Runs when this Carrier2 accepts
 * `protocol: tcp` (checked with `carrier2 --test`), else reports why not.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Measurement, RequestSpec } from "../model.ts";
import { baseSpec, type Env, isSkip, levels, measure, type Scenario, scenarioReport, skipped, targetContext } from "../runner.ts";
import { BIG_PATH, clusterRequest, type Routing } from "../targets/routing.ts";
import { carrier2Config, checkRouting, startTarget } from "../targets/targets.ts";
import { SCENARIOS } from "./catalog.ts";

interface Variant {
  name: string;
  requests: RequestSpec[];
  connections?: (env: Env) => number;
  full?: boolean;
}

// `connection: close`: the upstream closes after each response, the relay passes the close on and the
// client reconnects (autocannon's own reconnectRate does not count the response it reconnects on).
const closeEach: RequestSpec = { ...clusterRequest(), headers: { ...clusterRequest().headers, connection: "close" } };

const VARIANTS: Variant[] = [
  { name: "1 request/connection", requests: [closeEach] },
  { name: "keep-alive requests", requests: [clusterRequest()], full: true },
  { name: "download 1 MB", requests: [clusterRequest(BIG_PATH)], connections: (env) => env.profile.bigConnections, full: true },
];

/** Why this Carrier2 cannot relay TCP, or undefined when its configuration check accepts a tcp port. */
function tcpUnsupported(env: Env): string | undefined {
  const file = join(env.dir, "l4-check.yaml");
  writeFileSync(file, JSON.stringify(carrier2Config(1, 1, { bridges: [], cluster: env.upstream.cluster, bridge: env.upstream.bridge }, "tcp")));
  try {
    execFileSync(process.execPath, [env.profile.carrier2Bin, "--test", "-c", file], { encoding: "utf8", timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] });
    return undefined;
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
    return `this Carrier2 rejects a \`protocol: tcp\` port: ${text.split("\n").slice(0, 3).join(" ")}`;
  }
}

async function run(env: Env) {
  const info = SCENARIOS["7"];
  env.say(`\n${info.title}`);
  if (env.profile.kinds.includes("carrier2")) {
    const why = tcpUnsupported(env);
    if (why) {
      env.say(`  not available: ${why}`);
      return [{ ...scenarioReport("7", [], [why]), status: "not available" as const }];
    }
  }
  const routing: Routing = { bridges: [], cluster: env.upstream.cluster, bridge: env.upstream.bridge };
  const variants = VARIANTS.filter((v) => !v.full || env.profile.mode === "full");
  const measurements: Measurement[] = [];
  for (const workers of levels(env, "7")) {
    for (const kind of env.profile.kinds) {
      if ((kind === "direct" && workers !== 1) || !env.profile.l4Kinds.has(kind)) continue;
      const target = await startTarget(kind, workers, targetContext(env, routing, { protocol: "tcp" }));
      const why = isSkip(target) ? target.skip : await checkRouting(target, routing, "tcp");
      if (why || isSkip(target)) {
        env.say(`  ${kind}×${workers}: SKIPPED: ${why}`);
        for (const v of variants) measurements.push(skipped(info.key, v.name, kind, workers, why ?? "skipped"));
        if (!isSkip(target)) await target.stop();
        continue;
      }
      try {
        for (const v of variants) {
          const over = v.connections ? { connections: v.connections(env) } : {};
          measurements.push(await measure(env, target, info.key, v.name, baseSpec(env, target, v.requests, over)));
        }
      } finally {
        await target.stop();
      }
    }
  }
  const notes = [
    "HTTP/1.1 is the payload; every relay forwards to the cluster upstream (nginx `return 200`)",
    "1 request/connection: compare rps (connections/s); its latency includes the load generator's reconnect wait",
  ];
  return [scenarioReport("7", measurements, notes)];
}

export const l4: Scenario = { ids: ["7"], run };
