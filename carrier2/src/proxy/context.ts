/** Per-request state: created once per request by the driver, passed to every phase. Never on sockets. */
import type { Dispatcher } from "undici";
import type { RouteHit } from "../routes/index.ts";
import type { Endpoint } from "../upstream/endpoint.ts";
import type { UpstreamPools } from "../upstream/pools.ts";
import type { PortState } from "./driver.ts";
import type { Downstream, ProxyRequest } from "./downstream.ts";
import type { ProxyError } from "./errors.ts";
import type { PortTable, Route } from "./route-table.ts";

export class RequestContext {
  readonly req: ProxyRequest;
  /** The client side: Node's response, or the socket of an upgrade request. */
  readonly res: Downstream;
  /** Bytes an upgrading client sent after its request head (forwarded once tunnelled). */
  readonly head: Buffer | undefined;
  /** The route table generation that decides this request, fixed at arrival. */
  readonly table: PortTable;
  readonly pools: UpstreamPools;
  /** The listener's state (its `closing` flag may change while the request runs). */
  readonly state: PortState;
  readonly startedAt: number;
  requestId = "";
  /** Origin-form request target (path and query). */
  target = "";
  hasBody = false;
  hit: RouteHit | undefined = undefined;
  route: Route | undefined = undefined;
  endpoint: Endpoint | undefined = undefined;
  /** Went to the cluster because the bridge endpoint was unreachable (`fallback: cluster`). */
  fellBack = false;
  controller: Dispatcher.DispatchController | undefined = undefined;
  responseStarted = false;
  downstreamClosed = false;
  error: ProxyError | undefined = undefined;

  constructor(req: ProxyRequest, res: Downstream, state: PortState, head?: Buffer) {
    this.req = req;
    this.res = res;
    this.head = head;
    this.state = state;
    this.table = state.table;
    this.pools = state.pools;
    this.startedAt = performance.now();
  }
}
