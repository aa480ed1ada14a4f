/**
 * The shapes of the controller's replies that the console reads, as the
 * REST API gives them (snake_case, units in the names). Fields of
 * cluster/status are optional: that endpoint is new and may lack some.
 */

export interface Envelope<T = unknown> {
  scode: number;
  desc: string;
  message: string;
  message_cn: string;
  stack: string | null;
  data: T;
}

export interface Cluster {
  uuid: string;
  name: string;
  created_at: string | number;
  nodes: number;
  desired_version: number;
}

export interface ClusterList {
  list: Cluster[];
  total_count: number;
}

export interface SourceStatus {
  ip: string;
  status: boolean;
  reason: string | null;
  detail?: string | null;
  stratum: number | null;
  offset_ms: number | null;
  delay_ms: number | null;
  kiss_code?: string | null;
  nodes?: { addr: string; status: boolean; reason: string | null }[];
}

export interface ServerList {
  addrs: string[];
  sync_period: number | null;
  date_source_status: SourceStatus[];
}

/** One entry of a write's status[]. */
export interface NodeStatus {
  addr: string;
  loaded: string;
  status: string;
  time_stamp: number;
  applied_version: number;
  rolled_back: boolean;
  error: string | null;
  node_error?: string | null;
}

export interface WriteData {
  status?: NodeStatus[];
  servers?: string[] | null;
  version?: number;
}

export interface NodeView {
  addr: string;
  port: number;
  local: boolean;
  applied_version: number;
  desired_version: number;
  in_sync: boolean;
  loaded: string;
  status: string;
  last_error: string | null;
  last_seen_at: string | number | null;
}

export interface NodeList {
  list: NodeView[];
  total_count: number;
  desired_version: number;
}

export type Health = "ok" | "warn" | "critical";

export interface StatusNode {
  addr: string;
  port?: number;
  reachable?: boolean;
  loaded?: string;
  status?: string;
  synchronised?: boolean;
  phase?: string;
  reference?: string | null;
  stratum?: number | null;
  offset_ms?: number | null;
  root_distance_ms?: number | null;
  last_update?: string | null;
  leap_status?: string | null;
  applied_version?: number;
  in_sync?: boolean;
  conflicts?: string[];
  error?: string | null;
}

export interface ClusterStatus {
  health?: Health;
  reasons?: string[];
  max_skew_ms?: number | null;
  warn_ms?: number;
  critical_ms?: number;
  desired_version?: number;
  nodes?: StatusNode[];
}

export interface ZoneList {
  list: string[];
  total_count: number;
}

export interface CurrentZone {
  zone: string | null;
  country: string | null;
  found_by: string;
  mismatch: string | null;
  note: string | null;
}

export interface CurrentTime {
  time: number;
  time_ms: number;
  iso: string;
  timezone: string;
}

export interface SyncNode {
  addr: string;
  ok: boolean;
  offset_before_s: number | null;
  offset_after_s: number | null;
  reference: string | null;
  error: string | null;
}

export interface SyncData {
  nodes?: SyncNode[];
}
