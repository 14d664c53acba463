/** The Carrier2 configuration (Gefyra Carrier2 YAML v1 plus Carrier2 extensions), as validated. */
import type { Bridge } from "../routes/index.ts";

export interface TlsFiles {
  /** PEM file paths. */
  certificate: string;
  key: string;
  /** Default SNI toward upstreams of this port. */
  sni?: string;
}

export interface ProxyConfig {
  port: number;
  /**
   * `http` (default): HTTP/1.1, HTTP/2, gRPC and WebSocket, routed per request. `tcp`: any other protocol;
   * every connection goes to `clusterUpstream` (round-robin), bytes copied both ways untouched.
   */
  protocol?: "http" | "tcp";
  tls?: TlsFiles;
  /** Shadow ("cluster") upstreams, `host:port`, round-robin. */
  clusterUpstream: string[];
  /** TLS toward the cluster upstream. Default: the port's tls. */
  clusterUpstreamTls?: boolean;
  /** Bridges in precedence order (YAML/JSON object key order). */
  bridges: Record<string, Bridge>;
}

export interface Timeouts {
  /** Connecting to an upstream (504 when exceeded). */
  connectMs: number;
  /** Waiting for an upstream's response headers (504). */
  headersMs: number;
  /** Idle time between body chunks either way (aborts the exchange). */
  bodyIdleMs: number;
  /** How long a closed port or a removed upstream may finish in-flight requests. */
  drainMs: number;
  /** A client must send its request head within this (else 408 and close); ports opened after a change use the new value. */
  clientHeadersMs: number;
}

export interface Carrier2Config {
  version: 1;
  /** Worker processes sharing the listening ports; 1 = a single process. `auto` (default) is resolved
   * at validation: see `threads.ts`. */
  threads: number;
  probes: { httpGet: number[]; httpsGet: number[] };
  proxy: ProxyConfig[];
  timeouts: Timeouts;
  upstreamTls: { verify: boolean; caFile?: string };
  /** A request that has passed through this Carrier2 this many times already gets 508. */
  loopLimit: number;
  /** Gefyra-only keys, accepted and ignored. */
  pid_file?: string;
  error_log?: string;
  upgrade_sock?: string;
  upstream_keepalive_pool_size?: number;
}

/** One problem with a configuration: where (`proxy[0].bridges.alice.endpoint`) and what. */
export interface ConfigIssue {
  path: string;
  message: string;
}
