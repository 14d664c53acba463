/**
 * Processes the bench starts (upstream, proxies): spawn with output to files, readiness, stop by pid,
 * and the /proc readings the report uses (RSS and CPU time of a process tree).
 */
import { type ChildProcess, execFileSync, spawn, type SpawnOptions } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, truncateSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/** Every process the run started, so that an interrupted run leaves nothing behind. */
const started = new Set<ChildProcess>();

export function killAllStarted(): void {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

export interface Managed {
  name: string;
  child: ChildProcess;
  /** Where its stdout goes (appended; truncated between measurements). */
  stdoutFile: string;
  stderrFile: string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** Spawn with stdout/stderr to files in `dir` (never a pipe that could fill up). */
export function startProcess(name: string, dir: string, command: string, args: string[], opts: SpawnOptions = {}): Managed {
  const stdoutFile = join(dir, `${name}.stdout.log`);
  const stderrFile = join(dir, `${name}.stderr.log`);
  const out = openSync(stdoutFile, "a");
  const err = openSync(stderrFile, "a");
  const ipc = Array.isArray(opts.stdio) && opts.stdio.includes("ipc");
  const child = spawn(command, args, { ...opts, stdio: ipc ? ["ignore", out, err, "ipc"] : ["ignore", out, err] });
  closeSync(out);
  closeSync(err);
  started.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      started.delete(child);
      resolve(code);
    }),
  );
  child.once("error", () => {});
  const stop = async (signal: NodeJS.Signals = "SIGTERM", graceMs = 5_000) => {
    if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return { name, child, stdoutFile, stderrFile, exited, stop };
}

export function tail(file: string, chars = 1_500): string {
  try {
    const text = readFileSync(file, "utf8");
    return text.slice(-chars).trim();
  } catch {
    return "";
  }
}

export function truncateLog(file: string): void {
  try {
    truncateSync(file, 0);
  } catch {
    // not there: nothing to do
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolve when `file` contains `text`; reject if the process exits first or on timeout. */
export async function waitForText(p: Managed, file: string, text: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before ready: ${tail(p.stderrFile) || tail(p.stdoutFile)}`);
    }
    try {
      if (readFileSync(file, "utf8").includes(text)) return;
    } catch {
      // not written yet
    }
    await sleep(50);
  }
  throw new Error(`${p.name} not ready after ${timeoutMs} ms: ${tail(p.stderrFile) || tail(p.stdoutFile)}`);
}

/** Resolve when `url` answers over HTTP (any status). */
export async function waitForHttp(p: Managed, url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before ready: ${tail(p.stderrFile) || tail(p.stdoutFile)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`${p.name} did not answer ${url} within ${timeoutMs} ms: ${tail(p.stderrFile) || tail(p.stdoutFile)}`);
}

/** Resolve on the child's first IPC message `{ready: true}`. */
export function waitForIpcReady(p: Managed, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${p.name} not ready after ${timeoutMs} ms: ${tail(p.stderrFile)}`)), timeoutMs);
    p.child.on("message", (m: { ready?: boolean }) => {
      if (m?.ready) {
        clearTimeout(timer);
        resolve();
      }
    });
    void p.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${p.name} exited (${code}) before ready: ${tail(p.stderrFile)}`));
    });
  });
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A program on PATH or in the sbin directories (Debian puts nginx and haproxy in /usr/sbin). */
export function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

// ── /proc readings (Linux; elsewhere undefined) ─────────────────────────────────────────────────────

/** `pid` and all its descendants. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    try {
      for (const task of readTasks(p)) {
        const children = readFileSync(`/proc/${p}/task/${task}/children`, "utf8").trim();
        if (children) for (const c of children.split(/\s+/)) out.push(Number(c));
      }
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function readTasks(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [String(pid)];
  }
}

/** Resident set size in bytes of one process. */
export function rssOf(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system) used so far by each process in `pids`. */
export function cpuSeconds(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  const hz = ticksPerSecond();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(pid, (Number(fields[11]) + Number(fields[12])) / hz);
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU % (of one core) used by `pids` between two readings over `wallS` seconds. */
export function cpuPctBetween(before: Map<number, number>, after: Map<number, number>, wallS: number): number | undefined {
  if (after.size === 0 || wallS <= 0) return undefined;
  let used = 0;
  for (const [pid, t] of after) used += t - (before.get(pid) ?? 0);
  return Math.round((used / wallS) * 1000) / 10;
}
