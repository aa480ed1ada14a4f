/**
 * Membership endpoints in the seed's conventions: /v1/cluster/... and
 * /v1/node/..., POST for changes, GET for reads, total_count + list.
 */
import { Type } from "typebox";
import type { Membership } from "../../cluster/membership.ts";
import type { ClusterService } from "../../cluster/service.ts";
import type { App } from "../app.ts";
import { success } from "../envelope.ts";
import { ClusterQuery, ClusterUuid } from "../schemas.ts";

const CreateBody = Type.Object(
  { name: Type.Optional(Type.String({ maxLength: 64 })) },
  { additionalProperties: false },
);

const ClusterBody = Type.Object(
  { cluster_uuid: Type.Optional(ClusterUuid) },
  { additionalProperties: false },
);

const NodeBody = Type.Object(
  {
    cluster_uuid: Type.Optional(ClusterUuid),
    addr: Type.String({ maxLength: 253, description: "IP or host name" }),
    port: Type.Optional(
      Type.Integer({ description: "The agent's port, 9991 by default" }),
    ),
  },
  { additionalProperties: false },
);

export async function clusterRoutes(
  app: App,
  opts: { service: ClusterService; membership: Membership },
): Promise<void> {
  const { service, membership } = opts;

  app.post("/v1/cluster/create", { schema: { body: CreateBody } }, (req) =>
    success(membership.createCluster(req.body.name)),
  );

  app.get("/v1/cluster/list", () => success(membership.listClusters()));

  app.post(
    "/v1/cluster/delete",
    { schema: { body: ClusterBody } },
    async (req) => {
      const cluster = service.cluster(req.body.cluster_uuid);
      return success(await membership.deleteCluster(cluster.uuid));
    },
  );

  app.post("/v1/node/add", { schema: { body: NodeBody } }, async (req) => {
    const cluster = service.cluster(req.body.cluster_uuid);
    const { addr, port } = req.body;
    return success(await membership.addNode(cluster.uuid, addr, port));
  });

  app.post("/v1/node/delete", { schema: { body: NodeBody } }, async (req) => {
    const cluster = service.cluster(req.body.cluster_uuid);
    const { addr, port } = req.body;
    return success(await membership.deleteNode(cluster.uuid, addr, port));
  });

  app.get("/v1/node/list", { schema: { querystring: ClusterQuery } }, (req) => {
    const cluster = service.cluster(req.query.cluster_uuid);
    return success(membership.listNodes(cluster.uuid));
  });
}
