/** Scenario (3): the same developer/cluster mix against 2, 100 and 1,000 bridges. */
import type { Measurement } from "../model.ts";
import { baseSpec, type Env, isSkip, levels, measure, type Scenario, scenarioReport, skipped, targetContext, warmStart } from "../runner.ts";
import { developerMix, developerNames, type Routing } from "../targets/routing.ts";
import { checkRouting, startTarget } from "../targets/targets.ts";
import { SCENARIOS } from "./catalog.ts";

async function run(env: Env) {
  const info = SCENARIOS["3"];
  env.say(`\n${info.title}`);
  const measurements: Measurement[] = [];
  for (const workers of levels(env, "3")) {
    for (const count of env.profile.bridgeCounts) {
      const variant = `${count.toLocaleString("en-US")} bridges`;
      const routing: Routing = { bridges: developerNames(count), cluster: env.upstream.cluster, bridge: env.upstream.bridge };
      for (const kind of env.profile.kinds) {
        if (kind === "direct") continue;
        const target = await startTarget(kind, workers, targetContext(env, routing));
        const why = isSkip(target) ? target.skip : await checkRouting(target, routing);
        if (why) {
          env.say(`  ${kind}×${workers} (${variant}): SKIPPED: ${why}`);
          measurements.push(skipped(info.key, variant, kind, workers, why));
          if (!isSkip(target)) await target.stop();
          continue;
        }
        if (isSkip(target)) continue;
        try {
          await warmStart(env, target, developerMix(routing.bridges, 30), env.profile.bridgesStartWarmupS);
          const spec = baseSpec(env, target, developerMix(routing.bridges, 30), { durationS: env.profile.bridgesDurationS, warmupS: env.profile.bridgesWarmupS });
          measurements.push(await measure(env, target, info.key, variant, spec));
        } finally {
          await target.stop();
        }
      }
    }
  }
  return [scenarioReport("3", measurements)];
}

export const bridges: Scenario = { ids: ["3"], run };
