/** The runner's side of the load process: one child for the whole run, one load run at a time. */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { LoadResult, LoadSpec } from "../model.ts";
import type { ReplyMessage, RunMessage } from "./load-process.ts";

const SCRIPT = fileURLToPath(new URL("./load-process.ts", import.meta.url));

export class LoadGenerator {
  readonly #child: ChildProcess;
  #next = 0;
  readonly #pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();

  constructor() {
    this.#child = fork(SCRIPT, [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: [] });
    this.#child.on("message", (msg: ReplyMessage) => {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if ("error" in msg) p.reject(new Error(`load process: ${msg.error}`));
      else p.resolve(msg.result);
    });
    this.#child.on("exit", (code) => {
      for (const p of this.#pending.values()) p.reject(new Error(`load process exited (${code})`));
      this.#pending.clear();
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  run(spec: LoadSpec): Promise<LoadResult> {
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ id, spec } satisfies RunMessage);
    });
  }

  close(): void {
    if (this.#child.connected) this.#child.disconnect();
  }
}
