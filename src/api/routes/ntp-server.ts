/** The seed's NTP source endpoints: /v1/ntp/server/add|delete|list. */
import { Type } from "typebox";
import { type HealthMonitor, sourceOnNodes } from "../../cluster/health.ts";
import type { ClusterService } from "../../cluster/service.ts";
import type { App } from "../app.ts";
import { success } from "../envelope.ts";
import { ClusterQuery, ClusterUuid } from "../schemas.ts";

const Addrs = Type.Array(Type.String({ maxLength: 253 }), {
  maxItems: 32,
  description: "IPv4, IPv6 or host names of NTP servers",
});

const AddBody = Type.Object(
  {
    addrs: Addrs,
    sync_period: Type.Optional(
      Type.Integer({
        description: "Poll interval in seconds, a power of two, 16 to 131072",
      }),
    ),
    cluster_uuid: Type.Optional(ClusterUuid),
    force: Type.Optional(
      Type.Boolean({
        description: "Add sources even when a probe finds them unusable",
      }),
    ),
  },
  { additionalProperties: false },
);

const DeleteBody = Type.Object(
  {
    addrs: Type.Optional(Addrs),
    cluster_uuid: Type.Optional(ClusterUuid),
  },
  { additionalProperties: false },
);

export async function ntpServerRoutes(
  app: App,
  opts: { service: ClusterService; health: HealthMonitor },
): Promise<void> {
  const { service, health } = opts;

  app.post("/v1/ntp/server/add", { schema: { body: AddBody } }, async (req) => {
    const cluster = service.cluster(req.body.cluster_uuid);
    const { addrs, sync_period, force } = req.body;
    const data = await service.addServers(
      cluster.uuid,
      addrs,
      sync_period,
      force ?? false,
    );
    return success(data);
  });

  app.post(
    "/v1/ntp/server/delete",
    { schema: { body: Type.Optional(DeleteBody) } },
    async (req) => {
      const body = req.body ?? {};
      const cluster = service.cluster(body.cluster_uuid);
      return success(await service.deleteServers(cluster.uuid, body.addrs));
    },
  );

  app.get(
    "/v1/ntp/server/list",
    { schema: { querystring: ClusterQuery } },
    async (req) => {
      const cluster = service.cluster(req.query.cluster_uuid);
      const [list, report] = await Promise.all([
        service.listServers(cluster.uuid),
        health.evaluate(cluster.uuid),
      ]);
      // Beside the probe: how each node's chronyd sees the source.
      const date_source_status = list.date_source_status.map((s) => ({
        ...s,
        chrony: sourceOnNodes(report, s.ip),
      }));
      return success({ ...list, date_source_status });
    },
  );
}
