/** What each scenario is, in one place (console, markdown and README use the same words). */
import type { ScenarioId } from "../options.ts";

export interface ScenarioInfo {
  id: ScenarioId;
  key: string;
  title: string;
  description: string;
  /** The figure the ratios compare. */
  metric: "rps" | "MB/s" | "none";
}

export const SCENARIOS: Record<ScenarioId, ScenarioInfo> = {
  "1": {
    id: "1",
    key: "1-one-developer",
    title: "(1) One developer's header route, small body",
    description: "Every request carries `x-gefyra: dev-01` and goes to that developer's bridge; the upstream answers 200 with a 7-byte body. Proxies have the 10 developer routes of (2) loaded.",
    metric: "rps",
  },
  "1r": {
    id: "1r",
    key: "1r-fixed-rate",
    title: "(1r) Added latency at a fixed rate",
    description: "The load of (1) at a fixed overall rate (5k rps outside smoke runs) instead of flat out, paced evenly (wrk2-style, latency from when each request was due) with idle CPUs kept awake: the latency a proxy adds at a modest rate; `added` = target p50 and p99 − direct's.",
    metric: "none",
  },
  "2": {
    id: "2",
    key: "2-ten-developers",
    title: "(2) Ten developers plus 30% cluster traffic",
    description: "A 100-request cycle: 70 carry `x-gefyra: dev-01..dev-10` (7 each), 30 carry no developer header and go to the cluster upstream.",
    metric: "rps",
  },
  "3": {
    id: "3",
    key: "3-bridges",
    title: "(3) 2 / 100 / 1,000 bridges",
    description: "The proxy holds N bridges (`dev-0001`...); 70% of requests spread over up to 70 of them (first and last included), 30% go to the cluster. Shows how routing cost grows with the route count.",
    metric: "rps",
  },
  "4": {
    id: "4",
    key: "4-route-pushes",
    title: "(4) Route pushes through the admin API at 10/s during load",
    description: "The load of (1) while the full configuration is PUT to `/v1/config` ten times a second (adding/removing a bridge each time); compared with the same process without pushes: errors, p99, push latency.",
    metric: "rps",
  },
  "5": {
    id: "5",
    key: "5-large-bodies",
    title: "(5) 1 MB bodies",
    description: "`GET /1mb` through a developer route (1 MiB response). With --full also `POST` of 1 MiB bodies, twice: to an upstream that reads the whole body before answering, and to one that answers 200 at once (`early 200`: the proxy must still read and drop the rest of the body, or the client's connection hangs). Reported in MB/s.",
    metric: "MB/s",
  },
  "6": {
    id: "6",
    key: "6-websocket",
    title: "(6) WebSocket echo messages/s",
    description: "WebSocket upgrade routed on `x-gefyra: dev-01` to a Node echo server, then tunnelled; each connection sends a 64-byte message, waits for the echo, sends the next. `rps` = echoed messages per second.",
    metric: "rps",
  },
  "7": {
    id: "7",
    key: "7-l4",
    title: "(7) L4 (TCP) mode against nginx stream",
    description: "Carrier2 `protocol: tcp` port vs nginx `stream {}` and HAProxy `mode tcp`, each relaying every connection to the cluster upstream, HTTP as payload: one request per connection (connection setup + relay); with --full also keep-alive requests and 1 MB downloads (MB/s).",
    metric: "rps",
  },
  "8": {
    id: "8",
    key: "8-rss",
    title: "(8) RSS before and after many requests",
    description: "Resident memory of the Carrier2 process tree (supervisor plus workers) after start, after warm-up, after the request count (1M with --full) and after 2 s idle.",
    metric: "none",
  },
};
