/**
 * One process's data plane: its listening ports, their route tables and the upstream pools.
 *
 * A configuration is applied in two steps so that several workers can apply it atomically:
 *  - `prepare` does everything that can fail — compile tables, read certificates, bind new ports —
 *    without touching what is serving; on failure it undoes itself and the old generation stays.
 *  - `commit` cannot fail: it swaps every port's table reference (requests already in flight keep
 *    theirs), re-keys TLS, and drains and closes ports that are gone.
 */
import type { Socket } from "node:net";
import type { Carrier2Config, ProxyConfig } from "../config/index.ts";
import type { PortServer } from "../listeners/protocols.ts";
import { createProbeServer, createProxyServer, drainAndClose, listen, readTls } from "../listeners/servers.ts";
import { createTcpServer } from "../listeners/tcp.ts";
import type { Pem } from "../listeners/self-signed.ts";
import { log } from "../observability/log.ts";
import { connectionClosed, connectionOpened } from "../observability/metrics.ts";
import type { PortState } from "../proxy/driver.ts";
import { buildPortTable, endpointKeys, type PortTable } from "../proxy/route-table.ts";
import { type PoolSettings, poolSettingsOf, UpstreamPools } from "../upstream/pools.ts";

type ListenerKind = "http" | "https" | "tcp" | "probe-http" | "probe-https";

interface Listener {
  port: number;
  kind: ListenerKind;
  server: PortServer;
  /** Proxy ports only. */
  state?: PortState;
}

interface PortPlan {
  port: number;
  kind: ListenerKind;
  table?: PortTable;
  pem?: Pem;
  /** A freshly bound listener (new port, or a kind change on an existing port). */
  fresh?: Listener;
}

/** A port could not be bound (in use, not permitted): the whole update fails with this. */
export class ListenError extends Error {
  override name = "ListenError";
  readonly port: number;

  constructor(port: number, cause: unknown) {
    const e = cause as NodeJS.ErrnoException;
    super(`cannot listen on port ${port}: ${e.code ?? e.message}`, { cause });
    this.port = port;
  }
}

export interface Prepared {
  config: Carrier2Config;
  generation: number;
  plans: PortPlan[];
  pools: PoolSettings;
}

export class DataPlane {
  readonly pools = new UpstreamPools();
  #listeners = new Map<number, Listener>();
  #config: Carrier2Config | undefined;
  #generation = 0;
  #probePem: Promise<Pem> | undefined;

  get generation(): number {
    return this.#generation;
  }

  get config(): Carrier2Config | undefined {
    return this.#config;
  }

  /** Ports currently open, for tests and status. */
  get ports(): number[] {
    return [...this.#listeners.keys()].sort((a, b) => a - b);
  }

  async apply(config: Carrier2Config, generation: number): Promise<void> {
    this.commit(await this.prepare(config, generation));
  }

  async prepare(config: Carrier2Config, generation: number): Promise<Prepared> {
    const plans: PortPlan[] = [];
    let pools: PoolSettings;
    try {
      pools = poolSettingsOf(config);
      for (const proxy of config.proxy) plans.push(this.#planProxy(proxy, generation, config));
      for (const port of config.probes.httpGet) plans.push({ port, kind: "probe-http" });
      for (const port of config.probes.httpsGet) plans.push({ port, kind: "probe-https", pem: await this.#probeCertificate() });
      for (const plan of plans) {
        const current = this.#listeners.get(plan.port);
        if (current && current.kind === plan.kind) continue;
        plan.fresh = await this.#open(plan, config.timeouts.clientHeadersMs);
      }
    } catch (err) {
      await this.#closeFresh(plans);
      throw err;
    }
    return { config, generation, plans, pools };
  }

  /** Undo a prepare that will not be committed. */
  async abort(prepared: Prepared): Promise<void> {
    await this.#closeFresh(prepared.plans);
  }

  /** Fresh listeners have served nothing yet (their gate is shut): close them and what they hold. */
  async #closeFresh(plans: PortPlan[]): Promise<void> {
    await Promise.all(plans.filter((p) => p.fresh).map((p) => drainAndClose(p.fresh!.server, 0)));
  }

  commit(prepared: Prepared): void {
    const { config, generation, plans } = prepared;
    const drainMs = config.timeouts.drainMs;
    this.pools.configure(prepared.pools);
    const wanted = new Set<number>();
    const keepEndpoints = new Set<string>();
    for (const plan of plans) {
      wanted.add(plan.port);
      const current = this.#listeners.get(plan.port);
      if (plan.fresh) {
        if (current) this.#close(current, drainMs);
        this.#listeners.set(plan.port, plan.fresh);
        plan.fresh.server.open();
      } else if (current?.state && plan.table) {
        current.state.table = plan.table;
        if (plan.kind === "https" && plan.pem) current.server.setSecureContext?.(plan.pem);
      }
      if (plan.table) for (const k of endpointKeys(plan.table)) keepEndpoints.add(k);
    }
    for (const [port, listener] of this.#listeners) {
      if (!wanted.has(port)) {
        this.#listeners.delete(port);
        this.#close(listener, drainMs);
      }
    }
    this.pools.retire(keepEndpoints, drainMs);
    this.#config = config;
    this.#generation = generation;
  }

  async close(drainMs = 0): Promise<void> {
    const all = [...this.#listeners.values()];
    this.#listeners.clear();
    for (const l of all) if (l.state) l.state.closing = true;
    await Promise.all(all.map((l) => drainAndClose(l.server, drainMs)));
    await this.pools.closeAll();
  }

  #planProxy(proxy: ProxyConfig, generation: number, config: Carrier2Config): PortPlan {
    const table = buildPortTable(proxy, generation, { loopLimit: config.loopLimit, connectMs: config.timeouts.connectMs });
    if (proxy.protocol === "tcp") return { port: proxy.port, kind: "tcp", table };
    if (!proxy.tls) return { port: proxy.port, kind: "http", table };
    return { port: proxy.port, kind: "https", table, pem: readTls(proxy.tls) };
  }

  async #open(plan: PortPlan, clientHeadersMs: number): Promise<Listener> {
    let server: PortServer;
    let state: PortState | undefined;
    if (plan.table) {
      state = { table: plan.table, pools: this.pools, closing: false };
      server = plan.kind === "tcp" ? createTcpServer(state) : createProxyServer(plan.port, state, plan.pem, clientHeadersMs);
      const port = plan.port;
      server.on("connection", (socket: Socket) => {
        connectionOpened(port);
        socket.once("close", () => connectionClosed(port));
      });
    } else {
      server = createProbeServer(plan.pem);
    }
    try {
      await listen(server, plan.port);
    } catch (err) {
      throw new ListenError(plan.port, err);
    }
    log.debug({ port: plan.port, kind: plan.kind }, "listening");
    return { port: plan.port, kind: plan.kind, server, ...(state ? { state } : {}) };
  }

  #close(listener: Listener, drainMs: number): void {
    // Responses from now on close their connections instead of keeping them alive on a dead table.
    if (listener.state) listener.state.closing = true;
    drainAndClose(listener.server, drainMs).then(
      () => log.debug({ port: listener.port }, "port closed"),
      (err: unknown) => log.warn({ port: listener.port, err }, "closing port failed"),
    );
  }

  #probeCertificate(): Promise<Pem> {
    // Loaded on first use: certificate generation costs startup time and memory most ports never need.
    this.#probePem ??= import("../listeners/self-signed.ts").then((m) => m.selfSignedCertificate("carrier2-probe"));
    return this.#probePem;
  }
}
