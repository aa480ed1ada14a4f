/**
 * The controller's domain: a cluster's desired state (sources, poll
 * interval, time zone), writes that fan out to every node, and reads that
 * say what the nodes are really doing. The HTTP layer only calls this.
 */
import type { Logger } from "pino";
import type { Agent, ForceSyncResult, ProbeResult } from "../agent/types.ts";
import { invalid, redactPaths, TimeplaneError } from "../errors.ts";
import { validateZoneName } from "../host/zoneinfo.ts";
import { normaliseAddressList } from "../ntp/address.ts";
import type {
  ClusterRow,
  DesiredState,
  NodeRow,
  Repository,
} from "../store/repository.ts";
import type { AgentDirectory } from "./agents.ts";
import { type FanOutOptions, fanOut } from "./fanout.ts";
import { KeyedLock } from "./keyed-lock.ts";
import { leaderKey, SpecBuilder } from "./leaders.ts";
import {
  type Aspect,
  type NodeStatus,
  toNodeStatus,
  verdict,
} from "./results.ts";
import { isoInZone } from "./time.ts";
import { pollLog2FromPeriod } from "./validate.ts";

/** Most sources one cluster may have. */
export const MAX_SOURCES = 32;

export interface ClusterServiceOptions {
  /** Fan-out of writes and reads. */
  fanout: FanOutOptions;
  /** Deadline of one node's forced sync, in milliseconds. */
  syncTimeoutMs: number;
  /** Deadline of one node's answer to a read, in milliseconds. */
  readTimeoutMs?: number;
  /** How many nodes serve time to the others; 3 by default. */
  leaders?: number;
  /** Told of every node outcome, such as for metrics. */
  onNodeResult?: (uuid: string, node: NodeRow, status: NodeStatus) => void;
}

export interface SourceStatus {
  ip: string;
  status: boolean;
  reason: string;
  detail: string | null;
  stratum: number | null;
  offset_ms: number | null;
  delay_ms: number | null;
  kiss_code: string | null;
  /** Per node, when the cluster has more than one. */
  nodes?: { addr: string; status: boolean; reason: string }[];
}

export class ClusterService {
  readonly lock = new KeyedLock();

  constructor(
    readonly repo: Repository,
    readonly agents: AgentDirectory,
    readonly log: Logger,
    readonly options: ClusterServiceOptions,
  ) {}

  /** The named cluster, or the only one when no name is given. */
  cluster(uuid: string | undefined): ClusterRow {
    if (uuid === undefined || uuid === "") {
      const all = this.repo.listClusters();
      if (all.length === 1 && all[0]) return all[0];
      throw new TimeplaneError("CLUSTER_REQUIRED", { count: all.length });
    }
    const found = this.repo.getCluster(uuid);
    if (!found) throw new TimeplaneError("CLUSTER_NOT_FOUND", { value: uuid });
    return found;
  }

  desired(uuid: string): DesiredState {
    const desired = this.repo.getDesired(uuid);
    if (!desired)
      throw new TimeplaneError("CLUSTER_NOT_FOUND", { value: uuid });
    return desired;
  }

  nodes(uuid: string): NodeRow[] {
    return this.repo.listNodes(uuid);
  }

  /**
   * Adds sources (a union) and optionally sets the poll interval. Inputs
   * are raw request values, checked here so every caller gets the same
   * refusals.
   */
  async addServers(
    uuid: string,
    rawAddrs: unknown,
    rawPeriod?: unknown,
    force = false,
  ) {
    const addrs = normaliseAddressList(rawAddrs, "addrs", MAX_SOURCES);
    const pollLog2 =
      rawPeriod === undefined ? undefined : pollLog2FromPeriod(rawPeriod);
    this.refuseOwnNodes(uuid, addrs);
    if (!force) await this.checkSources(uuid, addrs);
    const detail = { addrs, poll_log2: pollLog2 };
    return this.write(uuid, "server.add", "sources", detail, (d) => {
      const servers = union(d.servers, addrs);
      if (servers.length > MAX_SOURCES) {
        const why = `the cluster would have ${servers.length} sources; the limit is ${MAX_SOURCES}`;
        throw invalid("addrs", rawAddrs, why);
      }
      return { servers, poll_log2: pollLog2 ?? d.poll_log2 };
    });
  }

