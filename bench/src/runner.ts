/**
 * The run: shared environment (temp dir, load process, upstream), the one way to measure a target,
 * and the order scenarios run in. Scenario modules only decide what to start and what load to send.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { LoadGenerator } from "./load/load-client.ts";
import type { LoadSpec, Measurement, RunReport, ScenarioReport, TargetKind } from "./model.ts";
import { ALL_SCENARIOS, type Profile, type ScenarioId } from "./options.ts";
import { computeRatios } from "./report/ratios.ts";
import { SCENARIOS } from "./scenarios/catalog.ts";
import { cpuPctBetween, cpuSeconds, killAllStarted } from "./targets/process.ts";
import type { Routing } from "./targets/routing.ts";
import { type Skip, type Target, type TargetContext, targetPids, truncateLogs, unavailable } from "./targets/targets.ts";
import { startUpstream, type Upstream } from "./targets/upstream.ts";
import { collectVersions } from "./system.ts";

export interface Env {
  profile: Profile;
  dir: string;
  load: LoadGenerator;
  upstream: Upstream;
  notices: string[];
  profilesDir: string | undefined;
  say(line: string): void;
}

export type LoadAvg = [number, number, number];

export function loadNow(): LoadAvg {
  return loadavg().map((v) => Math.round(v * 100) / 100) as LoadAvg;
}

/** Worker levels a scenario runs at: [1, N], [1] or [N] (see the profile), [1] when N is 1. */
export function levels(env: Env, id: ScenarioId): number[] {
  const n = env.profile.workers;
  if (n <= 1) return [1];
  if (env.profile.atN.has(id)) return [1, n];
  return env.profile.onlyN.has(id) ? [n] : [1];
}

export function targetContext(env: Env, routing: Routing, extra: Partial<TargetContext> = {}): TargetContext {
  return {
    dir: env.dir,
    upstream: env.upstream,
    routing,
    accessLog: env.profile.accessLog,
    carrier2NodeArgs: env.profilesDir ? ["--cpu-prof", `--cpu-prof-dir=${env.profilesDir}`] : [],
    carrier2Bin: env.profile.carrier2Bin,
    ...extra,
  };
}

export function isSkip(t: Target | Skip): t is Skip {
  return "skip" in t;
}

export function skipped(scenario: string, variant: string, kind: TargetKind, workers: number, reason: string): Measurement {
  return { scenario, variant, target: kind === "direct" ? "direct" : `${kind}×${workers}`, kind, workers, loadavg: loadNow(), connections: 0, skipped: reason };
}

export function baseSpec(env: Env, target: Target, requests: LoadSpec["requests"], over: Partial<LoadSpec> = {}): LoadSpec {
  return {
    url: target.url,
    connections: env.profile.connections,
    warmupS: env.profile.warmupS,
    durationS: env.profile.durationS,
    requests,
    timeoutS: 10,
    ...over,
  };
}

/** Load right after a target starts (not measured), so the first measurement sees steady state. */
export async function warmStart(env: Env, target: Target, requests: LoadSpec["requests"], seconds = env.profile.startWarmupS): Promise<void> {
  if (seconds <= 0) return;
  await env.load.run({ ...baseSpec(env, target, requests), warmupS: 0, durationS: seconds });
  truncateLogs(target);
}

