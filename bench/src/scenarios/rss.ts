/** Scenario (8): resident memory of the Carrier2 process tree before and after many requests. */
import type { Measurement } from "../model.ts";
import { baseSpec, type Env, isSkip, levels, measure, type Scenario, scenarioReport, skipped, targetContext, warmStart } from "../runner.ts";
import { rssOf } from "../targets/process.ts";
import { developerMix, developerNames, type Routing } from "../targets/routing.ts";
import { startTarget, type Target, targetPids } from "../targets/targets.ts";
import { spread } from "../report/format.ts";
import { SCENARIOS } from "./catalog.ts";

interface RssSample {
  at: string;
  totalMiB: number;
  perProcessMiB: number[];
}

function sample(target: Target, at: string): RssSample | undefined {
  const pids = targetPids(target);
  const per = pids.map((p) => rssOf(p)).filter((v): v is number => v !== undefined);
  if (per.length === 0) return undefined;
  const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  return { at, totalMiB: mib(per.reduce((a, b) => a + b, 0)), perProcessMiB: per.map(mib) };
}

async function run(env: Env) {
  const info = SCENARIOS["8"];
  const count = env.profile.rssRequests;
  const variant = `${count.toLocaleString("en-US")} requests`;
  const notices: string[] = [];
  if (count < 1_000_000) notices.push(`${variant}, not 1M: this is a ${env.profile.mode} run (use --full for 1M)`);
  env.say(`\n${info.title}${notices.length ? ` — ${notices[0]}` : ""}`);
  if (!env.profile.kinds.includes("carrier2")) return [];
  const routing: Routing = { bridges: developerNames(10), cluster: env.upstream.cluster, bridge: env.upstream.bridge };
  const measurements: Measurement[] = [];
  for (const workers of levels(env, "8")) {
    const target = await startTarget("carrier2", workers, targetContext(env, routing));
    if (isSkip(target)) {
      measurements.push(skipped(info.key, variant, "carrier2", workers, target.skip));
      continue;
    }
    try {
      const samples: (RssSample | undefined)[] = [sample(target, "after start")];
      const spec = baseSpec(env, target, developerMix(routing.bridges, 30));
      await warmStart(env, target, spec.requests, Math.max(env.profile.warmupS, env.profile.startWarmupS));
      samples.push(sample(target, "after warm-up"));
      // RSS every few seconds during the run: a leak grows steadily, a lazy GC levels off.
      const timeline = () => {
        const t0 = performance.now();
        const points: { atS: number; totalMiB: number }[] = [];
        const tick = () => {
          const s = sample(target, "");
          if (s) points.push({ atS: Math.round((performance.now() - t0) / 100) / 10, totalMiB: s.totalMiB });
        };
        const timer = setInterval(tick, env.profile.mode === "full" ? 10_000 : 2_000);
        return async () => {
          clearInterval(timer);
          tick();
          return { rssTimeline: points };
        };
      };
      const m = await measure(env, target, info.key, variant, { ...spec, warmupS: 0, amount: count, durationS: 3_600, timeoutS: 10 }, timeline);
      samples.push(sample(target, `after ${variant}`));
      const idleS = env.profile.mode === "smoke" ? 0.5 : 2;
      await new Promise((r) => setTimeout(r, idleS * 1000));
      samples.push(sample(target, `after ${idleS} s idle`));
      const rss = samples.filter((s): s is RssSample => s !== undefined);
      m.extra = { ...m.extra, rss };
      if (rss.length === 0) notices.push("RSS not readable on this platform (/proc missing)");
      else {
        env.say(`  RSS carrier2×${workers}: ${rss.map((s) => `${s.at} ${s.totalMiB} MiB`).join(", ")}`);
        const points = (m.extra?.rssTimeline ?? []) as { atS: number; totalMiB: number }[];
        if (points.length > 2) env.say(`  RSS during the run: ${spread(points).map((p) => `${p.totalMiB} MiB @${p.atS}s`).join(", ")}`);
      }
      measurements.push(m);
    } finally {
      await target.stop();
    }
  }
  return [scenarioReport("8", measurements, notices)];
}

export const rss: Scenario = { ids: ["8"], run };
