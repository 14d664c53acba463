/** Number formatting shared by the console, markdown and SVG reports. */
import type { Measurement, Ratio } from "../model.ts";

export function n0(v: number | undefined): string {
  return v === undefined ? "–" : Math.round(v).toLocaleString("en-US");
}

export function n2(v: number | undefined): string {
  return v === undefined ? "–" : v.toFixed(2);
}

export function ratio(v: number | undefined): string {
  return v === undefined ? "–" : `${v.toFixed(2)}×`;
}

export function mbps(m: Measurement): number | undefined {
  const r = m.result;
  return r ? Math.max(r.mbPerSecRead, r.mbPerSecSent) : undefined;
}

/** `0.52×`, with the CPU-efficiency ratio when there is one: `0.52× (cpu 0.31×)`. */
export function ratioCell(r: Ratio | undefined): string {
  if (!r) return "–";
  return r.cpu === undefined ? ratio(r.value) : `${ratio(r.value)} (cpu ${ratio(r.cpu)})`;
}

/** `carrier2/nginx 0.52× (cpu 0.31×)  carrier2/haproxy ...` for one variant and worker level. */
export function ratioLine(ratios: readonly Ratio[]): string {
  return ratios.map((r) => `carrier2/${r.peer} ${ratioCell(r)}`).join("  ");
}

/** Ratios grouped by variant and worker level, in first-seen order. */
export function ratioGroups(ratios: readonly Ratio[]): { variant: string; workers: number; metric: string; ratios: Ratio[] }[] {
  const groups = new Map<string, { variant: string; workers: number; metric: string; ratios: Ratio[] }>();
  for (const r of ratios) {
    const key = `${r.variant}\u0000${r.workers}`;
    let g = groups.get(key);
    if (!g) {
      g = { variant: r.variant, workers: r.workers, metric: r.metric, ratios: [] };
      groups.set(key, g);
    }
    g.ratios.push(r);
  }
  return [...groups.values()];
}

/** At most `n` items, evenly spread, first and last kept (for printing long series). */
export function spread<T>(items: readonly T[], n = 12): T[] {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.round((i * (items.length - 1)) / (n - 1))]!);
}
