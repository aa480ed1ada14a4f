/**
 * Where a starting agent asks for its cluster's desired state. The agent
 * proves its membership with the cluster token; the controller answers with
 * the desired state and retries the node at once.
 */
import { Type } from "typebox";
import { tokenOf, tokensEqual } from "../../agent/token.ts";
import type { ClusterService } from "../../cluster/service.ts";
import { TimeplaneError } from "../../errors.ts";
import type { App } from "../app.ts";
import { success } from "../envelope.ts";
import { ClusterUuid } from "../schemas.ts";

const HelloBody = Type.Object(
  {
    cluster_uuid: ClusterUuid,
    addr: Type.String({ maxLength: 253 }),
    port: Type.Integer(),
    applied_version: Type.Integer(),
  },
  { additionalProperties: false },
);

export async function agentHelloRoutes(
  app: App,
  opts: { service: ClusterService; nudge: (nodeId: number) => void },
): Promise<void> {
  const { service } = opts;

  app.post("/v1/agent/hello", { schema: { body: HelloBody } }, (req) => {
    const cluster = service.cluster(req.body.cluster_uuid);
    const expected = service.repo.clusterToken(cluster.uuid) ?? "";
    const given = tokenOf(req.headers.authorization) ?? "";
    if (!expected || !tokensEqual(given, expected)) {
      throw new TimeplaneError("UNAUTHORIZED", {
        why: "the agent must send its cluster's token",
      });
    }
    const node = service.repo.findNode(
      cluster.uuid,
      req.body.addr,
      req.body.port,
    );
    if (node) opts.nudge(node.id);
    const desired = service.desired(cluster.uuid);
    return success({
      member: node !== undefined,
      desired: {
        version: desired.version,
        servers: desired.servers,
        poll_log2: desired.poll_log2,
        timezone: desired.timezone,
      },
    });
  });
}
