/** The seed's clock endpoints: current time and forced sync. */
import { Type } from "typebox";
import type { ClusterService } from "../../cluster/service.ts";
import type { App } from "../app.ts";
import { success } from "../envelope.ts";
import { ClusterQuery, ClusterUuid } from "../schemas.ts";

const SyncBody = Type.Object(
  { cluster_uuid: Type.Optional(ClusterUuid) },
  { additionalProperties: false },
);

export async function ntpSystemRoutes(
  app: App,
  opts: { service: ClusterService },
): Promise<void> {
  const { service } = opts;

  app.get(
    "/v1/ntp/system/current/time",
    { schema: { querystring: ClusterQuery } },
    async (req) => {
      const cluster = service.cluster(req.query.cluster_uuid);
      return success(await service.currentTime(cluster.uuid));
    },
  );

  app.post(
    "/v1/ntp/force/time/sync",
    { schema: { body: Type.Optional(SyncBody) } },
    async (req) => {
      const cluster = service.cluster(req.body?.cluster_uuid);
      return success(await service.forceSync(cluster.uuid));
    },
  );
}
