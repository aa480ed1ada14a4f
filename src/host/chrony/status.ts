/**
 * Decides what chronyd's tracking and sources reports mean for the cluster.
 * A node is synchronised only when it follows a real source: chronyd
 * running on its local clock alone reports stratum and offset 0 but its
 * true offset is unknown (F16). Right after the sources changed, before the
 * first samples, the node is "pending" rather than failed (F17).
 */
import type {
  ChronySource,
  DaemonState,
  SyncStatus,
  Tracking,
} from "../../agent/types.ts";

/** Reference id chronyd reports when it follows its local clock. */
export const LOCAL_REF_ID = "7F7F0101";
export const NO_REF_ID = "00000000";

export interface SyncInput {
  state: DaemonState;
  tracking: Tracking;
  sources: ChronySource[];
  /** Seconds since the sources last changed or chronyd started. */
  sinceChangeS: number;
  /** How long after a change a node without a selected source is pending. */
  pendingWindowS: number;
  /** True when the applied spec lists at least one server. */
  expectsSources: boolean;
}

export function evaluateSync(input: SyncInput): SyncStatus {
  const { state, tracking, sources } = input;
  const base = { state, tracking, sources };
  const selected = sources.find((s) => s.state === "selected");
  const refReal =
    tracking.ref_id !== LOCAL_REF_ID &&
    tracking.ref_id !== NO_REF_ID &&
    tracking.leap_status !== "Not synchronised";

  if (refReal && selected !== undefined) {
    return { ...base, synchronised: true, phase: "synchronised", detail: null };
  }
  const hasServers = input.expectsSources || sources.length > 0;
  if (hasServers && input.sinceChangeS < input.pendingWindowS) {
    const ago_s = Math.round(input.sinceChangeS);
    const detail = `waiting for first samples: sources changed ${ago_s} s ago`;
    return { ...base, synchronised: false, phase: "pending", detail };
  }
  const detail = whyUnsynchronised(tracking, sources);
  return { ...base, synchronised: false, phase: "unsynchronised", detail };
}

export function whyUnsynchronised(
  tracking: Tracking,
  sources: ChronySource[],
): string {
  if (tracking.ref_id === LOCAL_REF_ID) {
    return (
      `chronyd follows only its local clock (stratum ${tracking.stratum}): ` +
      "offset unknown"
    );
  }
  if (sources.length === 0) return "no sources configured";
  return `no source selected: ${describeSources(sources)}`;
}

/** "127.0.0.41 unreachable, 127.0.0.42 falseticker" */
export function describeSources(sources: ChronySource[]): string {
  if (sources.length === 0) return "no sources configured";
  return sources.map((s) => `${s.addr} ${s.state}`).join(", ");
}

/**
 * chronyd measures sources against its own corrected timescale. Until it
 * has applied a correction to the system clock (always, under -x; during a
 * slew otherwise) that timescale differs from the system clock by
 * tracking's system time, so a source's offset from the system clock is its
 * offset minus that. A source 5 s ahead of a -x node reads -5 here even
 * after chronyd took the 5 s into its own timescale.
 */
export function systemClockOffset(
  offset_s: number,
  tracking: Tracking,
): number {
  return round9(offset_s - tracking.system_time_s);
}

export function withSystemClockOffsets(
  sources: ChronySource[],
  tracking: Tracking,
): ChronySource[] {
  return sources.map((s) => ({
    ...s,
    offset_s:
      s.offset_s === null ? null : systemClockOffset(s.offset_s, tracking),
  }));
}

function round9(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}

export function unknownStatus(state: DaemonState, detail: string): SyncStatus {
  return {
    state,
    tracking: null,
    sources: [],
    synchronised: false,
    phase: "unknown",
    detail,
  };
}
