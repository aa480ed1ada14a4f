/**
 * Time health: what every node's clock is doing and one verdict for the
 * cluster. Each node's offset is its chronyd's measurement of the system
 * clock against its selected source (system clock minus source); the
 * cluster's skew is the largest difference between two nodes' offsets.
 * A node that follows only its local clock has no known offset (F16), and
 * a node still waiting for its first samples is "pending", not failed, so a
 * restart does not flap the verdict.
 */
import type { ChronySource, SyncStatus } from "../agent/types.ts";
import type { NodeRow } from "../store/repository.ts";
import { fanOut } from "./fanout.ts";
import type { ClusterService } from "./service.ts";

export type Health = "ok" | "warn" | "critical";

export interface HealthThresholds {
  /** Skew or offset above this is a warning, in milliseconds. */
  warn_ms: number;
  /** Skew or offset above this is critical, in milliseconds. */
  critical_ms: number;
}

export const DEFAULT_THRESHOLDS: HealthThresholds = {
  warn_ms: 50,
  critical_ms: 1000,
};

export interface SourceView {
  addr: string;
  state: string;
  reach: number;
  stratum: number;
  poll_log2: number;
  /** System clock minus source, milliseconds; null before a sample. */
  offset_ms: number | null;
  last_rx_s: number | null;
}

export interface NodeHealth {
  addr: string;
  port: number;
  reachable: boolean;
  loaded: string | null;
  status: string | null;
  synchronised: boolean;
  phase: string;
  detail: string | null;
  reference: string | null;
  stratum: number | null;
  /** System clock minus reference, milliseconds; null when unknown. */
  offset_ms: number | null;
  /** Root delay / 2 + root dispersion, milliseconds. */
  root_distance_ms: number | null;
  /** Last clock update from the reference, RFC 3339. */
  last_update: string | null;
  leap_status: string | null;
  applied_version: number;
  in_sync: boolean;
  conflicts: string[];
  error: string | null;
  sources: SourceView[];
}

export interface ClusterHealth {
  cluster_uuid: string;
  health: Health;
  reasons: string[];
  /** Largest difference between two nodes' offsets, milliseconds. */
  max_skew_ms: number | null;
  warn_ms: number;
  critical_ms: number;
  desired_version: number;
  evaluated_at: string;
  nodes: NodeHealth[];
}

export class HealthMonitor {
  private readonly cache = new Map<
    string,
    { at: number; value: Promise<ClusterHealth> }
  >();

  constructor(
    private readonly service: ClusterService,
    readonly thresholds: HealthThresholds = DEFAULT_THRESHOLDS,
    /** How long one evaluation is reused, in milliseconds. */
    private readonly cacheMs = 2_000,
  ) {}

  /** Forgets the cached verdict: a write changed what the nodes do. */
  invalidate(uuid: string): void {
    this.cache.delete(uuid);
  }

  /** The cluster's health, at most cacheMs old. */
  evaluate(uuid: string): Promise<ClusterHealth> {
    const hit = this.cache.get(uuid);
    if (hit && Date.now() - hit.at < this.cacheMs) return hit.value;
    const value = this.evaluateNow(uuid);
    this.cache.set(uuid, { at: Date.now(), value });
    value.catch(() => this.cache.delete(uuid));
    return value;
  }

  private async evaluateNow(uuid: string): Promise<ClusterHealth> {
    const desired = this.service.desired(uuid);
    const nodes = this.service.nodes(uuid);
    const outcomes = await fanOut(
      nodes,
      (node) => this.service.agents.forNode(node).syncStatus(),
      this.service.readFanout,
    );
    const views = nodes.map((node, i) => {
      const o = outcomes[i];
      return o?.ok
        ? nodeHealth(node, o.value, desired.version)
        : unreachable(node, desired.version, o?.ok === false ? o.error : null);
    });
    return verdictOf(uuid, views, desired.version, this.thresholds);
  }
}

function nodeHealth(
  node: NodeRow,
  status: SyncStatus,
  desiredVersion: number,
): NodeHealth {
  const t = status.tracking;
  const selected = status.sources.find((s) => s.state === "selected");
  const offset =
    status.synchronised && selected?.offset_s != null
      ? selected.offset_s * 1000
      : null;
  return {
    addr: node.addr,
    port: node.port,
    reachable: true,
    loaded: status.state.loaded,
    status: status.state.status,
    synchronised: status.synchronised,
    phase: status.phase,
    detail: status.detail,
    reference: status.synchronised && t ? t.ref_name || t.ref_id : null,
    stratum: t && status.synchronised ? t.stratum : null,
    offset_ms: offset === null ? null : round3(offset),
    root_distance_ms: t
      ? round3((t.root_delay_s / 2 + t.root_dispersion_s) * 1000)
      : null,
    last_update:
      t && t.ref_time_s > 0
        ? new Date(t.ref_time_s * 1000).toISOString()
        : null,
    leap_status: t?.leap_status ?? null,
    applied_version: node.applied_version,
    in_sync: node.applied_version >= desiredVersion,
    conflicts: status.conflicts ?? [],
    error: null,
    sources: status.sources.map(sourceView),
  };
}

