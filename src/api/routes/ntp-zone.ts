/** The seed's time zone endpoints: /v1/ntp/zone/... */
import { Type } from "typebox";
import type { ClusterService } from "../../cluster/service.ts";
import type { App } from "../app.ts";
import { success } from "../envelope.ts";
import { ClusterQuery, ClusterUuid } from "../schemas.ts";

const CountryQuery = Type.Object(
  {
    zone: Type.String({ maxLength: 64, description: "A zone from zone/list" }),
    cluster_uuid: Type.Optional(ClusterUuid),
  },
  { additionalProperties: false },
);

const SaveBody = Type.Object(
  {
    zone: Type.String({ maxLength: 64, description: "Such as America" }),
    country: Type.String({
      maxLength: 191,
      description: "The rest of the name, such as Argentina/Buenos_Aires",
    }),
    cluster_uuid: Type.Optional(ClusterUuid),
  },
  { additionalProperties: false },
);

export async function ntpZoneRoutes(
  app: App,
  opts: { service: ClusterService },
): Promise<void> {
  const { service } = opts;

  app.get(
    "/v1/ntp/zone/list",
    { schema: { querystring: ClusterQuery } },
    async (req) => {
      const cluster = service.cluster(req.query.cluster_uuid);
      const list = await service.listZones(cluster.uuid);
      return success({ list, total_count: list.length });
    },
  );

  app.get(
    "/v1/ntp/zone/country/list",
    { schema: { querystring: CountryQuery } },
    async (req) => {
      const cluster = service.cluster(req.query.cluster_uuid);
      const list = await service.listCountries(cluster.uuid, req.query.zone);
      return success({ list, total_count: list.length });
    },
  );

  app.post(
    "/v1/ntp/zone/country/save",
    { schema: { body: SaveBody } },
    async (req) => {
      const { zone, country, cluster_uuid } = req.body;
      const cluster = service.cluster(cluster_uuid);
      return success(await service.saveZone(cluster.uuid, zone, country));
    },
  );

  app.get(
    "/v1/ntp/zone/country/current",
    { schema: { querystring: ClusterQuery } },
    async (req) => {
      const cluster = service.cluster(req.query.cluster_uuid);
      return success(await service.currentZone(cluster.uuid));
    },
  );
}