  /**
   * A node of the cluster is not an upstream source: the time leaders
   * already serve the others, and a node cannot follow itself.
   */
  private refuseOwnNodes(uuid: string, addrs: string[]): void {
    const nodes = new Set(this.repo.listNodes(uuid).map((n) => n.addr));
    const own = addrs.find((a) => nodes.has(a));
    if (own !== undefined) {
      throw invalid(
        "addrs",
        own,
        "is a node of this cluster: its time leaders already serve the " +
          "other nodes, and a node cannot follow itself",
      );
    }
  }

  /**
   * Probes new sources from every node that answers; refuses the write
   * when one is not usable from some node (F14, F15), naming why.
   */
  private async checkSources(uuid: string, addrs: string[]): Promise<void> {
    const nodes = this.repo.listNodes(uuid);
    const results = await fanOut(
      nodes,
      (node) => this.agents.forNode(node).probe(addrs),
      this.readFanout,
    );
    const statuses = addrs.map((addr, i) =>
      sourceStatus(addr, i, nodes, results),
    );
    const bad = statuses.filter((s) => !s.status);
    if (bad.length === 0) return;

    const why = bad
      .map((s) => `${s.ip}: ${s.reason}${s.detail ? ` (${s.detail})` : ""}`)
      .join("; ");
    throw new TimeplaneError(
      "SOURCE_UNUSABLE",
      { value: bad.map((s) => s.ip).join(", "), why },
      { date_source_status: statuses },
    );
  }

  /** Removes the given sources, or all of them when addrs is undefined. */
  deleteServers(uuid: string, rawAddrs?: unknown) {
    const addrs =
      rawAddrs === undefined
        ? undefined
        : normaliseAddressList(rawAddrs, "addrs", MAX_SOURCES);
    const detail = { addrs: addrs ?? null };
    return this.write(uuid, "server.delete", "sources", detail, (d) => {
      const missing = addrs?.find((a) => !d.servers.includes(a));
      if (missing) {
        throw new TimeplaneError("SOURCE_NOT_FOUND", {
          value: missing,
          cluster: uuid,
        });
      }
      return {
        servers: addrs ? d.servers.filter((s) => !addrs.includes(s)) : [],
      };
    });
  }

  async saveZone(uuid: string, zone: unknown, country: unknown) {
    const name = validateZoneName(zone, country);
    const [first = "", ...rest] = name.split("/");
    const countries = await this.readFromNode(uuid, (a) =>
      a.listCountries(first),
    );
    if (!countries.includes(rest.join("/"))) {
      throw new TimeplaneError("ZONE_NOT_FOUND", { value: name });
    }
    return this.write(uuid, "zone.save", "zone", { timezone: name }, () => ({
      timezone: name,
    }));
  }

  /**
   * One write: change the desired state (new version, audit entry), then
   * apply it on every node. Serialised per cluster.
   */
  private write(
    uuid: string,
    action: string,
    aspect: Aspect,
    detail: unknown,
    change: (d: DesiredState) => Partial<DesiredState>,
  ) {
    return this.lock.run(uuid, async () => {
      const current = this.desired(uuid);
      const next = this.repo.updateDesired(
        uuid,
        change(current),
        action,
        detail,
      );
      this.log.info(
        { cluster: uuid, action, version: next.version },
        "desired state changed",
      );

      const status = await this.applyAll(uuid, next, aspect);
      const servers = next.servers.length > 0 ? next.servers : null;
      return verdict(status, status.length, {
        status,
        servers,
        version: next.version,
      });
    });
  }

  /** Applies a desired state on every node and records each outcome. */
  async applyAll(
    uuid: string,
    desired: DesiredState,
    aspect: Aspect = "all",
  ): Promise<NodeStatus[]> {
    const nodes = this.repo.listNodes(uuid);
    const specs = this.specs(desired, nodes);
    const outcomes = await fanOut(
      nodes,
      (node) => this.agents.forNode(node).apply(specs.specFor(node)),
      this.options.fanout,
    );

    return nodes.map((node, i) => {
      const status = toNodeStatus(node, outcomes[i] ?? notRun(), aspect);
      this.record(node, status);
      return status;
    });
  }

  /** Brings one node to the desired state; used by the reconcile loop. */
  applyOne(uuid: string, node: NodeRow): Promise<NodeStatus> {
    return this.lock.run(uuid, async () => {
      const desired = this.desired(uuid);
      const specs = this.specs(desired, this.repo.listNodes(uuid));
      const [outcome] = await fanOut(
        [node],
        (n) => this.agents.forNode(n).apply(specs.specFor(n)),
        this.options.fanout,
      );
      const status = toNodeStatus(node, outcome ?? notRun());
      this.record(node, status);
      return status;
    });
  }