function fmt(n: number | undefined, digits = 0): string {
  return n === undefined ? "-" : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Warm up, then measure one load run against a target, with the target's CPU use over the run. */
export async function measure(env: Env, target: Target, scenario: string, variant: string, spec: LoadSpec, during?: () => () => Promise<Record<string, unknown>>): Promise<Measurement> {
  truncateLogs(target);
  if (spec.warmupS > 0 && !spec.amount) {
    await env.load.run({ ...spec, durationS: spec.warmupS, warmupS: 0, amount: undefined });
  }
  const avg = loadNow();
  const pids = targetPids(target);
  const before = cpuSeconds(pids);
  const t0 = performance.now();
  const stopDuring = during?.();
  let m: Measurement;
  try {
    const result = await env.load.run({ ...spec, warmupS: 0 });
    const wallS = (performance.now() - t0) / 1000;
    const targetCpuPct = target.kind === "direct" ? undefined : cpuPctBetween(before, cpuSeconds(pids), wallS);
    m = { scenario, variant, target: target.id, kind: target.kind, workers: target.workers, loadavg: avg, connections: spec.connections, result };
    if (targetCpuPct !== undefined) {
      m.targetCpuPct = targetCpuPct;
      if (result.requests > 0) m.cpuUsPerRequest = Math.round(((targetCpuPct / 100) * wallS * 1e6) / result.requests);
    }
  } catch (err) {
    m = { ...skipped(scenario, variant, target.kind, target.workers, `load failed: ${(err as Error).message}`), loadavg: avg };
  }
  if (stopDuring) m.extra = { ...m.extra, ...(await stopDuring()) };
  truncateLogs(target);
  const r = m.result;
  env.say(
    r
      ? `  ${scenario.padEnd(18)} ${variant.padEnd(22)} ${target.id.padEnd(13)} ${fmt(r.rps).padStart(8)} rps  p50 ${fmt(r.latencyMs.p50, 2)}  p99 ${fmt(r.latencyMs.p99, 2)}  p99.9 ${fmt(r.latencyMs.p99_9, 2)} ms  ${r.mbPerSecRead >= 10 || r.mbPerSecSent >= 10 ? `${fmt(Math.max(r.mbPerSecRead, r.mbPerSecSent), 1)} MB/s  ` : ""}err ${r.errors}  non2xx ${r.non2xx}  cpu ${fmt(m.targetCpuPct)}% ${m.cpuUsPerRequest === undefined ? "" : `${m.cpuUsPerRequest} µs/req `}(loadgen ${fmt(r.loadGenCpuPct)}%)  load ${avg[0]}`
      : `  ${scenario.padEnd(18)} ${variant.padEnd(22)} ${target.id.padEnd(13)} SKIPPED: ${m.skipped}`,
  );
  return m;
}

export function scenarioReport(id: ScenarioId, measurements: Measurement[], notices: string[] = [], extra?: Record<string, unknown>): ScenarioReport {
  const info = SCENARIOS[id];
  const ran = measurements.some((m) => m.result);
  notices = [...notices];
  for (const m of measurements) {
    const r = m.result;
    // Each connection got at most a couple of answers in a whole run: connections hung, not slow.
    if (r && !m.scenario.startsWith("8-") && r.durationS >= 1 && r.requests <= 2 * m.connections) {
      notices.push(`${m.target} (${m.variant}): only ${r.requests} responses on ${m.connections} connections in ${r.durationS} s — connections stalled`);
    }
  }
  const report: ScenarioReport = {
    id: info.key,
    title: info.title,
    description: info.description,
    status: ran ? "ran" : "skipped",
    notices,
    measurements,
    ratios: info.metric === "none" ? [] : computeRatios(measurements, info.metric),
  };
  if (extra) report.extra = extra;
  return report;
}

export interface Scenario {
  ids: readonly ScenarioId[];
  run(env: Env): Promise<ScenarioReport[]>;
}

export async function runAll(profile: Profile, scenarios: readonly Scenario[], command: string, say: (l: string) => void): Promise<RunReport> {
  const startedAt = new Date();
  const loadavgStart = loadNow();
  const dir = mkdtempSync(join(tmpdir(), "carrier2-bench-"));
  const notices: string[] = [];
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const profilesDir = profile.cpuProf ? join(profile.outDir, `${stamp}-profiles`) : undefined;
  const onSignal = () => {
    killAllStarted();
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const load = new LoadGenerator();
  let upstream: Upstream | undefined;
  const reports: ScenarioReport[] = [];
  try {
    upstream = await startUpstream(dir, profile.upstream, notices);
    say(`upstream: ${upstream.notes} (cluster ${upstream.cluster}, bridge ${upstream.bridge})`);
    const env: Env = { profile, dir, load, upstream, notices, profilesDir, say };
    for (const s of scenarios) {
      if (!s.ids.some((id) => profile.scenarios.has(id))) continue;
      reports.push(...(await s.run(env)));
    }
  } finally {
    load.close();
    await upstream?.stop();
    killAllStarted();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    rmSync(dir, { recursive: true, force: true });
  }
  // Not Object.values(SCENARIOS): integer-like keys ("1", "2") would come before "1r".
  const order = ALL_SCENARIOS.map((id) => SCENARIOS[id].key);
  reports.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  const peers: RunReport["peers"] = {};
  for (const kind of ["nginx", "haproxy", "http-proxy"] as const) {
    const why = unavailable(kind);
    peers[kind] = why ? { available: false, reason: why } : { available: true };
    if (why && profile.kinds.includes(kind)) notices.push(`${kind}: skipped — ${why}`);
  }
  return {
    format: "carrier2-bench/1",
    mode: profile.mode,
    command,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadavgStart,
      loadavgEnd: loadNow(),
    },
    versions: collectVersions(),
    settings: {
      workers: profile.workers,
      warmupS: profile.warmupS,
      startWarmupS: profile.startWarmupS,
      bridgesStartWarmupS: profile.bridgesStartWarmupS,
      durationS: profile.durationS,
      connections: profile.connections,
      bigConnections: profile.bigConnections,
      fixedRate: profile.fixedRate,
      bridgeCounts: profile.bridgeCounts,
      bridgesDurationS: profile.bridgesDurationS,
      bridgesWarmupS: profile.bridgesWarmupS,
      rssRequests: profile.rssRequests,
      pushRate: profile.pushRate,
      accessLog: profile.accessLog,
      upstream: upstream?.notes ?? profile.upstream,
      scenarios: [...profile.scenarios],
      targets: profile.kinds,
      cpuProfiles: profilesDir ?? null,
      carrier2Bin: profile.carrier2Bin,
    },
    peers,
    notices,
    scenarios: reports,
  };
}
