/** Command line of `npm run bench -- [flags]` and the three profiles (smoke, quick, full). */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { TargetKind } from "./model.ts";

export const USAGE = `Usage: npm run bench -- [--full | --smoke] [options]

Runs Carrier2 side by side with direct/nginx/HAProxy/http-proxy under the same load and writes
bench/results/<timestamp>.{json,md,svg}. Quick by default (under 3 minutes on 2 cores).

  --full                 longer runs, every scenario at 1 and N workers, 1M requests for RSS
  --smoke                seconds: Carrier2 and direct only (CI keeps the harness working)
  --workers N            the N of "N workers" (default: min(2, CPUs))
  --duration S           measured seconds per run (default: quick 2, full 10, smoke 0.5)
  --warmup S             warm-up seconds before each run (default: quick 1, full 3, smoke 0.2)
  --start-warmup S       extra warm-up when a target starts, for JIT steady state (quick 2, full 8)
  --connections N        concurrent connections (default 50; smoke 8)
  --scenarios LIST       e.g. 1,2,5 (ids: 1 1r 2 3 4 5 6 7 8)
  --targets LIST         e.g. carrier2,nginx (direct carrier2 http-proxy nginx haproxy)
  --upstream KIND        auto (nginx if installed) | nginx | node
  --no-access-log        turn per-request logging off in every target (Carrier2: log level warn)
  --cpu-prof             run Carrier2 under --cpu-prof; profiles go to <out>/<timestamp>-profiles/
  --out DIR              where results go (default bench/results)
  --carrier2-bin FILE    another Carrier2 to measure (its bin/carrier2.js, e.g. in a git worktree)
  --rss-requests N       requests for the RSS scenario (8) (default: smoke 2,000, quick 20,000, full 1M)
  --report FILE.json     no run: recompute ratios and rewrite the .md/.svg of an earlier result
  -h, --help             this text
`;

export type Mode = "smoke" | "quick" | "full";
export type ScenarioId = "1" | "1r" | "2" | "3" | "4" | "5" | "6" | "7" | "8";
export const ALL_SCENARIOS: readonly ScenarioId[] = ["1", "1r", "2", "3", "4", "5", "6", "7", "8"];
export const ALL_KINDS: readonly TargetKind[] = ["direct", "carrier2", "http-proxy", "nginx", "haproxy"];

export interface Profile {
  mode: Mode;
  /** N for "N workers"; worker levels run are [1, N] (or [1] when N is 1). */
  workers: number;
  warmupS: number;
  /**
   * Load sent once right after a target starts, before its first measurement: Node targets (Carrier2,
   * http-proxy) need several seconds of traffic before their JIT reaches steady state.
   */
  startWarmupS: number;
  durationS: number;
  connections: number;
  /** Connections for 1 MB bodies. */
  bigConnections: number;
  scenarios: ReadonlySet<ScenarioId>;
  kinds: readonly TargetKind[];
  /** Scenarios that run at both 1 and N workers; the others run at 1 worker, except those in `onlyN`. */
  atN: ReadonlySet<ScenarioId>;
  /** Scenarios that run at N workers only (quick runs, for time). */
  onlyN: ReadonlySet<ScenarioId>;
  /** Targets (kinds) that get the L4 run. */
  l4Kinds: ReadonlySet<TargetKind>;
  /** Targets (kinds) that get the WebSocket run. */
  websocketKinds: ReadonlySet<TargetKind>;
  /** Targets (kinds) that get the fixed-rate run. */
  fixedRateKinds: ReadonlySet<TargetKind>;
  fixedRate: number;
  bridgeCounts: readonly number[];
  bridgesDurationS: number;
  bridgesWarmupS: number;
  bridgesStartWarmupS: number;
  upload: boolean;
  pushRate: number;
  rssRequests: number;
  upstream: "auto" | "nginx" | "node";
  accessLog: boolean;
  cpuProf: boolean;
  outDir: string;
  carrier2Bin: string;
}

export interface Parsed {
  help: boolean;
  /** Re-render the markdown, SVG and ratios of an existing result JSON instead of running. */
  report: string | undefined;
  profile: Profile;
  argv: string[];
}

function list<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!allowed.includes(i as T)) throw new Error(`unknown ${what} ${JSON.stringify(i)} (one of ${allowed.join(", ")})`);
  return items as T[];
}