  /** Fan-out options of reads: a hung node must not hold a read long. */
  get readFanout(): FanOutOptions {
    const timeoutMs = this.options.readTimeoutMs ?? 5_000;
    return { ...this.options.fanout, timeoutMs };
  }

  private specs(desired: DesiredState, nodes: NodeRow[]): SpecBuilder {
    return new SpecBuilder(desired, nodes, this.leaderCount);
  }

  get leaderCount(): number {
    return this.options.leaders ?? 3;
  }

  /**
   * After a membership change: when the leader set changed, every node's
   * spec changed, so the desired version is bumped (the reconcile loop then
   * retries any node that misses it) and applied everywhere. Otherwise only
   * the leaders' allow lists and the given node change: they alone get it,
   * and a leader that fails is marked behind so the loop retries it.
   */
  async membershipChanged(
    uuid: string,
    leadersBefore: string,
    touched: NodeRow[],
    action: string,
    detail: unknown,
  ): Promise<NodeStatus[]> {
    const nodes = this.repo.listNodes(uuid);
    if (leaderKey(nodes, this.leaderCount) !== leadersBefore) {
      const next = this.repo.updateDesired(uuid, {}, action, detail);
      return this.applyAll(uuid, next);
    }
    this.repo.audit(uuid, action, null, detail);
    const desired = this.desired(uuid);
    const specs = this.specs(desired, nodes);
    const ids = new Set(touched.map((n) => n.id));
    const targets = nodes.filter(
      (n) => ids.has(n.id) || specs.specFor(n).serve !== null,
    );
    const outcomes = await fanOut(
      targets,
      (node) => this.agents.forNode(node).apply(specs.specFor(node)),
      this.options.fanout,
    );
    return targets.map((node, i) => {
      const status = toNodeStatus(node, outcomes[i] ?? notRun());
      this.record(node, status);
      if (status.node_error) this.repo.markBehind(node.id);
      return status;
    });
  }

  private record(node: NodeRow, status: NodeStatus): void {
    this.options.onNodeResult?.(node.cluster_uuid, node, status);
    this.repo.recordNodeState(node.id, {
      applied_version: status.error ? undefined : status.applied_version,
      state: { loaded: status.loaded, status: status.status },
      error: status.error,
    });
    if (status.error) {
      this.log.warn(
        { node: node.addr, err: status.error },
        "node apply failed",
      );
    } else {
      this.log.info(
        { node: node.addr, version: status.applied_version },
        "node applied desired state",
      );
    }
  }

  async listServers(uuid: string) {
    const desired = this.desired(uuid);
    const nodes = this.repo.listNodes(uuid);
    const results = await fanOut(
      nodes,
      (node) => this.agents.forNode(node).probe(desired.servers),
      this.readFanout,
    );
    return {
      addrs: desired.servers,
      sync_period: 2 ** desired.poll_log2,
      date_source_status: desired.servers.map((addr, i) =>
        sourceStatus(addr, i, nodes, results),
      ),
    };
  }

  listZones(uuid: string): Promise<string[]> {
    return this.readFromNode(uuid, (a) => a.listZones());
  }

  listCountries(uuid: string, zone: unknown): Promise<string[]> {
    if (typeof zone !== "string" || zone === "") {
      throw new TimeplaneError("MISSING_FIELD", {
        field: "zone",
        why: "name a zone from /v1/ntp/zone/list, such as America",
      });
    }
    if (!/^[A-Za-z0-9_+-]{1,64}$/.test(zone)) {
      throw invalid(
        "zone",
        zone,
        "a zone is one name from /v1/ntp/zone/list, such as America, without slashes",
      );
    }
    return this.readFromNode(uuid, (a) => a.listCountries(zone));
  }

  async currentZone(uuid: string) {
    const reading = await this.readFromNode(uuid, (a) => a.readZone());
    if (reading.zone === null) {
      return {
        zone: "Etc",
        country: "UTC",
        found_by: reading.found_by,
        mismatch: reading.mismatch,
        note: "The node has no /etc/localtime, so it runs as UTC",
      };
    }
    if (reading.country === null) {
      const note = `${reading.zone} is a top-level zone: it is not in the two-level listing`;
      return { ...reading, note };
    }
    return { ...reading, note: null };
  }

  async currentTime(uuid: string) {
    const read = await this.readWithNode(uuid, (a) => a.readClock());
    const clock = read.value;
    const ms = clock.time_s * 1000;
    return {
      time: Math.floor(clock.time_s),
      time_ms: Math.floor(ms),
      iso: isoInZone(ms, clock.timezone),
      timezone: clock.timezone ?? "Etc/UTC",
      node: read.addr,
    };
  }

