/**
 * Logs are JSON lines (pino) on stdout: one object per line with `time`, `level`, `msg`, `pid` and, for
 * requests, `request_id`. The access log is the `msg: "request"` line written by the proxy's logging
 * phase.
 */
import { pino } from "pino";

export type Logger = pino.Logger;

const level = process.env.CARRIER2_LOG_LEVEL ?? "info";

export const log: Logger = pino({
  level,
  base: { pid: process.pid, service: "carrier2" },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
});