function unreachable(
  node: NodeRow,
  desiredVersion: number,
  error: Error | null,
): NodeHealth {
  return {
    addr: node.addr,
    port: node.port,
    reachable: false,
    loaded: null,
    status: "unreachable",
    synchronised: false,
    phase: "unknown",
    detail: null,
    reference: null,
    stratum: null,
    offset_ms: null,
    root_distance_ms: null,
    last_update: null,
    leap_status: null,
    applied_version: node.applied_version,
    in_sync: node.applied_version >= desiredVersion,
    conflicts: [],
    error: error?.message ?? "no answer",
    sources: [],
  };
}

function sourceView(s: ChronySource): SourceView {
  return {
    addr: s.addr,
    state: s.state,
    reach: s.reach,
    stratum: s.stratum,
    poll_log2: s.poll_log2,
    offset_ms: s.offset_s === null ? null : round3(s.offset_s * 1000),
    last_rx_s: s.last_rx_s,
  };
}

/** The verdict: critical beats warn beats ok; every cause is a reason. */
export function verdictOf(
  uuid: string,
  nodes: NodeHealth[],
  desiredVersion: number,
  th: HealthThresholds,
): ClusterHealth {
  const critical: string[] = [];
  const warn: string[] = [];
  const offsets = nodes
    .map((n) => n.offset_ms)
    .filter((o): o is number => o !== null);
  const skew =
    offsets.length > 1 ? Math.max(...offsets) - Math.min(...offsets) : null;

  if (skew !== null && skew > th.critical_ms) {
    critical.push(`skew ${fmt(skew)} ms is over ${th.critical_ms} ms`);
  } else if (skew !== null && skew > th.warn_ms) {
    warn.push(`skew ${fmt(skew)} ms is over ${th.warn_ms} ms`);
  }
  for (const n of nodes) nodeReasons(n, th, critical, warn);
  // Pending nodes are spared their own warning, but when no node at all is
  // synchronised and some have settled, the cluster has no good time.
  const settled = nodes.some((n) => n.phase !== "pending");
  if (settled && nodes.every((n) => !n.synchronised)) {
    critical.push("no node is synchronised");
  } else if (nodes.length > 0 && !settled) {
    warn.push("every node is waiting for its first samples after a change");
  }

  const health: Health =
    critical.length > 0 ? "critical" : warn.length > 0 ? "warn" : "ok";
  return {
    cluster_uuid: uuid,
    health,
    reasons: [...critical, ...warn],
    max_skew_ms: skew === null ? null : round3(skew),
    warn_ms: th.warn_ms,
    critical_ms: th.critical_ms,
    desired_version: desiredVersion,
    evaluated_at: new Date().toISOString(),
    nodes,
  };
}

function nodeReasons(
  n: NodeHealth,
  th: HealthThresholds,
  critical: string[],
  warn: string[],
): void {
  if (!n.reachable) {
    warn.push(`node ${n.addr} is unreachable: ${n.error}`);
    return;
  }
  const off = n.offset_ms === null ? null : Math.abs(n.offset_ms);
  if (off !== null && off > th.critical_ms) {
    critical.push(
      `node ${n.addr} is ${fmt(n.offset_ms ?? 0)} ms off its reference`,
    );
  } else if (off !== null && off > th.warn_ms) {
    warn.push(
      `node ${n.addr} is ${fmt(n.offset_ms ?? 0)} ms off its reference`,
    );
  }
  if (n.status !== "active") {
    warn.push(`node ${n.addr}: chronyd is ${n.loaded}/${n.status}`);
  } else if (!n.synchronised && n.phase !== "pending") {
    warn.push(
      `node ${n.addr} is not synchronised: ${n.detail ?? "no reference"}`,
    );
  }
  if (
    n.leap_status &&
    !["Normal", "Not synchronised"].includes(n.leap_status)
  ) {
    warn.push(`node ${n.addr} has a leap second pending: ${n.leap_status}`);
  }
  for (const c of n.conflicts) {
    warn.push(`node ${n.addr} runs a competing time daemon: ${c}`);
  }
  if (!n.in_sync) {
    warn.push(
      `node ${n.addr} is behind the desired state (version ${n.applied_version})`,
    );
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function fmt(ms: number): string {
  return Math.abs(ms) >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

/** How each node's chronyd sees one source: its selection state and reach. */
export interface SourceOnNode {
  node: string;
  /** chronyd's state, or "absent" when the node does not list it. */
  state: string;
  /** Reach register, 0-255, or null when absent or unknown. */
  reach: number | null;
}

/** Every node's view of one source, from a health report. */
export function sourceOnNodes(
  report: ClusterHealth,
  addr: string,
): SourceOnNode[] {
  return report.nodes.map((n) => {
    const s = n.sources.find((x) => x.addr === addr);
    if (!n.reachable) return { node: n.addr, state: "unknown", reach: null };
    return {
      node: n.addr,
      state: s?.state ?? "absent",
      reach: s?.reach ?? null,
    };
  });
}
