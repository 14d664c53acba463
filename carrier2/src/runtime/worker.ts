/**
 * A worker process: one DataPlane driven by the primary's prepare/commit/abort messages. It answers
 * metrics requests with its snapshot and, while the primary asks for them, forwards request events in
 * batches (bounded: a batch the IPC channel has not taken yet makes the next ones drop, counted).
 */
import { EventBatcher, type RequestEvent } from "../observability/events.ts";
import { log } from "../observability/log.ts";
import { dataSnapshot, eventsWereDropped } from "../observability/metrics.ts";
import { DataPlane, ListenError, type Prepared } from "./data-plane.ts";
import type { FromWorker, ToWorker } from "./messages.ts";

const plane = new DataPlane();
const pending = new Map<number, Prepared>();

function send(msg: FromWorker): void {
  process.send?.(msg);
}

/** Event batches handed to IPC and not yet written; more than this and batches are dropped. */
const MAX_EVENT_SENDS_IN_FLIGHT = 4;
let eventSendsInFlight = 0;

function forwardEvents(events: RequestEvent[], dropped: number): void {
  if (eventSendsInFlight >= MAX_EVENT_SENDS_IN_FLIGHT) {
    eventsWereDropped(events.length + dropped);
    return;
  }
  if (dropped > 0) eventsWereDropped(dropped);
  eventSendsInFlight++;
  const msg: FromWorker = { t: "events", events, dropped };
  process.send?.(msg, undefined, {}, () => {
    eventSendsInFlight--;
  });
}

const events = new EventBatcher(forwardEvents);

process.on("message", (msg: ToWorker) => {
  switch (msg.t) {
    case "prepare":
      plane.prepare(msg.config, msg.generation).then(
        (prepared) => {
          pending.set(msg.round, prepared);
          send({ t: "prepared", round: msg.round });
        },
        (err: Error) => send({ t: "failed", round: msg.round, error: err.message, ...(err instanceof ListenError ? { port: err.port } : {}) }),
      );
      return;
    case "commit": {
      const prepared = pending.get(msg.round);
      pending.delete(msg.round);
      if (prepared) plane.commit(prepared);
      send({ t: "committed", round: msg.round, generation: plane.generation });
      return;
    }
    case "abort": {
      const prepared = pending.get(msg.round);
      pending.delete(msg.round);
      if (prepared) void plane.abort(prepared);
      return;
    }
    case "metrics":
      dataSnapshot().then(
        (metrics) => send({ t: "metrics", round: msg.round, metrics }),
        (err: unknown) => {
          log.error({ err }, "collecting metrics failed");
          send({ t: "metrics", round: msg.round, metrics: [] });
        },
      );
      return;
    case "events":
      if (msg.on) events.start();
      else events.stop();
      return;
    case "shutdown":
      events.stop();
      plane.close(msg.drainMs).finally(() => process.exit(0));
      return;
  }
});

process.on("SIGINT", () => {}); // the primary decides when workers stop
process.on("SIGTERM", () => {});
process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection (bug)"));
send({ t: "ready" });
