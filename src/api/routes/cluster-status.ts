/** GET /v1/ntp/cluster/status: every clock, every source, one verdict. */
import type { HealthMonitor } from "../../cluster/health.ts";
import type { ClusterService } from "../../cluster/service.ts";
import type { App } from "../app.ts";
import { success } from "../envelope.ts";
import { ClusterQuery } from "../schemas.ts";

export async function clusterStatusRoutes(
  app: App,
  opts: { service: ClusterService; health: HealthMonitor },
): Promise<void> {
  const { service, health } = opts;

  app.get(
    "/v1/ntp/cluster/status",
    { schema: { querystring: ClusterQuery } },
    async (req) => {
      const cluster = service.cluster(req.query.cluster_uuid);
      const [report, sources] = await Promise.all([
        health.evaluate(cluster.uuid),
        service.listServers(cluster.uuid),
      ]);
      return success({ ...report, sources: sources.date_source_status });
    },
  );
}