  /** Forces a step on every node; each node's outcome is in data.nodes. */
  forceSync(uuid: string) {
    return this.lock.run(uuid, async () => {
      const nodes = this.repo.listNodes(uuid);
      const outcomes = await fanOut(
        nodes,
        (node) => this.agents.forNode(node).forceSync(),
        { ...this.options.fanout, timeoutMs: this.options.syncTimeoutMs },
      );
      const results: ForceSyncResult[] = nodes.map((node, i) => {
        const o = outcomes[i];
        if (o?.ok) {
          const error = o.value.error && redactPaths(o.value.error);
          return { ...o.value, addr: node.addr, error };
        }
        return failedSync(
          node.addr,
          o?.ok === false ? redactPaths(o.error.message) : "not run",
        );
      });
      this.repo.audit(uuid, "force.sync", null, { nodes: results });
      const failures = results.map((r) => ({
        addr: r.addr,
        error: r.ok ? null : r.error,
      }));
      return verdict(
        failures,
        results.length,
        { nodes: results },
        "SYNC_INCOMPLETE",
      );
    });
  }

  /**
   * Reads from one node: the local one first, then the others in order
   * until one answers. A domain error (such as an unknown zone) is final.
   */
  private async readFromNode<T>(
    uuid: string,
    read: (a: Agent) => Promise<T>,
  ): Promise<T> {
    return (await this.readWithNode(uuid, read)).value;
  }

  private async readWithNode<T>(
    uuid: string,
    read: (a: Agent) => Promise<T>,
  ): Promise<{ value: T; addr: string }> {
    const nodes = [...this.repo.listNodes(uuid)].sort(
      (a, b) => Number(b.local) - Number(a.local),
    );
    const errors: string[] = [];
    for (const node of nodes) {
      const [outcome] = await fanOut(
        [node],
        (n) => read(this.agents.forNode(n)),
        this.readFanout,
      );
      if (outcome?.ok) return { value: outcome.value, addr: node.addr };
      const error =
        outcome?.ok === false ? outcome.error : new Error("not run");
      if (error instanceof TimeplaneError) throw error;
      errors.push(`${node.addr}: ${error.message}`);
    }
    if (nodes.length === 0) {
      throw new TimeplaneError("NODE_NOT_FOUND", {
        value: "any",
        cluster: uuid,
      });
    }
    throw new TimeplaneError("NODE_UNREACHABLE", {
      value: nodes.map((n) => n.addr).join(", "),
      why: errors.join("; "),
    });
  }
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}

function notRun<T>() {
  return { ok: false as const, error: new Error("not run"), elapsed_ms: 0 } as {
    ok: false;
    error: Error;
    elapsed_ms: number;
  } & { value?: T };
}

function failedSync(addr: string, error: string): ForceSyncResult {
  return {
    addr,
    ok: false,
    offset_before_s: null,
    offset_after_s: null,
    reference: null,
    error,
  };
}

function sourceStatus(
  addr: string,
  index: number,
  nodes: NodeRow[],
  results: Awaited<ReturnType<typeof fanOut<NodeRow, ProbeResult[]>>>,
): SourceStatus {
  const perNode = nodes.map((node, n) => {
    const r = results[n];
    if (r?.ok) {
      const p = r.value[index];
      if (p) return { node, probe: p };
    }
    return {
      node,
      probe: null,
      error: r?.ok === false ? r.error.message : "no answer",
    };
  });
  const answered = perNode.filter((p) => p.probe !== null);
  const bad = answered.find((p) => !p.probe?.usable);
  const shown = (bad ?? answered[0])?.probe ?? null;
  const usable = answered.length > 0 && !bad;

  const status: SourceStatus = {
    ip: addr,
    status: usable,
    reason: shown?.reason ?? "node_unreachable",
    detail: shown ? shown.detail : "no node could probe this source",
    stratum: shown?.stratum ?? null,
    offset_ms: shown?.offset_ms ?? null,
    delay_ms: shown?.delay_ms ?? null,
    kiss_code: shown?.kiss_code ?? null,
  };
  if (nodes.length > 1) {
    status.nodes = perNode.map((p) => ({
      addr: p.node.addr,
      status: p.probe?.usable ?? false,
      reason: p.probe?.reason ?? "node_unreachable",
    }));
  }
  return status;
}