function num(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${what} wants a positive number, got ${JSON.stringify(value)}`);
  return n;
}

/** Paths on the command line are relative to where `npm run` was typed (npm runs us in bench/). */
function userPath(p: string): string {
  return resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

export function parseOptions(argv: string[], defaultOut: string, defaultCarrier2Bin: string): Parsed {
  const { values } = parseArgs({
    args: argv,
    options: {
      full: { type: "boolean" },
      smoke: { type: "boolean" },
      quick: { type: "boolean" },
      workers: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      "start-warmup": { type: "string" },
      connections: { type: "string" },
      scenarios: { type: "string" },
      targets: { type: "string" },
      upstream: { type: "string" },
      "no-access-log": { type: "boolean" },
      "cpu-prof": { type: "boolean" },
      out: { type: "string" },
      "carrier2-bin": { type: "string" },
      report: { type: "string" },
      "rss-requests": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.full && values.smoke) throw new Error("--full and --smoke exclude each other");
  const mode: Mode = values.full ? "full" : values.smoke ? "smoke" : "quick";
  const upstream = (values.upstream ?? "auto") as Profile["upstream"];
  if (!["auto", "nginx", "node"].includes(upstream)) throw new Error(`--upstream: auto, nginx or node, got ${JSON.stringify(upstream)}`);
  const workers = Math.round(num(values.workers, "workers") ?? Math.max(1, Math.min(2, availableParallelism())));

  const base = {
    smoke: {
      warmupS: 0.2, startWarmupS: 0, durationS: 0.5, connections: 8, bigConnections: 4,
      scenarios: ["1", "2", "6", "7", "8"], kinds: ["direct", "carrier2"], atN: [], onlyN: [], websocketKinds: ["direct", "carrier2"], l4Kinds: ["direct", "carrier2"],
      fixedRateKinds: [], fixedRate: 500, bridgeCounts: [2], bridgesDurationS: 0.5, bridgesWarmupS: 0.2, bridgesStartWarmupS: 0, upload: false,
      rssRequests: 2_000,
    },
    quick: {
      warmupS: 1, startWarmupS: 2, durationS: 2, connections: 50, bigConnections: 10,
      scenarios: ALL_SCENARIOS, kinds: ALL_KINDS, atN: ["1"], onlyN: ["4", "8"],
      websocketKinds: ["direct", "carrier2", "nginx"], l4Kinds: ["direct", "carrier2", "nginx", "haproxy"],
      fixedRateKinds: ["direct", "carrier2"], fixedRate: 5_000, bridgeCounts: [2, 100, 1_000], bridgesDurationS: 1, bridgesWarmupS: 0.5,
      bridgesStartWarmupS: 0.5, upload: false, rssRequests: 20_000,
    },
    full: {
      warmupS: 3, startWarmupS: 8, durationS: 10, connections: 50, bigConnections: 10,
      scenarios: ALL_SCENARIOS, kinds: ALL_KINDS, atN: ALL_SCENARIOS, onlyN: [], websocketKinds: ALL_KINDS, l4Kinds: ALL_KINDS,
      fixedRateKinds: ALL_KINDS, fixedRate: 5_000, bridgeCounts: [2, 100, 1_000], bridgesDurationS: 5, bridgesWarmupS: 2, bridgesStartWarmupS: 5, upload: true,
      rssRequests: 1_000_000,
    },
  }[mode];

  const durationS = num(values.duration, "duration") ?? base.durationS;
  // Targets named on the command line get every load, including the ones a profile limits for time.
  const named = list(values.targets, ALL_KINDS, "target");
  const profile: Profile = {
    mode,
    workers,
    warmupS: values.warmup !== undefined ? Number(values.warmup) : base.warmupS,
    startWarmupS: values["start-warmup"] !== undefined ? Number(values["start-warmup"]) : base.startWarmupS,
    durationS,
    connections: Math.round(num(values.connections, "connections") ?? base.connections),
    bigConnections: base.bigConnections,
    scenarios: new Set<ScenarioId>(list(values.scenarios, ALL_SCENARIOS, "scenario") ?? (base.scenarios as readonly ScenarioId[])),
    kinds: named ?? (base.kinds as TargetKind[]),
    atN: new Set(base.atN as ScenarioId[]),
    onlyN: new Set(base.onlyN as ScenarioId[]),
    fixedRateKinds: new Set(named ?? (base.fixedRateKinds as TargetKind[])),
    websocketKinds: new Set(named ?? (base.websocketKinds as TargetKind[])),
    l4Kinds: new Set(named ?? (base.l4Kinds as TargetKind[])),
    fixedRate: base.fixedRate,
    bridgeCounts: base.bridgeCounts,
    bridgesDurationS: values.duration !== undefined ? durationS : base.bridgesDurationS,
    bridgesWarmupS: values.warmup !== undefined ? Number(values.warmup) : base.bridgesWarmupS,
    bridgesStartWarmupS: values["start-warmup"] !== undefined ? Number(values["start-warmup"]) : base.bridgesStartWarmupS,
    upload: base.upload,
    pushRate: 10,
    rssRequests: Math.round(num(values["rss-requests"], "rss-requests") ?? base.rssRequests),
    upstream,
    accessLog: !values["no-access-log"],
    cpuProf: values["cpu-prof"] ?? false,
    outDir: values.out ? userPath(values.out) : defaultOut,
    carrier2Bin: values["carrier2-bin"] ? userPath(values["carrier2-bin"]) : defaultCarrier2Bin,
  };
  for (const [flag, v] of [["--warmup", profile.warmupS], ["--start-warmup", profile.startWarmupS]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`${flag} wants a number ≥ 0`);
  }
  return { help: values.help ?? false, report: values.report ? userPath(values.report) : undefined, profile, argv };
}
