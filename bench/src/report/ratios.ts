/** carrier2/peer ratios at equal worker counts (direct is the same single upstream at every level). */
import { type Measurement, PEERS, type Ratio } from "../model.ts";

function figure(m: Measurement, metric: "rps" | "MB/s"): number | undefined {
  const r = m.result;
  if (!r) return undefined;
  if (metric === "rps") return r.rps;
  return Math.max(r.mbPerSecRead, r.mbPerSecSent);
}

export function computeRatios(measurements: readonly Measurement[], metric: "rps" | "MB/s"): Ratio[] {
  const out: Ratio[] = [];
  const variants = [...new Set(measurements.map((m) => m.variant))];
  for (const variant of variants) {
    const inVariant = measurements.filter((m) => m.variant === variant);
    for (const c2 of inVariant.filter((m) => m.kind === "carrier2")) {
      for (const peer of PEERS) {
        const other = inVariant.find((m) => m.kind === peer && (peer === "direct" || m.workers === c2.workers));
        if (!other) continue;
        const a = figure(c2, metric);
        const b = figure(other, metric);
        const ratio: Ratio = { variant, workers: c2.workers, metric, peer, value: a !== undefined && b ? Math.round((a / b) * 1000) / 1000 : undefined };
        if (c2.cpuUsPerRequest && other.cpuUsPerRequest) ratio.cpu = Math.round((other.cpuUsPerRequest / c2.cpuUsPerRequest) * 1000) / 1000;
        out.push(ratio);
      }
    }
  }
  return out;
}
