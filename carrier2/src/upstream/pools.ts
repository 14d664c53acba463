/**
 * Connection pools toward upstreams: HTTP/1.1 by `h1.ts` (keep-alive, no pipelining), HTTP/2 by undici's
 * `Pool`; both take the same `dispatch(options, handler)`. One pool per endpoint identity (and
 * protocol), shared by every route and configuration generation that uses it; pools nobody references
 * any more are closed after the drain timeout, so in-flight requests finish on them.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Pool } from "undici";
import type { Carrier2Config } from "../config/index.ts";
import { log } from "../observability/log.ts";
import type { Endpoint } from "./endpoint.ts";
import { type DispatchHandler, type DispatchOptions, H1Pool } from "./h1.ts";

/**
 * undici, loaded on the first HTTP/2 upstream (synchronously: it is CommonJS). A process that only
 * speaks HTTP/1.1 upstream never loads it: ~5.5 MiB less heap for every major GC to mark.
 */
let undiciPool: typeof Pool | undefined;
function http2Pool(): typeof Pool {
  undiciPool ??= (createRequire(import.meta.url)("undici") as typeof import("undici")).Pool;
  return undiciPool;
}

/** What the driver sends exchanges through (an H1Pool, or undici's Pool for HTTP/2). */
export interface UpstreamPool {
  dispatch(options: DispatchOptions, handler: DispatchHandler): unknown;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/** Everything pools are made with; read (files included) before a generation commits. */
export interface PoolSettings {
  id: string;
  connectMs: number;
  headersMs: number;
  bodyIdleMs: number;
  drainMs: number;
  verify: boolean;
  ca: Buffer | undefined;
}

/** Read a configuration's pool settings. Throws if the CA file cannot be read (prepare, not commit). */
export function poolSettingsOf(config: Carrier2Config): PoolSettings {
  const t = config.timeouts;
  const { verify, caFile } = config.upstreamTls;
  const ca = verify && caFile ? readFileSync(caFile) : undefined;
  const id = JSON.stringify([t.connectMs, t.headersMs, t.bodyIdleMs, t.drainMs, verify, ca?.toString("base64") ?? ""]);
  return { id, connectMs: t.connectMs, headersMs: t.headersMs, bodyIdleMs: t.bodyIdleMs, drainMs: t.drainMs, verify, ca };
}

/** How long an unused upstream connection is kept (below the usual server idle timeouts: nginx 75 s, Node 5 s). */
const KEEP_ALIVE_MS = 4_000;

export class UpstreamPools {
  /** Pool key → pool and the settings it was made under. */
  #pools = new Map<string, { pool: UpstreamPool; settingsId: string }>();
  #settings: PoolSettings | undefined;
  /** Endpoint keys the current generation uses; undefined until the first `retire`. */
  #live: ReadonlySet<string> | undefined;

  /** Adopt prepared settings (no I/O: this runs in a commit, which must not fail). */
  configure(settings: PoolSettings): void {
    this.#settings = settings;
  }

  /**
   * The pool for an endpoint under the current settings (created on first use). `h2`: speak HTTP/2 —
   * negotiated by ALPN over TLS, prior knowledge (h2c) in plaintext.
   */
  get(endpoint: Endpoint, h2 = false): UpstreamPool {
    const s = this.#settings!;
    const key = h2 ? `${endpoint.key}|h2` : endpoint.key;
    const entry = this.#pools.get(key);
    if (entry && entry.settingsId === s.id) return entry.pool;
    if (entry) this.#retireOne(entry.pool, s.drainMs);
    const tls = endpoint.tls
      ? { rejectUnauthorized: s.verify, ...(s.ca ? { ca: s.ca } : {}), ...(endpoint.servername ? { servername: endpoint.servername } : {}) }
      : undefined;
    const pool: UpstreamPool = h2
      ? (new (http2Pool())(endpoint.origin, {
          connections: null,
          pipelining: 1,
          connectTimeout: s.connectMs,
          headersTimeout: s.headersMs,
          bodyTimeout: s.bodyIdleMs,
          keepAliveTimeout: KEEP_ALIVE_MS,
          // useH2c (h2c with prior knowledge) is in undici's options but not yet in its types.
          ...{ allowH2: true, useH2c: !endpoint.tls },
          connect: tls ?? {},
        }) as unknown as UpstreamPool)
      : new H1Pool(endpoint, {
          connectTimeout: s.connectMs,
          headersTimeout: s.headersMs,
          bodyTimeout: s.bodyIdleMs,
          keepAliveTimeout: KEEP_ALIVE_MS,
          ...(tls ? { tls } : {}),
        });
    if (this.#live && !this.#live.has(endpoint.key)) {
      // A request of an older generation (e.g. a fallback) needs an endpoint that is gone: serve it,
      // then let the pool go.
      this.#retireOne(pool, s.drainMs);
      return pool;
    }
    this.#pools.set(key, { pool, settingsId: s.id });
    return pool;
  }

  /** Close pools not in `keep` (endpoint keys) after `drainMs`, letting in-flight requests finish. */
  retire(keep: ReadonlySet<string>, drainMs: number): void {
    this.#live = keep;
    for (const [key, entry] of this.#pools) {
      const endpointKey = key.endsWith("|h2") ? key.slice(0, -3) : key;
      if (keep.has(endpointKey) && entry.settingsId === this.#settings?.id) continue;
      this.#pools.delete(key);
      this.#retireOne(entry.pool, drainMs);
    }
  }

  #retireOne(pool: UpstreamPool, drainMs: number): void {
    pool.close().catch(() => {});
    const t = setTimeout(() => pool.destroy().catch(() => {}), drainMs);
    t.unref();
  }

  async closeAll(): Promise<void> {
    const all = [...this.#pools.values()].map((e) => e.pool);
    this.#pools.clear();
    await Promise.all(all.map((p) => p.destroy().catch((err: unknown) => log.debug({ err }, "pool destroy"))));
  }
}
