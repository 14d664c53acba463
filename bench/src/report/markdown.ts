/** The markdown summary written next to the JSON: what ran, on what, the tables and the ratios. */
import { PEERS, type RunReport, type ScenarioReport } from "../model.ts";
import { mbps, n0, n2, ratio, ratioCell, ratioGroups, spread } from "./format.ts";

function measurementsTable(s: ScenarioReport): string[] {
  const big = s.id.startsWith("5-");
  const head = ["target", "variant", "rps", "p50 ms", "p99 ms", "p99.9 ms", "errors", "non-2xx", ...(big ? ["MB/s"] : []), "target CPU %", "CPU µs/req", "load-gen CPU %", "load avg (1m)"];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const m of s.measurements) {
    const r = m.result;
    if (!r) {
      lines.push(`| ${m.target} | ${m.variant} | skipped: ${m.skipped ?? "?"} |${" |".repeat(head.length - 3)}`);
      continue;
    }
    const cells = [
      m.target,
      m.variant,
      n0(r.rps),
      n2(r.latencyMs.p50),
      n2(r.latencyMs.p99),
      n2(r.latencyMs.p99_9),
      String(r.errors),
      String(r.non2xx),
      ...(big ? [n0(mbps(m))] : []),
      m.targetCpuPct === undefined ? "–" : n0(m.targetCpuPct),
      n0(m.cpuUsPerRequest),
      n0(r.loadGenCpuPct),
      String(m.loadavg[0]),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines;
}

function ratiosTable(s: ScenarioReport): string[] {
  const groups = ratioGroups(s.ratios);
  if (groups.length === 0) return [];
  const head = ["variant", "workers", ...PEERS.map((p) => `carrier2/${p}`)];
  const lines = [
    "",
    `Ratios (${groups[0]!.metric}, equal worker counts; > 1: Carrier2 is faster). In brackets, CPU efficiency: the peer's CPU µs per request over Carrier2's (> 1: Carrier2 spends less CPU per request; steadier than rps when the machine is shared):`,
    "",
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
  ];
  for (const g of groups) {
    const cells = PEERS.map((p) => ratioCell(g.ratios.find((r) => r.peer === p)));
    lines.push(`| ${g.variant} | ${g.workers} | ${cells.join(" | ")} |`);
  }
  return lines;
}

function extras(s: ScenarioReport): string[] {
  const out: string[] = [];
  if (s.id.startsWith("1r-") && s.extra) {
    const added = s.extra.addedP99Ms as Record<string, number>;
    const addedP50 = (s.extra.addedP50Ms ?? {}) as Record<string, number>;
    const signed = (v: number | undefined) => (v === undefined ? "–" : `${v >= 0 ? "+" : ""}${v.toFixed(3)}`);
    const parts = Object.entries(added).map(([t, v]) => `${t} ${signed(addedP50[t])} / ${signed(v)} ms`);
    const direct = `${s.extra.directP50Ms === undefined ? "" : `${n2(s.extra.directP50Ms as number)} / `}${n2(s.extra.directP99Ms as number)} ms`;
    if (parts.length) out.push("", `Added latency over direct (p50 / p99; direct ${direct}) at ${n0(s.extra.rate as number)} rps: ${parts.join(", ")}.`);
  }
  for (const m of s.measurements) {
    const pushes = m.extra?.pushes as { attempted: number; ok: number; failed: number; latencyMs: { p50: number; p99: number; max: number } | null; errors: string[] } | undefined;
    if (pushes) {
      const lat = pushes.latencyMs;
      out.push(
        "",
        `${m.target}: ${pushes.ok}/${pushes.attempted} pushes answered 200, ${pushes.failed} failed` +
          (lat ? `; push latency p50 ${lat.p50} ms, p99 ${lat.p99} ms, max ${lat.max} ms` : "") +
          (m.extra?.p99ImpactMs !== undefined ? `; load p99 ${(m.extra.p99ImpactMs as number) >= 0 ? "+" : ""}${m.extra.p99ImpactMs} ms and ${ratio(m.extra.rpsRatioVsNoPushes as number)} rps vs no pushes` : "") +
          (pushes.errors.length ? `; first error: \`${pushes.errors[0]}\`` : "") +
          ".",
      );
    }
    const rss = m.extra?.rss as { at: string; totalMiB: number; perProcessMiB: number[] }[] | undefined;
    if (rss) {
      out.push("", `RSS of ${m.target} (supervisor + workers):`, "", "| when | total MiB | per process MiB |", "|---|---|---|");
      for (const r of rss) out.push(`| ${r.at} | ${r.totalMiB} | ${r.perProcessMiB.join(", ")} |`);
      const points = m.extra?.rssTimeline as { atS: number; totalMiB: number }[] | undefined;
      if (points && points.length > 2) {
        out.push("", `RSS during the requests (a leak keeps growing; a lazy GC levels off): ${spread(points).map((p) => `${p.totalMiB} MiB at ${p.atS} s`).join(", ")}.`);
      }
    }
  }
  return out;
}

export function toMarkdown(report: RunReport, chartFile: string): string {
  const m = report.machine;
  const v = report.versions;
  const st = report.settings;
  const lines = [
    `# Carrier2 bench — ${report.mode} run, ${report.startedAt}`,
    "",
    `Command: \`${report.command}\``,
    "",
    `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memGiB} GiB, Node ${m.node}, ${m.platform}. Load average (1/5/15 min) at start ${m.loadavgStart.join(" / ")}, at end ${m.loadavgEnd.join(" / ")}.`,
    "",
    `Versions: ${Object.entries(v).map(([k, val]) => `${k} ${val}`).join(", ")}.`,
    "",
    `Settings: N = ${st.workers} workers; ${st.connections} connections (1 MB bodies: ${st.bigConnections}); warm-up ${st.startWarmupS} s when a target starts and ${st.warmupS} s before each run, measured ${st.durationS} s (bridges: ${st.bridgesStartWarmupS} + ${st.bridgesWarmupS} s warm-up, ${st.bridgesDurationS} s measured); access logs ${st.accessLog ? "on in every target (to a file)" : "off"}; upstream: ${st.upstream}.`,
    "",
    "Every figure below comes from this one run on this one machine; compare ratios, not absolute numbers across machines. Latency is per response, measured by the load process (µs resolution); `target CPU %` is the proxy's processes' CPU over the run (100 = one core) and `CPU µs/req` that CPU time per request (efficiency: less sensitive to other load on the machine than rps); `load-gen CPU %` is the load process's (near 100: the load generator, not the target, was the limit).",
    "",
    `![rps and MB/s per target](${chartFile})`,
  ];
  if (report.notices.length) lines.push("", "Notices:", "", ...report.notices.map((n) => `- ${n}`));
  for (const s of report.scenarios) {
    lines.push("", `## ${s.title}`, "", s.description, "");
    if (s.status === "not available") {
      lines.push(`**Not available.** ${s.notices.join(" ")}`);
      continue;
    }
    if (s.notices.length) lines.push(...s.notices.map((n) => `> ${n}`), "");
    if (s.measurements.length) lines.push(...measurementsTable(s));
    lines.push(...ratiosTable(s), ...extras(s));
  }
  return `${lines.join("\n")}\n`;
}
