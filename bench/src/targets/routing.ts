/**
 * What every proxy under test is configured with, and the request mixes the scenarios send. All
 * targets get the same routing: bridge `NAME` is chosen by `x-gefyra: NAME`; everything else goes to
 * the cluster upstream. Every bridge points at the same cheap upstream port (the "bridge" port), so
 * the bridge count measures routing cost, not upstream fan-out.
 */
import type { RequestSpec } from "../model.ts";

export const ROUTE_HEADER = "x-gefyra";

export interface Routing {
  /** Bridge names in precedence order; each is also its `x-gefyra` value. */
  bridges: readonly string[];
  /** host:port of the cluster upstream. */
  cluster: string;
  /** host:port every bridge forwards to. */
  bridge: string;
}

/** `count` developer names: dev-01..dev-10, dev-0001..dev-1000. */
export function developerNames(count: number): string[] {
  const width = Math.max(2, String(count).length);
  return Array.from({ length: count }, (_, i) => `dev-${String(i + 1).padStart(width, "0")}`);
}

const ACCEPT = { accept: "*/*", "user-agent": "carrier2-bench" };

export function developerRequest(name: string, path = "/"): RequestSpec {
  return { method: "GET", path, headers: { ...ACCEPT, [ROUTE_HEADER]: name } };
}

export function clusterRequest(path = "/"): RequestSpec {
  return { method: "GET", path, headers: { ...ACCEPT } };
}

/**
 * 100 requests: `clusterShare`% without a developer header, the rest spread over up to 70 of the
 * bridges, picked evenly across the whole list (first and last included: no linear scan gets lucky).
 */
export function developerMix(bridges: readonly string[], clusterShare = 30): RequestSpec[] {
  const devSlots = 100 - clusterShare;
  const picks = Math.min(bridges.length, devSlots);
  const chosen = Array.from({ length: picks }, (_, i) => bridges[picks === 1 ? 0 : Math.round((i * (bridges.length - 1)) / (picks - 1))]!);
  const out: RequestSpec[] = [];
  let dev = 0;
  let cluster = 0;
  for (let i = 0; i < 100; i++) {
    // Interleave: cluster requests are spread through the sequence, not bunched.
    const wantCluster = Math.floor(((i + 1) * clusterShare) / 100) > cluster;
    if (wantCluster) {
      out.push(clusterRequest());
      cluster++;
    } else {
      out.push(developerRequest(chosen[dev++ % chosen.length]!));
    }
  }
  return out;
}

/** Bodies the upstream answers with, so a routing check can tell where a request went. */
export const UPSTREAM_BODY = { cluster: "cluster\n", bridge: "bridge\n" } as const;
export const BIG_PATH = "/1mb";
/** The upstream reads the whole request body, then answers (what an upload endpoint does). */
export const UPLOAD_PATH = "/upload";
/** nginx answers 200 at once and discards the body meanwhile (an early answer, e.g. a 401/413). */
export const EARLY_UPLOAD_PATH = "/upload-early";
export const BIG_BYTES = 1024 * 1024;
