/**
 * Route matching micro benchmark: the cost of choosing a bridge as bridges grow, and of compiling them.
 *
 *   node bench/src/routes-micro.ts            (from the repository root; JSON on stdout)
 *
 * - match: 2, 100 and 1,000 bridges with `x-gefyra: <name>` exact header rules; requests spread over
 *   the bridges plus 30% that match none. ns/op includes building the per-request MatchInput, as the
 *   proxy does. Rounds of the three sizes are interleaved so background load hits them alike; the
 *   median and the minimum over rounds are reported (target: 1,000 within 10% of 2). Two request
 *   models: `warm` reuses the same header string objects (their hashes stay cached: the pure table
 *   lookup), `wire` makes each header value a fresh string from bytes, as the HTTP parser does for
 *   every real request (so hashing the value is part of the cost, as in the proxy).
 * - floor: in the same interleaved rounds, over the same request pools and the same key strings, a bare
 *   `Map<string, object>.get` of the `x-gefyra` value (no MatchInput, no matcher), reading `.bridge` of
 *   the hit as the matcher loop does. Its growth from 2 to 1,000 entries is the platform's hash lookup
 *   itself (cache misses on the table, the key string and the value); `overNs` (matcher − floor, paired
 *   per round) is what the matcher adds on top.
 * - compile: 1,000 such bridges, from config objects to a matcher (target: under 100 ms).
 * - analyze: conflict analysis of the same 1,000 bridges (for information).
 */
import os from "node:os";
import { analyzeRoutes, type Bridge, compileRouteSet, MatchInput, type RequestFacts } from "carrier2/routes";

const SIZES = [2, 100, 1000] as const;
const POOL = 4096;
const OPS_PER_ROUND = 400_000;
const ROUNDS = 15;

function bridgesOf(n: number): Record<string, Bridge> {
  const out: Record<string, Bridge> = {};
  for (let i = 0; i < n; i++) {
    out[`dev-${i}`] = { endpoint: `10.0.0.${i % 250}:8080`, rules: [{ match: [{ matchHeader: { name: "x-gefyra", value: `dev-${i}` } }] }] };
  }
  return out;
}

/** Deterministic pseudo-random numbers (mulberry32), so runs are comparable. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function requestsFor(n: number): RequestFacts[] {
  const random = rng(42);
  return Array.from({ length: POOL }, (_, i) => {
    const headers: Record<string, string> = {
      host: "backend.demo.svc.cluster.local:8080",
      "user-agent": "curl/8.5.0",
      accept: "*/*",
    };
    const r = random();
    if (r < 0.7) headers["x-gefyra"] = `dev-${Math.floor(random() * n)}`;
    else if (r < 0.85) headers["x-gefyra"] = `nobody-${i}`;
    return { method: "GET", target: `/api/items/${i % 97}?page=${i % 7}`, headers };
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

interface Sample {
  bridges: number;
  nsPerOp: { median: number; min: number };
  ratioTo2: { median: number; min: number };
}

function summarize(sizes: readonly number[], samples: readonly number[][]): Sample[] {
  const baseMedian = median(samples[0]!);
  const baseMin = Math.min(...samples[0]!);
  return samples.map((s, i) => ({
    bridges: sizes[i]!,
    nsPerOp: { median: round2(median(s)), min: round2(Math.min(...s)) },
    ratioTo2: { median: round2(median(s) / baseMedian), min: round2(Math.min(...s) / baseMin) },
  }));
}

