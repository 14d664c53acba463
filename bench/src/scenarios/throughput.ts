/**
 * Scenarios (1), (1r), (2) and (5): each target is started once with the ten-developer routing and
 * gets every load of these scenarios back to back (same process, same upstream, same connections).
 */
import type { Measurement, RequestSpec, TargetKind } from "../model.ts";
import type { ScenarioId } from "../options.ts";
import { baseSpec, type Env, isSkip, levels, measure, type Scenario, scenarioReport, skipped, targetContext, warmStart } from "../runner.ts";
import { BIG_BYTES, BIG_PATH, developerMix, developerNames, developerRequest, EARLY_UPLOAD_PATH, type Routing, UPLOAD_PATH } from "../targets/routing.ts";
import { checkRouting, startTarget, type Target } from "../targets/targets.ts";
import { keepCpusAwake } from "../system.ts";
import { SCENARIOS } from "./catalog.ts";

const IDS = ["1", "1r", "2", "5"] as const satisfies readonly ScenarioId[];

interface Load {
  id: ScenarioId;
  variant(env: Env): string;
  /** Runs for this target at this level? */
  applies(env: Env, kind: TargetKind, workers: number): boolean;
  measure(env: Env, target: Target, routing: Routing): Promise<Measurement>;
}

function atLevel(env: Env, id: ScenarioId, workers: number): boolean {
  return env.profile.scenarios.has(id) && levels(env, id).includes(workers);
}

/** 1 MiB POSTs through a developer route (--full only). */
function upload(variant: string, path: string): Load {
  return {
    id: "5",
    variant: () => variant,
    applies: (env, _kind, w) => atLevel(env, "5", w) && env.profile.upload,
    measure: (env, t, r) => {
      const post: RequestSpec = { ...developerRequest(r.bridges[0]!, path), method: "POST", bodyBytes: BIG_BYTES };
      return measure(env, t, SCENARIOS["5"].key, variant, baseSpec(env, t, [post], { connections: env.profile.bigConnections }));
    },
  };
}

const LOADS: Load[] = [
  {
    id: "1",
    variant: () => "header route",
    applies: (env, _kind, w) => atLevel(env, "1", w),
    measure: (env, t, r) => measure(env, t, SCENARIOS["1"].key, "header route", baseSpec(env, t, [developerRequest(r.bridges[0]!)])),
  },
  {
    id: "1r",
    variant: (env) => `${env.profile.fixedRate / 1000}k rps`,
    applies: (env, kind, w) => atLevel(env, "1r", w) && env.profile.fixedRateKinds.has(kind),
    measure: (env, t, r) =>
      measure(
        env,
        t,
        SCENARIOS["1r"].key,
        `${env.profile.fixedRate / 1000}k rps`,
        baseSpec(env, t, [developerRequest(r.bridges[0]!)], { overallRate: env.profile.fixedRate }),
        keepCpusAwake,
      ),
  },
  {
    id: "2",
    variant: () => "10 devs + 30%",
    applies: (env, _kind, w) => atLevel(env, "2", w),
    measure: (env, t, r) => measure(env, t, SCENARIOS["2"].key, "10 devs + 30%", baseSpec(env, t, developerMix(r.bridges, 30))),
  },
  {
    id: "5",
    variant: () => "download 1 MB",
    applies: (env, _kind, w) => atLevel(env, "5", w),
    measure: (env, t, r) =>
      measure(env, t, SCENARIOS["5"].key, "download 1 MB", baseSpec(env, t, [developerRequest(r.bridges[0]!, BIG_PATH)], { connections: env.profile.bigConnections })),
  },
  upload("upload 1 MB", UPLOAD_PATH),
  // The upstream answers before it has read the upload (nginx `return 200`): a proxy must keep
  // reading (and dropping) the rest of the body, or the client's keep-alive connection hangs.
  upload("upload 1 MB, early 200", EARLY_UPLOAD_PATH),
];

async function run(env: Env): Promise<ReturnType<typeof scenarioReport>[]> {
  const routing: Routing = { bridges: developerNames(10), cluster: env.upstream.cluster, bridge: env.upstream.bridge };
  const byId = new Map<ScenarioId, Measurement[]>(IDS.map((id) => [id, []]));
  const allLevels = [...new Set(IDS.flatMap((id) => (env.profile.scenarios.has(id) ? levels(env, id) : [])))].sort();
  env.say(`\n${IDS.filter((id) => env.profile.scenarios.has(id)).map((id) => SCENARIOS[id].title).join("; ")}`);
  for (const workers of allLevels) {
    for (const kind of env.profile.kinds) {
      if (kind === "direct" && workers !== 1) continue;
      const loads = LOADS.filter((l) => l.applies(env, kind, workers));
      if (loads.length === 0) continue;
      const target = await startTarget(kind, workers, targetContext(env, routing));
      let why = isSkip(target) ? target.skip : undefined;
      if (!isSkip(target)) why = await checkRouting(target, routing);
      if (why) {
        env.say(`  ${kind}×${workers}: SKIPPED: ${why}`);
        for (const l of loads) byId.get(l.id)!.push(skipped(SCENARIOS[l.id].key, l.variant(env), kind, workers, why));
        if (!isSkip(target)) await target.stop();
        continue;
      }
      try {
        await warmStart(env, target as Target, developerMix(routing.bridges, 30));
        for (const l of loads) byId.get(l.id)!.push(await l.measure(env, target as Target, routing));
      } finally {
        await (target as Target).stop();
      }
    }
  }
  return IDS.filter((id) => env.profile.scenarios.has(id)).map((id) => {
    const ms = byId.get(id)!;
    if (id !== "1r") return scenarioReport(id, ms);
    // p99 on a shared VM is often decided by a stall of the machine; p50 shows the proxy's own share.
    const directLatency = ms.find((m) => m.kind === "direct")?.result?.latencyMs;
    const direct = directLatency?.p99;
    const added: Record<string, number> = {};
    const addedP50: Record<string, number> = {};
    if (directLatency) {
      for (const m of ms) {
        if (!m.result || m.kind === "direct") continue;
        added[m.target] = Math.round((m.result.latencyMs.p99 - directLatency.p99) * 1000) / 1000;
        addedP50[m.target] = Math.round((m.result.latencyMs.p50 - directLatency.p50) * 1000) / 1000;
      }
    }
    const notices = ms
      .filter((m) => m.result && m.result.rps < 0.95 * env.profile.fixedRate)
      .map((m) => `${m.target} did not sustain ${env.profile.fixedRate} rps (${Math.round(m.result!.rps)}): its latency includes queueing`);
    return scenarioReport(id, ms, notices, { addedP99Ms: added, addedP50Ms: addedP50, directP99Ms: direct ?? null, directP50Ms: directLatency?.p50 ?? null, rate: env.profile.fixedRate });
  });
}

export const throughput: Scenario = { ids: IDS, run };
