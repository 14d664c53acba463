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

function benchMatch(model: "warm" | "wire") {
  const cases = SIZES.map((n) => {
    const compiled = compileRouteSet(bridgesOf(n), "bridges");
    if (!compiled.routes) throw new Error("invalid benchmark routes");
    const requests = requestsFor(n);
    const wire = requests.map((r) => {
      const v = r.headers["x-gefyra"];
      return typeof v === "string" ? Buffer.from(v, "latin1") : undefined;
    });
    return { n, matcher: compiled.routes.matcher, requests, wire, samples: [] as number[], hits: 0 };
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
    sink += hits;
    return { ns, hits };
  };
  for (const c of cases) run(c, OPS_PER_ROUND); // warm up every shape before measuring
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of cases) {
      const { ns, hits } = run(c, OPS_PER_ROUND);
      c.samples.push(ns / OPS_PER_ROUND);
      c.hits = hits;
    }
    process.stderr.write(`${model} round ${r + 1}/${ROUNDS}: ${cases.map((c) => `${c.n}=${c.samples.at(-1)!.toFixed(1)}ns`).join(" ")}\n`);
  }
  const base = cases[0]!;
  const baseMedian = median(base.samples);
  const baseMin = Math.min(...base.samples);
  const results = cases.map((c) => ({
    bridges: c.n,
    nsPerOp: { median: round2(median(c.samples)), min: round2(Math.min(...c.samples)) },
    ratioTo2: { median: round2(median(c.samples) / baseMedian), min: round2(Math.min(...c.samples) / baseMin) },
  }));
  return { results, sink };
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
  match: match.results,
  matchWire: wire.results,
  compile1000: { ...compile, targetMs: 100, met: compile.medianMs < 100 },
  analyze1000: analyze,
  target: {
    match1000VsTwoAtMost: 1.1,
    warm: { metByMedian: r1000.ratioTo2.median <= 1.1, metByMin: r1000.ratioTo2.min <= 1.1 },
    wire: { metByMedian: w1000.ratioTo2.median <= 1.1, metByMin: w1000.ratioTo2.min <= 1.1 },
  },
  sink: match.sink + wire.sink,
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
