/**
 * `threads: auto` (the default): one worker per CPU this process may use — the cgroup CPU quota when the
 * container has one (Kubernetes CPU limits), else the CPUs it may run on — at most 4: Carrier2 runs in
 * development clusters, beside the workload it replaces, and 4 workers already saturate a typical pod.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

export const MAX_AUTO_THREADS = 4;

/** CPUs allowed by a cgroup v2 `cpu.max` line (`"200000 100000"` → 2), or undefined when unlimited. */
export function cgroupCpus(cpuMax: string): number | undefined {
  const [quota, period] = cpuMax.trim().split(/\s+/);
  if (!quota || quota === "max" || !period) return undefined;
  const q = Number(quota);
  const p = Number(period);
  if (!(q > 0 && p > 0)) return undefined;
  return Math.max(1, Math.ceil(q / p));
}

export function autoThreads(cpuMaxFile = "/sys/fs/cgroup/cpu.max"): number {
  let cpus = availableParallelism();
  try {
    cpus = Math.min(cpus, cgroupCpus(readFileSync(cpuMaxFile, "utf8")) ?? cpus);
  } catch {
    // no cgroup v2 quota file: not in a limited container
  }
  return Math.max(1, Math.min(cpus, MAX_AUTO_THREADS));
}
