/**
 * The live event stream of routing decisions (`GET /v1/events`, the CLI's tail).
 *
 * Producing costs nothing while nobody listens: the logging phase publishes on the diagnostics channel
 * `carrier2:request` only when it `hasSubscribers`, and a process subscribes only while the admin API has
 * at least one consumer. Every buffer is bounded: a full batch drops events (counted), a consumer that
 * falls behind is disconnected. Traffic never waits for the stream.
 *
 *   logging phase ──publish──▶ EventBatcher ──batch──▶ (IPC from a worker) ──▶ EventHub ──▶ consumers
 */
import { channel } from "node:diagnostics_channel";

/** One routing decision, as sent to consumers (one JSON object per WebSocket message). */
export interface RequestEvent {
  type: "request";
  /** ISO time the response ended. */
  time: string;
  port: number;
  /** Bridge name, `cluster`, or null when refused before routing. */
  route: string | null;
  /** Index of the bridge rule that matched, when a bridge served it. */
  rule: number | null;
  method: string;
  /** Path and query as received. */
  path: string;
  /** Status sent (499: the client went away first). */
  status: number;
  duration_ms: number;
  generation: number;
  upstream: string | null;
  request_id: string;
  /** Carrier2 error code when the request failed. */
  error: string | null;
}

/** Published by the logging phase, only when `hasSubscribers`. */
export const requestChannel = channel("carrier2:request");

export type BatchSink = (events: RequestEvent[], dropped: number) => void;

/** At most this many events wait for the next flush; more are dropped and counted. */
export const MAX_BATCH = 1_000;
const FLUSH_MS = 20;

/**
 * Collects events published on `requestChannel` while started and hands them to `sink` in batches
 * (every 20 ms), so a burst costs one message, not one per request.
 */
export class EventBatcher {
  readonly #sink: BatchSink;
  #batch: RequestEvent[] = [];
  #dropped = 0;
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  readonly #onEvent = (message: unknown) => this.push(message as RequestEvent);

  constructor(sink: BatchSink) {
    this.#sink = sink;
  }

  get started(): boolean {
    return this.#started;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    requestChannel.subscribe(this.#onEvent);
  }

  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    requestChannel.unsubscribe(this.#onEvent);
    this.flush();
  }

  push(event: RequestEvent): void {
    if (this.#batch.length >= MAX_BATCH) {
      this.#dropped++;
      return;
    }
    this.#batch.push(event);
    if (!this.#timer) {
      this.#timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.#timer.unref();
    }
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batch.length === 0 && this.#dropped === 0) return;
    const batch = this.#batch;
    const dropped = this.#dropped;
    this.#batch = [];
    this.#dropped = 0;
    this.#sink(batch, dropped);
  }
}

/** What the hub needs of a consumer (a WebSocket). */
export interface EventConsumer {
  /** Bytes queued but not yet written to the network. */
  readonly bufferedAmount: number;
  send(text: string): void;
  /** Disconnect: the consumer did not keep up. */
  dropSlow(): void;
  /** Only events this accepts are sent (default: all). */
  accepts?(event: RequestEvent): boolean;
}

/** A consumer whose unsent data exceeds this is disconnected. */
export const MAX_CONSUMER_BUFFER = 1 << 20;

/**
 * Fans batches out to consumers and tells the producers when to start and stop (`onActive`). Sending is
 * `ws.send` (queued by the socket); a consumer more than `maxBuffered` bytes behind is dropped.
 */
export class EventHub {
  readonly #consumers = new Set<EventConsumer>();
  readonly #onActive: (active: boolean) => void;
  readonly #onCount: (count: number) => void;
  readonly #onSlow: () => void;
  readonly #maxBuffered: number;

  constructor(opts: { onActive: (active: boolean) => void; onCount?: (count: number) => void; onSlow?: () => void; maxBuffered?: number }) {
    this.#onActive = opts.onActive;
    this.#onCount = opts.onCount ?? (() => {});
    this.#onSlow = opts.onSlow ?? (() => {});
    this.#maxBuffered = opts.maxBuffered ?? MAX_CONSUMER_BUFFER;
  }

  get active(): boolean {
    return this.#consumers.size > 0;
  }

  get size(): number {
    return this.#consumers.size;
  }

  /** Add a consumer; returns its removal. */
  add(consumer: EventConsumer): () => void {
    this.#consumers.add(consumer);
    this.#onCount(this.#consumers.size);
    if (this.#consumers.size === 1) this.#onActive(true);
    return () => this.#remove(consumer);
  }

  publish(events: readonly RequestEvent[], dropped: number): void {
    if (this.#consumers.size === 0) return;
    const texts = events.map((e) => JSON.stringify(e));
    const lost = dropped > 0 ? JSON.stringify({ type: "dropped", count: dropped }) : undefined;
    for (const consumer of this.#consumers) {
      if (consumer.bufferedAmount > this.#maxBuffered) {
        this.#remove(consumer);
        this.#onSlow();
        consumer.dropSlow();
        continue;
      }
      for (let i = 0; i < texts.length; i++) {
        if (!consumer.accepts || consumer.accepts(events[i]!)) consumer.send(texts[i]!);
      }
      if (lost) consumer.send(lost);
    }
  }

  #remove(consumer: EventConsumer): void {
    if (!this.#consumers.delete(consumer)) return;
    this.#onCount(this.#consumers.size);
    if (this.#consumers.size === 0) this.#onActive(false);
  }
}
