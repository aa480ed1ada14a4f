/**
 * The agent interface: everything the controller may ask of one node. It has
 * two implementations, in-process (the controller's own node) and over HTTP,
 * and the controller never knows which one it holds.
 */
import type { ProbeResult } from "../ntp/types.ts";

export type { ProbeResult };

/** Sources and poll interval as a node applies them. */
export interface SourcesSpec {
  /** Normalised addresses: IPv4, IPv6 (canonical) or lower-case host names. */
  servers: string[];
  /** Poll interval, log2 seconds: 6 is 64 s. */
  poll_log2: number;
  /**
   * The cluster's time leaders other than this node (IP literals), used as
   * servers beside the upstream ones, so the cluster keeps one time when
   * it loses every upstream source.
   */
  cluster_servers?: string[];
  /** Set on a time leader: serve NTP to the cluster's nodes. */
  serve?: ServeSpec | null;
}

/** How a time leader serves NTP to its cluster. */
export interface ServeSpec {
  /** Address chronyd answers NTP on: the node's own IP literal. */
  bind_address: string;
  /** Who may ask: the cluster's node addresses (IP literals or CIDR). */
  allow: string[];
  /** Stratum served in orphan mode with no upstream source, 1-15. */
  local_stratum: number;
}

/** The chrony daemon's state, in the seed's words (systemctl show). */
export interface DaemonState {
  /** "loaded", "not-found" (chrony not installed), "error". */
  loaded: string;
  /** "active", "inactive", "failed", "activating", ... */
  status: string;
  /** "systemd" or "supervised". */
  mode: string;
  /** Why it is not active, when known. */
  detail: string | null;
}

/** The cluster's desired state as one node applies it, all at once. */
export interface DesiredSpec extends SourcesSpec {
  /** Version of the cluster's desired state; every write bumps it. */
  version: number;
  /** Full IANA name such as "America/Argentina/Buenos_Aires", or null. */
  timezone: string | null;
}

export interface ApplyResult {
  state: DaemonState;
  /** True when chronyd refused the new file and the previous was restored. */
  rolled_back: boolean;
  /** Why the node failed to apply, or null on success. */
  error: string | null;
  /** Why the sources part failed, or null. */
  sources_error: string | null;
  /** Why the time zone part failed, or null. */
  zone_error: string | null;
  /** Version the node now has applied (unchanged when it failed). */
  applied_version: number;
}

export interface ZoneReading {
  /** First path component, such as "America"; null when unknown. */
  zone: string | null;
  /** The rest, such as "Argentina/Buenos_Aires"; null when unknown. */
  country: string | null;
  /** How it was found: "symlink", "timezone-file", "content", "none". */
  found_by: string;
  /** Set when /etc/timezone names another zone than /etc/localtime. */
  mismatch: string | null;
}

export interface ClockReading {
  /** Node's clock, unix seconds with fraction. */
  time_s: number;
  /** IANA name of the node's time zone, or null. */
  timezone: string | null;
}

export interface ForceSyncResult {
  addr: string;
  ok: boolean;
  /** Local clock minus reference before the step, seconds; null if unknown. */
  offset_before_s: number | null;
  /** Local clock minus reference after the step, seconds; null if unknown. */
  offset_after_s: number | null;
  /** The reference used, such as "127.0.0.21", or null. */
  reference: string | null;
  error: string | null;
}

/** One source as chronyd sees it (chronyc -c sources / sourcestats). */
export interface ChronySource {
  addr: string;
  /** "server", "peer", "refclock". */
  kind: string;
  /** "selected", "combined", "not_combined", "falseticker", "jittery",
   * "unreachable" (no reply: reach 0), "unusable" (replies that fail
   * chronyd's tests, or no sample yet), "unselected". */
  state: string;
  stratum: number;
  poll_log2: number;
  /** Reach register, 0-255. */
  reach: number;
  /** Seconds since the last sample, null when none. */
  last_rx_s: number | null;
  /** Local clock minus source, seconds (chrony's sign). */
  offset_s: number | null;
  /** Error bound of the last sample, seconds. */
  error_s: number | null;
  samples: number;
}

export interface Tracking {
  /** Reference id in hex, such as "7F000015". */
  ref_id: string;
  /** Reference address or name; "" when none. */
  ref_name: string;
  stratum: number;
  /** Unix seconds of the last update, 0 when never. */
  ref_time_s: number;
  /** Current correction being applied, seconds. */
  system_time_s: number;
  /** Estimated local offset at the last update, seconds. */
  last_offset_s: number;
  rms_offset_s: number;
  freq_ppm: number;
  skew_ppm: number;
  root_delay_s: number;
  root_dispersion_s: number;
  update_interval_s: number;
  /** "Normal", "Insert second", "Delete second", "Not synchronised". */
  leap_status: string;
}

export interface SyncStatus {
  state: DaemonState;
  tracking: Tracking | null;
  sources: ChronySource[];
  /** True when chronyd follows a real source, not only its local clock. */
  synchronised: boolean;
  /** "pending" right after a change, before the first sample. */
  phase: "synchronised" | "pending" | "unsynchronised" | "unknown";
  detail: string | null;
  /** Other time daemons running beside chronyd, such as "ntpd (pid 42)". */
  conflicts?: string[];
}

export interface AgentInfo {
  /** Address the node is known by. */
  addr: string;
  hostname: string;
  version: string;
  applied_version: number;
  chrony_mode: string;
}

export interface Agent {
  info(): Promise<AgentInfo>;
  /** Applies sources, poll interval and time zone, then records version. */
  apply(desired: DesiredSpec): Promise<ApplyResult>;
  daemonState(): Promise<DaemonState>;
  syncStatus(): Promise<SyncStatus>;
  forceSync(): Promise<ForceSyncResult>;
  probe(addrs: string[]): Promise<ProbeResult[]>;
  listZones(): Promise<string[]>;
  listCountries(zone: string): Promise<string[]>;
  readZone(): Promise<ZoneReading>;
  readClock(): Promise<ClockReading>;
  close(): Promise<void>;
}
