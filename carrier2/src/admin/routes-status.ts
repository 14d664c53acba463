/**
 * Liveness, readiness, metrics and status.
 *
 *   GET /healthz   200 while the process runs (no token)
 *   GET /readyz    200 once a configuration is applied, 503 while idle (no token)
 *   GET /metrics   Prometheus text over all workers (no token unless --metrics-auth)
 *   GET /v1/status generation, workers (pid, generation each serves), ports, event consumers
 */
import type { FastifyInstance } from "fastify";
import { METRICS_CONTENT_TYPE, renderMetrics } from "../observability/metrics.ts";
import { AdminError } from "./errors.ts";
import type { AdminContext } from "./http.ts";

export function registerStatusRoutes(app: FastifyInstance, { store }: AdminContext): void {
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async () => {
    const { generation } = store.snapshot;
    if (generation === 0) throw new AdminError("C2_ADMIN_NOT_READY", "idle: waiting for a configuration (PUT /v1/config)");
    return { status: "ready", generation };
  });

  app.get("/metrics", async (_req, reply) => {
    const snapshots = (await store.supervisor?.metrics()) ?? [];
    return reply.type(METRICS_CONTENT_TYPE).send(await renderMetrics(snapshots));
  });

  app.get("/v1/status", async () => {
    const { generation, config } = store.snapshot;
    return {
      generation,
      idle: config === undefined,
      pid: process.pid,
      uptime_s: Math.round(process.uptime()),
      workers: store.supervisor?.workers() ?? [],
      ports: config?.proxy.map((p) => p.port) ?? [],
      probes: config?.probes ?? { httpGet: [], httpsGet: [] },
      event_consumers: store.events.size,
    };
  });
}
