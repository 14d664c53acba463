/** The primary ↔ worker protocol (cluster IPC). Every message names the apply round it belongs to. */
import type { Carrier2Config } from "../config/index.ts";

export type ToWorker =
  | { t: "prepare"; round: number; generation: number; config: Carrier2Config }
  | { t: "commit"; round: number }
  | { t: "abort"; round: number }
  | { t: "shutdown"; drainMs: number };

export type FromWorker =
  | { t: "ready" }
  | { t: "prepared"; round: number }
  | { t: "failed"; round: number; error: string }
  | { t: "committed"; round: number; generation: number };
