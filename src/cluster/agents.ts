/**
 * Which agent serves a node: the in-process one for the controller's own
 * node, an HTTP client for every other. Clients are kept per node so that
 * their connections are reused.
 */
import { HttpAgent } from "../agent/http-client.ts";
import type { Agent } from "../agent/types.ts";
import type { NodeRow, Repository } from "../store/repository.ts";

export interface AgentDirectory {
  forNode(node: NodeRow): Agent;
  /** An agent at addr:port that is not a node yet, such as during node/add. */
  connect(addr: string, port: number, token: string | null): Agent;
}

export function agentUrl(addr: string, port: number): string {
  return `http://${addr.includes(":") ? `[${addr}]` : addr}:${port}`;
}

export class Agents implements AgentDirectory {
  private readonly remote = new Map<string, HttpAgent>();

  constructor(
    private readonly repo: Repository,
    private readonly local: Agent | null,
    private readonly timeoutMs = 15_000,
  ) {}

  forNode(node: NodeRow): Agent {
    if (node.local) {
      if (!this.local) throw new Error("this controller has no local agent");
      return this.local;
    }
    const token = this.repo.clusterToken(node.cluster_uuid);
    const key = `${node.id}:${token}`;
    let agent = this.remote.get(key);
    if (!agent) {
      agent = new HttpAgent({
        url: agentUrl(node.addr, node.port),
        token,
        timeoutMs: this.timeoutMs,
      });
      this.remote.set(key, agent);
    }
    return agent;
  }

  connect(addr: string, port: number, token: string | null): Agent {
    return new HttpAgent({
      url: agentUrl(addr, port),
      token,
      timeoutMs: this.timeoutMs,
    });
  }
}
