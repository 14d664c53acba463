/**
 * One coarse timer for every connection's deadline (as undici's fast timers): arming a deadline costs
 * an assignment and a set insertion, not a Node timer per phase per request. Resolution: `TICK_MS`.
 */
export interface Expiring {
  /** When this times out, in `performance.now()` time; meaningful only while armed. */
  deadline: number;
  /** The deadline passed (called once; the entry is disarmed first). */
  expire(): void;
}

const TICK_MS = 50;
/** A clock that advances every tick: deadlines are set from it without reading the time per event. */
let clock = performance.now();
const armed = new Set<Expiring>();
let ticker: NodeJS.Timeout | undefined;

function tick(): void {
  clock = performance.now();
  for (const e of armed) {
    if (e.deadline <= clock) {
      armed.delete(e);
      e.expire();
    }
  }
  if (armed.size === 0) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

/** `e` expires `ms` from now (replacing its previous deadline). */
export function arm(e: Expiring, ms: number): void {
  if (ticker === undefined) {
    clock = performance.now(); // the clock stood still while nothing was armed
    ticker = setInterval(tick, TICK_MS).unref();
  }
  armed.add(e);
  e.deadline = clock + ms;
}

export function disarm(e: Expiring): void {
  armed.delete(e);
}
