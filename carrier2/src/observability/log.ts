/**
 * Logs are JSON lines (pino) on stdout: one object per line with `time`, `level`, `msg`, `pid` and, for
 * requests, `request_id`. The access log is the `msg: "request"` line written by the proxy's logging
 * phase.
 *
 * Lines are buffered and written in batches (one syscall per few KB instead of one per request), and
 * flushed at least every 50 ms and at exit, so a quiet proxy's lines still appear at once.
 */
import { pino } from "pino";

export type Logger = pino.Logger;

const level = process.env.CARRIER2_LOG_LEVEL ?? "info";

const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
setInterval(() => destination.flush(), 50).unref();
process.on("exit", () => {
  try {
    destination.flushSync();
  } catch {
    // stdout already gone: nothing left to do
  }
});

/**
 * Write one pre-formatted JSON line (ending in "\n") to the same stream as `log`. For the access log,
 * whose fixed shape is cheaper to format by hand than through a generic serializer (it runs for every
 * request).
 */
export function writeLine(line: string): void {
  destination.write(line);
}

let isoMs = 0;
let isoText = "";

/** The current time as ISO 8601, formatted at most once per millisecond. */
export function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

export const log: Logger = pino(
  {
    level,
    base: { pid: process.pid, service: "carrier2" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  destination,
);
