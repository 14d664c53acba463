/**
 * A hand-written SVG chart: one panel per scenario variant, a horizontal bar per target (rps, or MB/s
 * for 1 MB bodies, or p99 ms for the fixed-rate run), Carrier2 highlighted. No dependencies.
 */
import type { Measurement, RunReport, TargetKind } from "../model.ts";
import { mbps, n0, n2 } from "./format.ts";

const COLORS: Record<TargetKind, string> = {
  carrier2: "#1f6fb2",
  nginx: "#3c9a2e",
  haproxy: "#c0392b",
  "http-proxy": "#8e44ad",
  direct: "#8a8f94",
};

interface Panel {
  title: string;
  unit: string;
  bars: { label: string; kind: TargetKind; value: number | undefined; note: string }[];
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function panels(report: RunReport): Panel[] {
  const out: Panel[] = [];
  for (const s of report.scenarios) {
    if (s.measurements.length === 0) continue;
    if (s.id.startsWith("8-")) {
      for (const m of s.measurements) {
        const rss = m.extra?.rss as { at: string; totalMiB: number }[] | undefined;
        if (!rss) continue;
        out.push({
          title: `(8) RSS of ${m.target} — ${m.variant}`,
          unit: "MiB (supervisor + workers)",
          bars: rss.map((r) => ({ label: r.at, kind: m.kind, value: r.totalMiB, note: `${r.totalMiB} MiB` })),
        });
      }
      continue;
    }
    if (s.id.startsWith("4-")) {
      // Pushes: compare each target with itself, without and with pushes.
      for (const target of new Set(s.measurements.map((m) => m.target))) {
        const ms = s.measurements.filter((m) => m.target === target);
        out.push({
          title: `(4) Route pushes during load — ${target}`,
          unit: "requests/s",
          bars: ms.map((m) => ({ label: m.variant, kind: m.kind, value: m.result?.rps, note: m.result ? `${n0(m.result.rps)} rps · p99 ${n2(m.result.latencyMs.p99)} ms · ${m.result.errors} errors` : "skipped" })),
        });
      }
      continue;
    }
    const variants = [...new Set(s.measurements.map((m) => m.variant))];
    for (const variant of variants) {
      const ms = s.measurements.filter((m) => m.variant === variant);
      const fixed = s.id.startsWith("1r-");
      const big = s.id.startsWith("5-");
      const value = (m: Measurement) => (fixed ? m.result?.latencyMs.p99 : big ? mbps(m) : m.result?.rps);
      const ws = s.id.startsWith("6-");
      const unit = fixed ? "p99 ms (lower is better)" : big ? "MB/s" : ws ? "echoed messages/s" : "requests/s";
      out.push({
        title: `${s.title.replace(/^\((\w+)\)\s*/, "($1) ")} — ${variant}`,
        unit,
        bars: ms.map((m) => ({
          label: m.target,
          kind: m.kind,
          value: value(m),
          note: m.result ? (fixed ? `${n2(value(m))} ms` : big ? `${n0(value(m))} MB/s` : `${n0(value(m))} ${ws ? "msg/s" : "rps"} · p99 ${n2(m.result.latencyMs.p99)} ms`) : `skipped`,
        })),
      });
    }
  }
  return out;
}

export function toSvg(report: RunReport): string {
  const width = 980;
  const labelW = 190;
  const barMax = 540;
  const barH = 18;
  const gap = 6;
  const ps = panels(report);
  const header = 64;
  let y = header;
  const parts: string[] = [];
  for (const p of ps) {
    const max = Math.max(1, ...p.bars.map((b) => b.value ?? 0));
    parts.push(`<text x="16" y="${y + 14}" class="panel">${esc(p.title)}</text>`);
    parts.push(`<text x="${width - 16}" y="${y + 14}" class="unit" text-anchor="end">${esc(p.unit)}</text>`);
    y += 24;
    for (const b of p.bars) {
      const w = b.value === undefined ? 0 : Math.max(1, (b.value / max) * barMax);
      const strong = b.kind === "carrier2" ? ' class="c2"' : "";
      parts.push(`<text x="${16 + labelW - 8}" y="${y + barH - 5}" text-anchor="end"${strong}>${esc(b.label)}</text>`);
      parts.push(`<rect x="${16 + labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" rx="2" fill="${COLORS[b.kind]}"${b.kind === "carrier2" ? "" : ' fill-opacity="0.75"'}/>`);
      parts.push(`<text x="${16 + labelW + w + 6}" y="${y + barH - 5}" class="val">${esc(b.note)}</text>`);
      y += barH + gap;
    }
    y += 14;
  }
  if (ps.length === 0) {
    parts.push(`<text x="16" y="${y + 14}">No throughput scenario ran.</text>`);
    y += 30;
  }
  const m = report.machine;
  const subtitle = `${report.mode} run · ${report.startedAt} · ${m.cpus} CPUs · load avg ${m.loadavgStart[0]} → ${m.loadavgEnd[0]} · N = ${report.settings.workers} workers · ${report.settings.connections} connections`;
  const height = y + 16;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
<style>
  .title { font-size: 18px; font-weight: bold; fill: #222; }
  .sub { font-size: 12px; fill: #555; }
  .panel { font-size: 13px; font-weight: bold; fill: #222; }
  .unit { font-size: 11px; fill: #777; }
  .val { font-size: 11px; fill: #333; }
  .c2 { font-weight: bold; fill: #1f6fb2; }
  text { fill: #333; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="16" y="28" class="title">Carrier2 vs peers — same machine, same upstream, same load</text>
<text x="16" y="48" class="sub">${esc(subtitle)}</text>
${parts.join("\n")}
</svg>
`;
}
