/** The end-of-run summary on stdout: per scenario, the ratios at each worker level. */
import type { RunReport } from "../model.ts";
import { n2, ratioGroups, ratioLine } from "./format.ts";

export function summary(report: RunReport, files: string[]): string {
  const lines = ["", "── Summary ─────────────────────────────────────────────────────────────────────"];
  const m = report.machine;
  lines.push(`load average at start ${m.loadavgStart.join("/")}, at end ${m.loadavgEnd.join("/")} (${m.cpus} CPUs)`);
  for (const s of report.scenarios) {
    lines.push(`${s.title}: ${s.status}${s.status !== "ran" && s.notices.length ? ` — ${s.notices.join(" ")}` : ""}`);
    for (const g of ratioGroups(s.ratios)) lines.push(`  ${g.variant}, ${g.workers} worker${g.workers > 1 ? "s" : ""} (${g.metric}): ${ratioLine(g.ratios)}`);
    for (const m of s.measurements) {
      const pushes = m.extra?.pushes as { attempted: number; ok: number; failed: number; latencyMs: { p50: number; p99: number } | null } | undefined;
      if (pushes) {
        const vs = m.extra?.rpsRatioVsNoPushes === undefined ? "" : `; load ${m.extra.rpsRatioVsNoPushes}× rps, p99 ${(m.extra.p99ImpactMs as number) >= 0 ? "+" : ""}${m.extra.p99ImpactMs} ms vs no pushes`;
        lines.push(`  ${m.target}: ${pushes.ok}/${pushes.attempted} pushes ok, ${pushes.failed} failed${pushes.latencyMs ? `, push p50 ${pushes.latencyMs.p50} / p99 ${pushes.latencyMs.p99} ms` : ""}; load errors ${m.result?.errors ?? "-"}${vs}`);
      }
      const rss = m.extra?.rss as { at: string; totalMiB: number }[] | undefined;
      if (rss?.length) lines.push(`  ${m.target}: RSS ${rss.map((r) => `${r.totalMiB} MiB ${r.at}`).join(", ")}`);
    }
    for (const n of s.status === "ran" ? s.notices : []) lines.push(`  note: ${n}`);
    if (s.id.startsWith("1r-") && s.extra) {
      const added = s.extra.addedP99Ms as Record<string, number>;
      const addedP50 = (s.extra.addedP50Ms ?? {}) as Record<string, number>;
      const signed = (v: number | undefined) => (v === undefined ? "–" : `${v >= 0 ? "+" : ""}${n2(v)}`);
      const parts = Object.entries(added).map(([t, v]) => `${t} ${signed(addedP50[t])} / ${signed(v)} ms`);
      if (parts.length) lines.push(`  added p50 / p99 over direct: ${parts.join(", ")}`);
    }
  }
  for (const n of report.notices) lines.push(`notice: ${n}`);
  lines.push("", ...files.map((f) => `wrote ${f}`));
  return lines.join("\n");
}
