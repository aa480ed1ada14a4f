/**
 * Turning per-node outcomes into the seed's status[] and into one verdict:
 * success, partial failure or total failure. A failed node is never hidden
 * inside a success.
 */
import type { ApplyResult } from "../agent/types.ts";
import { type ErrorCode, redactPaths, TimeplaneError } from "../errors.ts";
import type { NodeRow } from "../store/repository.ts";
import type { Outcome } from "./fanout.ts";

/** One entry of the seed's status[]. */
export interface NodeStatus {
  addr: string;
  /** systemd LoadState: "loaded", "not-found", or "unknown" when unreachable. */
  loaded: string;
  /** systemd ActiveState: "active", "failed", ... or "unreachable". */
  status: string;
  /** When this was observed, unix seconds. */
  time_stamp: number;
  applied_version: number;
  rolled_back: boolean;
  /** Why the node failed the change asked for, or null. */
  error: string | null;
  /** Whether the node is behind on anything, such as sources it cannot
   * apply while the write was a time zone change. */
  node_error: string | null;
}

function redact(text: string | null): string | null {
  return text === null ? null : redactPaths(text);
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Which part of the desired state a write changed. */
export type Aspect = "all" | "sources" | "zone";

/**
 * The node's outcome as one status entry. `error` speaks of the aspect the
 * write changed: a node that cannot apply sources (no chrony) still reports
 * a time zone change that worked as a success.
 */
export function toNodeStatus(
  node: NodeRow,
  outcome: Outcome<ApplyResult>,
  aspect: Aspect = "all",
): NodeStatus {
  if (!outcome.ok) {
    return {
      addr: node.addr,
      loaded: "unknown",
      status: "unreachable",
      time_stamp: nowSeconds(),
      applied_version: node.applied_version,
      rolled_back: false,
      error: redactPaths(outcome.error.message),
      node_error: redactPaths(outcome.error.message),
    };
  }
  const r = outcome.value;
  return {
    addr: node.addr,
    loaded: r.state.loaded,
    status: r.state.status,
    time_stamp: nowSeconds(),
    applied_version: r.applied_version,
    rolled_back: r.rolled_back,
    error: redact(
      aspect === "sources"
        ? r.sources_error
        : aspect === "zone"
          ? r.zone_error
          : r.error,
    ),
    node_error: redact(r.error),
  };
}

/**
 * Returns data when every node succeeded; otherwise throws a partial or
 * total failure that still carries data, so the caller sees each node.
 */
export function verdict<D>(
  failures: { addr: string; error: string | null }[],
  total: number,
  data: D,
  partialCode: ErrorCode = "PARTIAL_FAILURE",
): D {
  const failed = failures.filter((f) => f.error !== null);
  if (failed.length === 0) return data;

  const nodes = failed.map((f) => `${f.addr} (${f.error})`).join("; ");
  const params = { failed: failed.length, total, nodes };
  const code = failed.length === total ? "ALL_NODES_FAILED" : partialCode;
  throw new TimeplaneError(code, params, data);
}
