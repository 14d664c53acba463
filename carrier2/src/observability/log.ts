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

export const log: Logger = pino(
  {
    level,
    base: { pid: process.pid, service: "carrier2" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  destination,
);
