/**
 * A work queue of object keys, as client-go's: a key waits in the queue at most once however often
 * it is added; a key being processed is not handed out again until `done`, and if it was added
 * meanwhile it is queued once more then. Failed keys come back after an exponential backoff.
 */

export interface BackoffOptions {
  /** Delay after the first failure; doubles with each further failure of the same key. */
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 5 * 60_000 };

export class WorkQueue {
  readonly #backoff: BackoffOptions;
  readonly #queue: string[] = [];
  /** Keys waiting to be processed (in #queue, or to be queued when processing ends). */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  readonly #waiting: ((key: string | undefined) => void)[] = [];
  #shutDown = false;

  constructor(backoff: BackoffOptions = DEFAULT_BACKOFF) {
    this.#backoff = backoff;
  }

  add(key: string): void {
    if (this.#shutDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (!this.#processing.has(key)) this.#hand(key);
  }

  /** Add the key after `ms`; of several pending delays for one key, the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shutDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const due = Date.now() + ms;
    const pending = this.#delayed.get(key);
    if (pending && pending.due <= due) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { due, timer });
  }

  /** Add the key after its backoff: baseMs · 2^(failures − 1), at most maxMs. */
  addRateLimited(key: string): void {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    this.addAfter(key, this.backoffMs(failures));
  }

  backoffMs(failures: number): number {
    return Math.min(this.#backoff.baseMs * 2 ** Math.min(failures - 1, 30), this.#backoff.maxMs);
  }

  /** The key succeeded: its next failure starts the backoff anew. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The next key to process, or undefined once the queue is shut down. Call `done(key)` after. */
  get(): Promise<string | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) return Promise.resolve(this.#take(key));
    if (this.#shutDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) this.#hand(key);
  }

  /** Stop handing out keys; pending `get`s resolve to undefined. */
  shutDown(): void {
    this.#shutDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    for (const resolve of this.#waiting.splice(0)) resolve(undefined);
  }

  get length(): number {
    return this.#queue.length;
  }

  #hand(key: string): void {
    const waiter = this.#waiting.shift();
    if (waiter) waiter(this.#take(key));
    else this.#queue.push(key);
  }

  #take(key: string): string {
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }
}
