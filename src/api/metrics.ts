/**
 * Prometheus metrics at /metrics (prom-client). Gauges are refilled on
 * each scrape from the health monitor, so a scrape sees what the nodes do
 * now; apply failures are counted as they happen.
 */
import client from "prom-client";
import type { HealthMonitor } from "../cluster/health.ts";
import type { ClusterService } from "../cluster/service.ts";
import type { App } from "./app.ts";

export interface Metrics {
  registry: client.Registry;
  applyFailures: client.Counter<"cluster" | "node">;
  refresh(): Promise<void>;
}

export function createMetrics(
  service: ClusterService,
  health: HealthMonitor,
): Metrics {
  const registry = new client.Registry();
  const labels = ["cluster", "node"] as const;

  const verdict = new client.Gauge({
    name: "timeplane_cluster_health",
    help: "0 ok, 1 warn, 2 critical",
    labelNames: ["cluster"] as const,
    registers: [registry],
  });
  const offset = new client.Gauge({
    name: "timeplane_node_offset_seconds",
    help: "System clock minus reference, in seconds (absent when unknown)",
    labelNames: labels,
    registers: [registry],
  });
  const synced = new client.Gauge({
    name: "timeplane_node_synchronised",
    help: "1 when the node's chronyd follows a real source",
    labelNames: labels,
    registers: [registry],
  });
  const stratum = new client.Gauge({
    name: "timeplane_node_stratum",
    help: "NTP stratum of the node (absent when unsynchronised)",
    labelNames: labels,
    registers: [registry],
  });
  const reachable = new client.Gauge({
    name: "timeplane_source_reachable",
    help: "1 when the source gives a usable SNTP reply",
    labelNames: ["cluster", "source"] as const,
    registers: [registry],
  });
  const skew = new client.Gauge({
    name: "timeplane_cluster_max_skew_seconds",
    help: "Largest offset difference between two nodes, in seconds",
    labelNames: ["cluster"] as const,
    registers: [registry],
  });

  /** Fills the gauges from what the nodes do now. */
  async function refresh(): Promise<void> {
    const gauges = [verdict, offset, synced, stratum, reachable, skew];
    for (const g of gauges) g.reset();
    for (const cluster of service.repo.listClusters()) {
      const c = cluster.uuid;
      const [report, sources] = await Promise.all([
        health.evaluate(c),
        service.listServers(c),
      ]);
      verdict.set(
        { cluster: c },
        { ok: 0, warn: 1, critical: 2 }[report.health],
      );
      if (report.max_skew_ms !== null) {
        skew.set({ cluster: c }, report.max_skew_ms / 1000);
      }
      for (const n of report.nodes) {
        const l = { cluster: c, node: n.addr };
        synced.set(l, n.synchronised ? 1 : 0);
        if (n.offset_ms !== null) offset.set(l, n.offset_ms / 1000);
        if (n.stratum !== null) stratum.set(l, n.stratum);
      }
      for (const s of sources.date_source_status) {
        reachable.set({ cluster: c, source: s.ip }, s.status ? 1 : 0);
      }
    }
  }

  const applyFailures = new client.Counter({
    name: "timeplane_apply_failures_total",
    help: "Times a node failed to apply the desired state",
    labelNames: labels,
    registers: [registry],
  });
  return { registry, applyFailures, refresh };
}

export async function metricsRoutes(
  app: App,
  opts: { metrics: Metrics },
): Promise<void> {
  app.get("/metrics", { schema: { hide: true } }, async (_req, reply) => {
    await opts.metrics.refresh();
    const text = await opts.metrics.registry.metrics();
    return reply.type(opts.metrics.registry.contentType).send(text);
  });
}