function benchMatch(model: "warm" | "wire") {
  const cases = SIZES.map((n) => {
    const compiled = compileRouteSet(bridgesOf(n), "bridges");
    if (!compiled.routes) throw new Error("invalid benchmark routes");
    const requests = requestsFor(n);
    const wire = requests.map((r) => {
      const v = r.headers["x-gefyra"];
      return typeof v === "string" ? Buffer.from(v, "latin1") : undefined;
    });
    // The floor's table: the matcher's own key strings (the rule values), one small object per bridge.
    const table = new Map<string, { bridge: number; rule: number }>();
    compiled.routes.conditions.forEach((b, bridge) => {
      table.set(b.rules[0]![0]!.value, { bridge, rule: 0 });
    });
    const floorSamples: number[] = [];
    return { n, matcher: compiled.routes.matcher, table, requests, wire, samples: [] as number[], floorSamples, hits: 0 };
  });
  let sink = 0;
  const run = (c: (typeof cases)[number], ops: number) => {
    const { matcher, requests, wire } = c;
    let hits = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) {
      const facts = requests[i & (POOL - 1)]!;
      if (model === "wire") {
        const bytes = wire[i & (POOL - 1)];
        if (bytes) (facts.headers as Record<string, string>)["x-gefyra"] = bytes.toString("latin1");
      }
      const hit = matcher.match(new MatchInput(facts));
      if (hit) hits += hit.bridge + 1;
    }
    const ns = Number(process.hrtime.bigint() - start);
    sink ^= hits; // xor: stays a small integer (a growing sum leaves Smi range and deoptimizes the loop)
    return { ns, hits };
  };
  /** The same loop with a bare Map lookup in place of MatchInput + matcher. */
  const floor = (c: (typeof cases)[number], ops: number) => {
    const { table, requests, wire } = c;
    let hits = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) {
      const facts = requests[i & (POOL - 1)]!;
      if (model === "wire") {
        const bytes = wire[i & (POOL - 1)];
        if (bytes) (facts.headers as Record<string, string>)["x-gefyra"] = bytes.toString("latin1");
      }
      const v = facts.headers["x-gefyra"];
      const hit = typeof v === "string" ? table.get(v) : undefined;
      if (hit) hits += hit.bridge + 1;
    }
    const ns = Number(process.hrtime.bigint() - start);
    sink ^= hits; // xor: stays a small integer (a growing sum leaves Smi range and deoptimizes the loop)
    return { ns, hits };
  };
  // A first short call of each loop gives the code after the loop type feedback: when a loop is first
  // optimized mid-call (OSR), that code has none and deoptimizes at the end of every later call.
  for (const c of cases) {
    run(c, 64);
    floor(c, 64);
  }
  for (const c of cases) {
    // Warm up every shape before measuring; the floor must see the same requests hit the same bridges.
    if (run(c, OPS_PER_ROUND).hits !== floor(c, OPS_PER_ROUND).hits) throw new Error("floor and matcher disagree");
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of cases) {
      const { ns, hits } = run(c, OPS_PER_ROUND);
      c.samples.push(ns / OPS_PER_ROUND);
      c.hits = hits;
      c.floorSamples.push(floor(c, OPS_PER_ROUND).ns / OPS_PER_ROUND);
    }
    const line = cases.map((c) => `${c.n}=${c.samples.at(-1)!.toFixed(1)}/${c.floorSamples.at(-1)!.toFixed(1)}ns`);
    process.stderr.write(`${model} round ${r + 1}/${ROUNDS} (matcher/floor): ${line.join(" ")}\n`);
  }
  const sizes = cases.map((c) => c.n);
  const results = summarize(sizes, cases.map((c) => c.samples));
  const floorResults = summarize(sizes, cases.map((c) => c.floorSamples));
  // Paired per round, so background load that hits one round hits both sides.
  const overNs = cases.map((c) => ({
    bridges: c.n,
    median: round2(median(c.samples.map((s, i) => s - c.floorSamples[i]!))),
    min: round2(Math.min(...c.samples) - Math.min(...c.floorSamples)),
  }));
  const growth = (rows: Sample[]) => round2(rows.at(-1)!.nsPerOp.median - rows[0]!.nsPerOp.median);
  const growthNs2To1000 = { matcher: growth(results), floor: growth(floorResults) };
  return { results, floorResults, overNs, growthNs2To1000, sink };
}

function benchCompile() {
  const samples: number[] = [];
  for (let i = 0; i < 21; i++) {
    const bridges = bridgesOf(1000); // fresh objects: nothing cached from the previous round
    const start = performance.now();
    const compiled = compileRouteSet(bridges, "bridges");
    samples.push(performance.now() - start);
    if (!compiled.routes) throw new Error("invalid benchmark routes");
  }
  return { coldMs: round2(samples[0]!), medianMs: round2(median(samples)), maxMs: round2(Math.max(...samples)) };
}

function benchAnalyze() {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const bridges = bridgesOf(1000);
    const start = performance.now();
    const findings = analyzeRoutes(bridges);
    samples.push(performance.now() - start);
    if (findings.length !== 0) throw new Error("unexpected findings");
  }
  return { coldMs: round2(samples[0]!), medianMs: round2(median(samples)) };
}

const loadAtStart = os.loadavg().map(round2);
const compile = benchCompile();
const match = benchMatch("warm");
const wire = benchMatch("wire");
const analyze = benchAnalyze();
const r1000 = match.results.find((r) => r.bridges === 1000)!;
const w1000 = wire.results.find((r) => r.bridges === 1000)!;
const result = {
  benchmark: "routes-micro",
  node: process.version,
  cpus: os.cpus().length,
  loadAverage: os.loadavg().map(round2),
  loadAverageAtStart: loadAtStart,
  match: match.results,
  matchWire: wire.results,
  floor: {
    what: "bare Map<string, object>.get of the x-gefyra value, same rounds, requests and key strings",
    warm: match.floorResults,
    wire: wire.floorResults,
    matcherOverFloorNs: { warm: match.overNs, wire: wire.overNs },
    growthNs2To1000: { warm: match.growthNs2To1000, wire: wire.growthNs2To1000 },
  },
  compile1000: { ...compile, targetMs: 100, met: compile.medianMs < 100 },
  analyze1000: analyze,
  target: {
    match1000VsTwoAtMost: 1.1,
    warm: { metByMedian: r1000.ratioTo2.median <= 1.1, metByMin: r1000.ratioTo2.min <= 1.1 },
    wire: { metByMedian: w1000.ratioTo2.median <= 1.1, metByMin: w1000.ratioTo2.min <= 1.1 },
    floorRatio1000: {
      warm: match.floorResults.at(-1)!.ratioTo2,
      wire: wire.floorResults.at(-1)!.ratioTo2,
    },
  },
  sink: match.sink + wire.sink,
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
