/** A worker process: one DataPlane driven by the primary's prepare/commit/abort messages. */
import { log } from "../observability/log.ts";
import { DataPlane, type Prepared } from "./data-plane.ts";
import type { FromWorker, ToWorker } from "./messages.ts";

const plane = new DataPlane();
const pending = new Map<number, Prepared>();

function send(msg: FromWorker): void {
  process.send?.(msg);
}

process.on("message", (msg: ToWorker) => {
  switch (msg.t) {
    case "prepare":
      plane.prepare(msg.config, msg.generation).then(
        (prepared) => {
          pending.set(msg.round, prepared);
          send({ t: "prepared", round: msg.round });
        },
        (err: Error) => send({ t: "failed", round: msg.round, error: err.message }),
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
    case "shutdown":
      plane.close(msg.drainMs).finally(() => process.exit(0));
      return;
  }
});

process.on("SIGINT", () => {}); // the primary decides when workers stop
process.on("SIGTERM", () => {});
process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection (bug)"));
send({ t: "ready" });
