/**
 * Scenario (6): WebSocket echo messages/s. A separate Node upstream echoes every message (nginx cannot);
 * each target routes the upgrade on `x-gefyra` like any request, then tunnels. Each connection sends a
 * 64-byte message, waits for the echo and sends the next: messages/s and round-trip latency.
 */
import type { Measurement } from "../model.ts";
import { baseSpec, type Env, isSkip, levels, measure, type Scenario, scenarioReport, skipped, targetContext } from "../runner.ts";
import { developerNames, developerRequest, type Routing } from "../targets/routing.ts";
import { checkRouting, startTarget } from "../targets/targets.ts";
import { startNodeUpstream } from "../targets/upstream.ts";
import { SCENARIOS } from "./catalog.ts";

const MESSAGE_BYTES = 64;

async function run(env: Env) {
  const info = SCENARIOS["6"];
  env.say(`\n${info.title}`);
  const echo = await startNodeUpstream(env.dir);
  const routing: Routing = { bridges: developerNames(10), cluster: echo.cluster, bridge: echo.bridge };
  const measurements: Measurement[] = [];
  const notices = [`echo upstream: ${echo.notes.replace(/ \(.*\)$/, "")} with a WebSocket echo; ${MESSAGE_BYTES}-byte messages, one in flight per connection`];
  try {
    for (const workers of levels(env, "6")) {
      for (const kind of env.profile.kinds) {
        if (kind === "direct" && workers !== 1) continue;
        if (!env.profile.websocketKinds.has(kind)) continue;
        const target = await startTarget(kind, workers, targetContext(env, routing, { upstream: echo }));
        const why = isSkip(target) ? target.skip : await checkRouting(target, routing);
        if (why || isSkip(target)) {
          env.say(`  ${kind}×${workers}: SKIPPED: ${why}`);
          measurements.push(skipped(info.key, "64 B echo", kind, workers, why ?? "skipped"));
          if (!isSkip(target)) await target.stop();
          continue;
        }
        try {
          const spec = baseSpec(env, target, [developerRequest(routing.bridges[0]!)], {
            websocket: { messageBytes: MESSAGE_BYTES },
            warmupS: Math.max(env.profile.warmupS, env.profile.startWarmupS),
          });
          const m = await measure(env, target, info.key, "64 B echo", spec);
          if (m.result && m.result.non2xx + m.result.errors >= spec.connections) {
            m.skipped = `no WebSocket connection through ${target.id} (${JSON.stringify(m.result.statusCodes)}, ${m.result.errors} errors)`;
            delete m.result;
          }
          measurements.push(m);
        } finally {
          await target.stop();
        }
      }
    }
  } finally {
    await echo.stop();
  }
  return [scenarioReport("6", measurements, notices)];
}

export const websocket: Scenario = { ids: ["6"], run };
