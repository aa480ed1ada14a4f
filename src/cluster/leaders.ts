/**
 * Time leaders: the first nodes of a cluster (three by default) also serve
 * NTP to the others, in chrony's orphan mode, and every node uses them as
 * servers beside the upstream ones. When the cluster loses every upstream
 * source its nodes still agree on one time. A one-node cluster has no
 * leaders. Only nodes known by an IP literal can lead: chrony's `allow`
 * and `bindaddress` take addresses, not names.
 */
import net from "node:net";
import type { DesiredSpec } from "../agent/types.ts";
import type { DesiredState, NodeRow } from "../store/repository.ts";

/** Stratum a leader serves with no upstream source (orphan mode). */
export const LEADER_STRATUM = 10;

export function leadersOf(nodes: NodeRow[], count: number): NodeRow[] {
  if (nodes.length < 2) return [];
  return [...nodes]
    .sort((a, b) => a.id - b.id)
    .filter((n) => net.isIP(n.addr) !== 0)
    .slice(0, count);
}

/**
 * Builds each node's spec from one look at the cluster: the leaders and the
 * allow list are worked out once, so a write to N nodes costs O(N).
 */
export class SpecBuilder {
  private readonly leaders: NodeRow[];
  private readonly leaderIds: Set<number>;
  private readonly allow: string[];

  constructor(
    private readonly desired: DesiredState,
    nodes: NodeRow[],
    leaderCount: number,
  ) {
    this.leaders = leadersOf(nodes, leaderCount);
    this.leaderIds = new Set(this.leaders.map((l) => l.id));
    this.allow = allowList(nodes);
  }

  /** The desired state as one node applies it, with its leader role. */
  specFor(node: NodeRow): DesiredSpec {
    const d = this.desired;
    return {
      version: d.version,
      servers: d.servers,
      poll_log2: d.poll_log2,
      timezone: d.timezone,
      cluster_servers: this.leaders
        .filter((l) => l.id !== node.id)
        .map((l) => l.addr),
      serve: this.leaderIds.has(node.id)
        ? {
            bind_address: node.addr,
            allow: this.allow,
            local_stratum: LEADER_STRATUM,
          }
        : null,
    };
  }
}

/** The ids of the leaders, for comparing two memberships. */
export function leaderKey(nodes: NodeRow[], count: number): string {
  return leadersOf(nodes, count)
    .map((l) => l.id)
    .join(",");
}

/**
 * Who may ask a leader: the cluster's nodes and the leader's own host.
 * Loopback is in because the node's own tools (and, when a cluster is tried
 * out on one machine's loopback addresses, every node) ask from 127.0.0.1.
 */
function allowList(nodes: NodeRow[]): string[] {
  const addrs = nodes.filter((n) => net.isIP(n.addr) !== 0).map((n) => n.addr);
  return [...new Set([...addrs, "127.0.0.1", "::1"])];
}
