/**
 * Logs are JSON lines (pino) on stdout: one object per line with `time`, `level`, `msg`, `pid` and, for
 * requests, `request_id`. The access log is the `msg: "request"` line written by the proxy's logging
 * phase.
 *
 * Lines are collected and handed to the writer (sonic-boom: asynchronous, non-blocking, EAGAIN
 * retried) in batches of about 16 KB, one write per batch instead of one per line; collected lines are
 * handed over at least every 50 ms and written synchronously at exit, so a quiet proxy's lines still
 * appear at once. Every line — access lines and the logger's own — goes through the same batch, in
 * order.
 */
import { pino } from "pino";

export type Logger = pino.Logger;

const level = process.env.CARRIER2_LOG_LEVEL ?? "info";

/** Characters collected before they are handed to the writer. */
const BATCH = 16 * 1024;

// minLength 0: sonic-boom writes what it is handed at once (batching happens here).
const destination = pino.destination({ dest: 1, sync: false, minLength: 0 });
let batch = "";

function handOver(): void {
  if (batch.length === 0) return;
  const lines = batch;
  batch = "";
  destination.write(lines);
}

setInterval(handOver, 50).unref();
process.on("exit", () => {
  try {
    destination.flushSync();
    // Handed over now, the batch would be written asynchronously: too late. A synchronous writer
    // (same fd, EAGAIN retried) writes it after what the asynchronous one still had.
    if (batch.length > 0) pino.destination({ dest: 1, sync: true }).write(batch);
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
  batch += line;
  if (batch.length >= BATCH) handOver();
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
  { write: writeLine },
);
