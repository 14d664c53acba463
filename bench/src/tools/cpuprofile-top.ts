/**
 * `node bench/src/tools/cpuprofile-top.ts FILE.cpuprofile [--top N]`: the hottest functions of a V8 CPU
 * profile (`node --cpu-prof`, or `npm run bench -- --cpu-prof`) by self time and by total time, and
 * self time grouped by package/file. Startup samples count too: profile a run that is mostly load.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  if (!url) return "(native)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length);
  const repo = url.indexOf("/carrier2/src/");
  if (repo >= 0) return url.slice(repo + 1);
  return url.replace(/^file:\/\//, "");
}

function group(url: string): string {
  if (!url) return "(native / V8 / GC)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith("node:")) return url.split("/")[0]!.replace(/^node:internal/, "node:internal");
  const repo = url.indexOf("/carrier2/src/");
  if (repo >= 0) return url.slice(repo + 1);
  return url;
}

function pct(v: number, total: number): string {
  return `${((v / total) * 100).toFixed(1).padStart(5)}%`;
}

export function summarize(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfTime = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfTime.values()].reduce((a, b) => a + b, 0);
  const key = (f: CallFrame) => `${f.functionName || "(anonymous)"}  ${shortUrl(f.url)}:${f.lineNumber + 1}`;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const groups = new Map<string, number>();
  for (const [id, t] of selfTime) {
    const node = byId.get(id)!;
    const k = key(node.callFrame);
    self.set(k, (self.get(k) ?? 0) + t);
    groups.set(group(node.callFrame.url), (groups.get(group(node.callFrame.url)) ?? 0) + t);
    // Inclusive: every distinct function on the stack gets the sample once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const kk = key(byId.get(cur)!.callFrame);
      if (seen.has(kk)) continue;
      seen.add(kk);
      inclusive.set(kk, (inclusive.get(kk) ?? 0) + t);
    }
  }
  const list = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `  ${pct(v, total)}  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  return [
    `profile: ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s, ${profile.samples.length} samples`,
    "",
    "self time by package / file:",
    ...list(groups, top),
    "",
    "self time by function:",
    ...list(self, top),
    "",
    "total time (self + callees) by function:",
    ...list(inclusive, top),
  ].join("\n");
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ options: { top: { type: "string" } }, allowPositionals: true });
  if (positionals.length === 0) {
    process.stderr.write("usage: node bench/src/tools/cpuprofile-top.ts FILE.cpuprofile [--top N]\n");
    process.exit(2);
  }
  for (const file of positionals) {
    process.stdout.write(`== ${file}\n${summarize(JSON.parse(readFileSync(file, "utf8")) as CpuProfile, Number(values.top ?? 25))}\n\n`);
  }
}
