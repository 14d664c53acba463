/**
 * `npm run bench [-- --full | --smoke | options]`: Carrier2 side by side with its peers. See
 * bench/README.md. Writes <out>/<timestamp>.json, .md and .svg and prints the ratios.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RunReport } from "./model.ts";
import { parseOptions, USAGE } from "./options.ts";
import { summary } from "./report/console.ts";
import { computeRatios } from "./report/ratios.ts";
import { toMarkdown } from "./report/markdown.ts";
import { toSvg } from "./report/svg.ts";
import { runAll } from "./runner.ts";
import { bridges } from "./scenarios/bridges.ts";
import { SCENARIOS } from "./scenarios/catalog.ts";
import { l4 } from "./scenarios/l4.ts";
import { routePushes } from "./scenarios/route-pushes.ts";
import { rss } from "./scenarios/rss.ts";
import { throughput } from "./scenarios/throughput.ts";
import { CARRIER2_BIN } from "./targets/targets.ts";
import { websocket } from "./scenarios/websocket.ts";

const RESULTS = fileURLToPath(new URL("../results", import.meta.url));

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv, RESULTS, CARRIER2_BIN);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.report) return rerender(parsed.report);
  const { profile } = parsed;
  const command = `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`;
  const t0 = performance.now();
  const say = (line: string) => {
    const lead = line.startsWith("\n") ? "\n" : "";
    const stamp = `[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s]`;
    process.stdout.write(`${lead}${stamp} ${line.slice(lead.length)}\n`);
  };
  say(`Carrier2 bench (${profile.mode}): N = ${profile.workers} workers, ${profile.connections} connections, warm-up ${profile.warmupS} s, ${profile.durationS} s measured`);
  const report = await runAll(profile, [throughput, bridges, routePushes, websocket, l4, rss], command, say);

  mkdirSync(profile.outDir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, "-");
  const files = { json: join(profile.outDir, `${stamp}.json`), md: join(profile.outDir, `${stamp}.md`), svg: join(profile.outDir, `${stamp}.svg`) };
  writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(files.svg, toSvg(report));
  writeFileSync(files.md, toMarkdown(report, `${stamp}.svg`));
  say(summary(report, Object.values(files)));
  // Results are written either way; a run in which Carrier2 never served is a failure for scripts.
  const c2 = report.scenarios.flatMap((s) => s.measurements).filter((m) => m.kind === "carrier2");
  if (c2.length > 0 && !c2.some((m) => m.result)) {
    process.stderr.write("bench: Carrier2 did not serve in any scenario (see the skipped reasons above)\n");
    return 1;
  }
  return 0;
}

/** `--report FILE.json`: ratios recomputed with the current code, markdown and SVG rewritten beside it. */
function rerender(file: string): number {
  const report = JSON.parse(readFileSync(file, "utf8")) as RunReport;
  for (const s of report.scenarios) {
    const info = Object.values(SCENARIOS).find((i) => i.key === s.id);
    if (info && info.metric !== "none") s.ratios = computeRatios(s.measurements, info.metric);
  }
  const base = file.replace(/\.json$/, "");
  const stamp = basename(base);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.svg`, toSvg(report));
  writeFileSync(`${base}.md`, toMarkdown(report, `${stamp}.svg`));
  process.stdout.write(`${summary(report, [file, `${base}.md`, `${base}.svg`])}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
