/**
 * Connection pools toward upstreams (undici `Pool`: keep-alive, pipelining off). One pool per endpoint
 * identity, shared by every route and configuration generation that uses it; pools nobody references
 * any more are closed after the drain timeout, so in-flight requests finish on them.
 */
import { readFileSync } from "node:fs";
import { Pool } from "undici";
import type { Carrier2Config } from "../config/index.ts";
import { log } from "../observability/log.ts";
import type { Endpoint } from "./endpoint.ts";

interface PoolSettings {
  connectMs: number;
  headersMs: number;
  bodyIdleMs: number;
  drainMs: number;
  verify: boolean;
  caFile: string | undefined;
}

function settingsOf(config: Carrier2Config): PoolSettings {
  return {
    connectMs: config.timeouts.connectMs,
    headersMs: config.timeouts.headersMs,
    bodyIdleMs: config.timeouts.bodyIdleMs,
    drainMs: config.timeouts.drainMs,
    verify: config.upstreamTls.verify,
    caFile: config.upstreamTls.caFile,
  };
}

export class UpstreamPools {
  /** Endpoint key → pool and the settings it was made under. */
  #pools = new Map<string, { pool: Pool; settingsId: string }>();
  #settings: PoolSettings | undefined;
  #settingsId = "";
  #ca: Buffer | undefined;

  /** Adopt a configuration's pool settings; pools made under other settings are retired. */
  configure(config: Carrier2Config): void {
    const next = settingsOf(config);
    const id = JSON.stringify(next);
    if (id === this.#settingsId) return;
    this.#settings = next;
    this.#settingsId = id;
    this.#ca = next.verify && next.caFile ? readFileSync(next.caFile) : undefined;
  }

  /**
   * The pool for an endpoint under the current settings (created on first use). `h2`: speak HTTP/2 —
   * negotiated by ALPN over TLS, prior knowledge (h2c) in plaintext.
   */
  get(endpoint: Endpoint, h2 = false): Pool {
    const key = h2 ? `${endpoint.key}|h2` : endpoint.key;
    const entry = this.#pools.get(key);
    if (entry && entry.settingsId === this.#settingsId) return entry.pool;
    if (entry) this.#retireOne(entry.pool, this.#settings!.drainMs);
    {
      const s = this.#settings!;
      const pool = new Pool(endpoint.origin, {
        connections: null,
        pipelining: 1,
        connectTimeout: s.connectMs,
        headersTimeout: s.headersMs,
        bodyTimeout: s.bodyIdleMs,
        keepAliveTimeout: 4_000,
        ...(h2 ? { allowH2: true, useH2c: !endpoint.tls } : {}),
        connect: endpoint.tls
          ? { rejectUnauthorized: s.verify, ...(this.#ca ? { ca: this.#ca } : {}), ...(endpoint.servername ? { servername: endpoint.servername } : {}) }
          : {},
      });
      this.#pools.set(key, { pool, settingsId: this.#settingsId });
      return pool;
    }
  }

  #retireOne(pool: Pool, drainMs: number): void {
    pool.close().catch(() => {});
    const t = setTimeout(() => pool.destroy().catch(() => {}), drainMs);
    t.unref();
  }

  /** Close pools not in `keep` (endpoint keys) after `drainMs`, letting in-flight requests finish. */
  retire(keep: ReadonlySet<string>, drainMs: number): void {
    for (const [key, entry] of this.#pools) {
      const endpointKey = key.endsWith("|h2") ? key.slice(0, -3) : key;
      if (keep.has(endpointKey) && entry.settingsId === this.#settingsId) continue;
      this.#pools.delete(key);
      this.#retireOne(entry.pool, drainMs);
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.#pools.values()].map((e) => e.pool);
    this.#pools.clear();
    await Promise.all(all.map((p) => p.destroy().catch((err: unknown) => log.debug({ err }, "pool destroy"))));
  }
}
