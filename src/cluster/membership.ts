/**
 * Cluster membership: creating and deleting clusters, adding and removing
 * nodes. A node is added only after its agent answered with the cluster's
 * token; it then gets the cluster's desired state at once.
 */
import { randomUUID } from "node:crypto";
import { generateToken } from "../agent/token.ts";
import { invalid, TimeplaneError } from "../errors.ts";
import { normaliseAddress } from "../ntp/address.ts";
import type { NodeRow } from "../store/repository.ts";
import { leaderKey } from "./leaders.ts";
import { verdict } from "./results.ts";
import type { ClusterService } from "./service.ts";

export const DEFAULT_AGENT_PORT = 9991;

export interface NodeView {
  addr: string;
  port: number;
  local: boolean;
  applied_version: number;
  desired_version: number;
  in_sync: boolean;
  loaded: string | null;
  status: string | null;
  last_error: string | null;
  last_seen_at: string | null;
}

export class Membership {
  constructor(private readonly service: ClusterService) {}

  private get repo() {
    return this.service.repo;
  }

  createCluster(rawName: unknown) {
    const name = rawName === undefined ? "cluster" : rawName;
    if (typeof name !== "string" || !/^[\p{L}\p{N}_ .-]{1,64}$/u.test(name)) {
      throw invalid(
        "name",
        name,
        "must be 1 to 64 letters, digits, spaces, '.', '_' or '-'",
      );
    }
    if (this.repo.listClusters().some((c) => c.name === name)) {
      throw new TimeplaneError("CONFLICT", {
        field: "name",
        value: name,
        why: "another cluster has that name",
      });
    }
    const uuid = randomUUID();
    const token = generateToken();
    const row = this.repo.createCluster(uuid, name, token);
    this.repo.audit(uuid, "cluster.create", null, { name });
    this.service.log.info({ cluster: uuid, name }, "cluster created");
    return { uuid, name: row.name, created_at: row.created_at, token };
  }

  listClusters() {
    const list = this.repo.listClusters().map((c) => ({
      uuid: c.uuid,
      name: c.name,
      created_at: c.created_at,
      nodes: this.repo.listNodes(c.uuid).length,
      desired_version: this.repo.getDesired(c.uuid)?.version ?? 0,
    }));
    return { list, total_count: list.length };
  }

  deleteCluster(uuid: string) {
    return this.service.lock.run(uuid, async () => {
      this.service.cluster(uuid);
      if (this.repo.listNodes(uuid).some((n) => n.local)) {
        throw new TimeplaneError("CONFLICT", {
          field: "cluster_uuid",
          value: uuid,
          why: "it holds the controller's own node; delete other clusters only",
        });
      }
      this.repo.deleteCluster(uuid);
      this.repo.audit(uuid, "cluster.delete", null, {});
      this.service.log.info({ cluster: uuid }, "cluster deleted");
      return {};
    });
  }

  listNodes(uuid: string) {
    const desired = this.service.desired(uuid);
    const list = this.repo.listNodes(uuid).map((n) => view(n, desired.version));
    return { list, total_count: list.length, desired_version: desired.version };
  }

  /**
   * Checks the agent and its token, records the node, then applies the
   * desired state to it, and to the nodes whose spec the new member changes
   * (the leaders' allow lists; everyone's when the leader set changes).
   */
  addNode(uuid: string, rawAddr: unknown, rawPort: unknown) {
    const addr = normaliseAddress(rawAddr, "addr");
    const port = checkPort(rawPort);
    return this.service.lock.run(uuid, async () => {
      if (this.repo.findNode(uuid, addr, port)) {
        throw new TimeplaneError("CONFLICT", {
          field: "addr",
          value: `${addr}:${port}`,
          why: "the node is already in this cluster",
        });
      }
      await this.checkAgent(uuid, addr, port);
      const before = this.leaders(uuid);
      const node = this.repo.addNode(uuid, addr, port, false);
      this.service.log.info({ cluster: uuid, node: addr, port }, "node added");

      const status = await this.service.membershipChanged(
        uuid,
        before,
        [node],
        "node.add",
        { addr, port },
      );
      const desired = this.service.desired(uuid).version;
      const fresh = this.repo.getNode(node.id) ?? node;
      return verdict(status, status.length, {
        node: view(fresh, desired),
        status,
      });
    });
  }

  deleteNode(uuid: string, rawAddr: unknown, rawPort: unknown) {
    const addr = normaliseAddress(rawAddr, "addr");
    const port = checkPort(rawPort);
    return this.service.lock.run(uuid, async () => {
      const node = this.repo.findNode(uuid, addr, port);
      if (!node) {
        throw new TimeplaneError("NODE_NOT_FOUND", {
          value: `${addr}:${port}`,
          cluster: uuid,
        });
      }
      const before = this.leaders(uuid);
      this.repo.deleteNode(node.id);
      this.service.log.info(
        { cluster: uuid, node: addr, port },
        "node removed",
      );
      const status = await this.service.membershipChanged(
        uuid,
        before,
        [],
        "node.delete",
        { addr, port },
      );
      return verdict(status, status.length, { status });
    });
  }

  private leaders(uuid: string): string {
    return leaderKey(this.repo.listNodes(uuid), this.service.leaderCount);
  }

  private async checkAgent(uuid: string, addr: string, port: number) {
    const token = this.repo.clusterToken(uuid);
    const agent = this.service.agents.connect(addr, port, token);
    try {
      await agent.info();
    } catch (err) {
      if (err instanceof TimeplaneError && err.code === "UNAUTHORIZED") {
        throw new TimeplaneError("AGENT_TOKEN_REFUSED", {
          value: `${addr}:${port}`,
          cluster: uuid,
        });
      }
      throw new TimeplaneError("NODE_UNREACHABLE", {
        value: `${addr}:${port}`,
        why: (err as Error).message,
      });
    }
  }
}

function checkPort(raw: unknown): number {
  if (raw === undefined) return DEFAULT_AGENT_PORT;
  if (
    typeof raw !== "number" ||
    !Number.isInteger(raw) ||
    raw < 1 ||
    raw > 65535
  ) {
    throw invalid("port", raw, "must be an integer from 1 to 65535");
  }
  return raw;
}

function view(n: NodeRow, desiredVersion: number): NodeView {
  const state = (n.last_state ?? {}) as { loaded?: string; status?: string };
  return {
    addr: n.addr,
    port: n.port,
    local: n.local,
    applied_version: n.applied_version,
    desired_version: desiredVersion,
    in_sync: n.applied_version >= desiredVersion,
    loaded: state.loaded ?? null,
    status: state.status ?? null,
    last_error: n.last_error,
    last_seen_at: n.last_seen_at,
  };
}
