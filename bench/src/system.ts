/** Versions of what was measured, for the report (a figure without versions is not a claim). */
import { spawn, spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { findProgram } from "./targets/process.ts";

/** stdout and stderr of a command, joined (nginx -v prints to stderr, haproxy -v to stdout). */
function run(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 10_000 });
  if (r.error) return undefined;
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim() || undefined;
}

const require = createRequire(import.meta.url);

function pkgVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function collectVersions(): Record<string, string> {
  const versions: Record<string, string> = { node: process.version };
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../carrier2/package.json", import.meta.url), "utf8")) as { version: string };
    versions.carrier2 = pkg.version;
  } catch {
    versions.carrier2 = "unknown";
  }
  const commit = run("git", ["rev-parse", "--short", "HEAD"]);
  if (commit && /^[0-9a-f]+$/.test(commit)) {
    const dirty = run("git", ["status", "--porcelain", "--", "carrier2"]);
    versions.commit = dirty ? `${commit} (carrier2/ has uncommitted changes)` : commit;
  }
  const nginx = findProgram("nginx");
  if (nginx) versions.nginx = (run(nginx, ["-v"]) ?? "unknown").replace(/^nginx version:\s*/, "");
  const haproxy = findProgram("haproxy");
  if (haproxy) versions.haproxy = (run(haproxy, ["-v"]) ?? "unknown").split("\n")[0]!.replace(/^HAProxy version\s*/, "");
  versions.autocannon = pkgVersion("autocannon");
  versions["http-proxy"] = pkgVersion("http-proxy");
  return versions;
}

/**
 * Keeps every CPU busy with SCHED_IDLE spinners (they run only when nothing else wants the CPU) while a
 * fixed-rate load runs. On a VM an idle vCPU halts, and waking it costs milliseconds: on the bench
 * machine an nginx proxy's p99 at 1k rps paced was 1.7–15 ms with idle CPUs and 0.8–2.7 ms with them
 * kept awake (bench/README.md), which would otherwise swamp the latency a proxy adds. Without `chrt`
 * nothing is started, and the result says so.
 */
export function keepCpusAwake(): () => Promise<Record<string, unknown>> {
  const chrt = findProgram("chrt");
  if (!chrt) return async () => ({ cpusKeptAwake: 0 });
  const spinners = cpus().map(() => spawn(chrt, ["-i", "0", "sh", "-c", "while :; do :; done"], { stdio: "ignore" }));
  return async () => {
    await Promise.all(
      spinners.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGKILL");
          }),
      ),
    );
    return { cpusKeptAwake: spinners.length };
  };
}
