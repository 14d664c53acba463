/**
 * Scenario (4): route pushes through the admin API at 10/s while the load of (1) runs. Each push PUTs
 * the whole configuration (JSON) to `/v1/config`, alternately with and without one extra bridge; the
 * admin API answers 200 once every worker applies it. Compared with the same process without pushes.
 * Runs only when this Carrier2 has `--admin`; otherwise the scenario is reported as not available.
 */
import type { Measurement } from "../model.ts";
import { baseSpec, type Env, isSkip, levels, measure, type Scenario, scenarioReport, skipped, targetContext, warmStart } from "../runner.ts";
import { developerNames, developerRequest, type Routing } from "../targets/routing.ts";
import { carrier2Config, carrier2Supports, checkRouting, startTarget, type Target } from "../targets/targets.ts";
import { SCENARIOS } from "./catalog.ts";

interface PushStats {
  attempted: number;
  ok: number;
  failed: number;
  /** Ticks where three pushes were still in flight, so none was started. */
  skippedBusy: number;
  statuses: Record<string, number>;
  errors: string[];
  latencyMs: { p50: number; p99: number; max: number } | null;
}

function percentile(sorted: number[], q: number): number {
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! * 1000) / 1000 : 0;
}

/** Start pushing at `rate`/s; the returned function stops and resolves with what happened. */
export function startPushing(target: Target, routing: Routing, rate: number): () => Promise<Record<string, unknown>> {
  const admin = target.admin!;
  const port = Number(new URL(target.url).port);
  const stats: PushStats = { attempted: 0, ok: 0, failed: 0, skippedBusy: 0, statuses: {}, errors: [], latencyMs: null };
  const latencies: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  const push = async () => {
    const extra = n++ % 2 === 0 ? [`pushed-${n}`] : [];
    const body = JSON.stringify(carrier2Config(port, target.workers, { ...routing, bridges: [...routing.bridges, ...extra] }));
    const t0 = performance.now();
    stats.attempted++;
    try {
      const res = await fetch(`${admin.url}/v1/config`, {
        method: "PUT",
        headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      stats.statuses[res.status] = (stats.statuses[res.status] ?? 0) + 1;
      if (res.status === 200) {
        stats.ok++;
        latencies.push(performance.now() - t0);
      } else {
        stats.failed++;
        if (stats.errors.length < 5) stats.errors.push(`${res.status} ${text.slice(0, 200)}`);
      }
    } catch (err) {
      stats.failed++;
      if (stats.errors.length < 5) stats.errors.push((err as Error).message);
    }
  };
  const timer = setInterval(() => {
    if (inFlight.size >= 3) {
      stats.skippedBusy++;
      return;
    }
    const p = push().finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, 1000 / rate);
  return async () => {
    clearInterval(timer);
    await Promise.all(inFlight);
    latencies.sort((a, b) => a - b);
    stats.latencyMs = latencies.length ? { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: percentile(latencies, 1) } : null;
    return { pushes: stats };
  };
}

async function run(env: Env) {
  const info = SCENARIOS["4"];
  env.say(`\n${info.title}`);
  if (!env.profile.kinds.includes("carrier2")) return [];
  if (!carrier2Supports("--admin", env.profile.carrier2Bin)) {
    const notice = "this Carrier2 has no --admin flag yet (the admin API is being written)";
    env.say(`  not available: ${notice}`);
    return [{ ...scenarioReport("4", [], [notice]), status: "not available" as const }];
  }
  const routing: Routing = { bridges: developerNames(10), cluster: env.upstream.cluster, bridge: env.upstream.bridge };
  const measurements: Measurement[] = [];
  const notices: string[] = [];
  for (const workers of levels(env, "4")) {
    const target = await startTarget("carrier2", workers, targetContext(env, routing, { admin: true }));
    const why = isSkip(target) ? target.skip : await checkRouting(target, routing);
    if (why || isSkip(target)) {
      env.say(`  carrier2×${workers}: SKIPPED: ${why}`);
      measurements.push(skipped(info.key, "no pushes", "carrier2", workers, why ?? "skipped"));
      if (!isSkip(target)) await target.stop();
      continue;
    }
    try {
      const spec = baseSpec(env, target, [developerRequest(routing.bridges[0]!)]);
      await warmStart(env, target, spec.requests);
      const quiet = await measure(env, target, info.key, "no pushes", spec);
      const busy = await measure(env, target, info.key, `${env.profile.pushRate} pushes/s`, { ...spec, warmupS: 0 }, () => startPushing(target, routing, env.profile.pushRate));
      measurements.push(quiet, busy);
      const after = await checkRouting(target, routing);
      if (after) notices.push(`carrier2×${workers}: after the pushes: ${after}`);
      const pushes = busy.extra?.pushes as PushStats | undefined;
      if (pushes) {
        const lat = pushes.latencyMs;
        env.say(
          `  pushes: ${pushes.ok}/${pushes.attempted} ok, ${pushes.failed} failed${lat ? `, latency p50 ${lat.p50} p99 ${lat.p99} max ${lat.max} ms` : ""}${pushes.errors.length ? `; e.g. ${pushes.errors[0]}` : ""}`,
        );
      }
      if (quiet.result && busy.result) {
        busy.extra = {
          ...busy.extra,
          p99ImpactMs: Math.round((busy.result.latencyMs.p99 - quiet.result.latencyMs.p99) * 1000) / 1000,
          rpsRatioVsNoPushes: Math.round((busy.result.rps / quiet.result.rps) * 1000) / 1000,
        };
      }
    } finally {
      await target.stop();
    }
  }
  return [scenarioReport("4", measurements, notices)];
}

export const routePushes: Scenario = { ids: ["4"], run };
