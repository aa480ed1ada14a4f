/**
 * `timeplane status`: the cluster's clock health, node by node. Every field
 * may be missing (the endpoint is younger than the rest of the API); a
 * controller without the endpoint gets a clear "too old" message.
 */
import type { Command } from "commander";
import { clientCommand, handle, type Refusal } from "./command.ts";
import {
  type Colors,
  fixed,
  keyValues,
  rfc3339,
  table,
  text,
} from "./format.ts";
import type { Reply } from "./http.ts";

interface NodeHealth {
  addr?: string;
  port?: number;
  reachable?: boolean;
  phase?: string;
  reference?: string | null;
  stratum?: number | null;
  offset_ms?: number | null;
  root_distance_ms?: number | null;
  last_update?: string | null;
  leap_status?: string | null;
  applied_version?: number;
  conflicts?: string[];
  error?: string | null;
}

interface ClusterStatus {
  health?: string;
  reasons?: string[];
  max_skew_ms?: number | null;
  warn_ms?: number;
  critical_ms?: number;
  desired_version?: number;
  nodes?: NodeHealth[];
}

const PATH = "/v1/ntp/cluster/status";

export function registerStatus(program: Command): void {
  const cmd = clientCommand(program, "status", "The cluster's clock health");
  handle(cmd, (_cmd, settings) => ({
    request: (api) => api.get<ClusterStatus>(PATH, api.cluster()),
    render: renderStatus,
    explain: (reply) => tooOld(reply, settings.server),
  }));
}

function tooOld(reply: Reply, server: string): Refusal | undefined {
  if (reply.http !== 404 || reply.body.scode !== 1401) return undefined;
  return {
    message:
      `The controller at ${server} is too old for \`timeplane status\`: ` +
      `it has no GET ${PATH}`,
    hint:
      "upgrade the controller; meanwhile see `timeplane nodes` " +
      "and `timeplane servers list`",
  };
}

function renderStatus(data: ClusterStatus, c: Colors): string {
  const summary = keyValues([
    ["Health", health(data.health, c)],
    ["Reasons", data.reasons?.length ? data.reasons.join("; ") : "-"],
    ["Max skew (ms)", fixed(data.max_skew_ms, 3)],
    ["Warn at (ms)", text(data.warn_ms)],
    ["Critical at (ms)", text(data.critical_ms)],
    ["Desired version", text(data.desired_version)],
  ]);
  return `${summary}\n${table(NODE_HEAD, (data.nodes ?? []).map(nodeRow), c)}`;
}

const NODE_HEAD = [
  "NODE",
  "REACHABLE",
  "PHASE",
  "REFERENCE",
  "STRATUM",
  "OFFSET (ms)",
  "ROOT DISTANCE (ms)",
  "LEAP",
  "LAST UPDATE (UTC)",
  "APPLIED VERSION",
  "PROBLEMS",
];

function nodeRow(n: NodeHealth): string[] {
  const problems = [...(n.conflicts ?? []), ...(n.error ? [n.error] : [])];
  return [
    n.port ? `${text(n.addr)}:${n.port}` : text(n.addr),
    text(n.reachable),
    text(n.phase),
    text(n.reference),
    text(n.stratum),
    fixed(n.offset_ms, 3),
    fixed(n.root_distance_ms, 3),
    text(n.leap_status),
    rfc3339(n.last_update),
    text(n.applied_version),
    problems.length > 0 ? problems.join("; ") : "-",
  ];
}

function health(value: string | undefined, c: Colors): string {
  if (value === "ok") return c.green(value);
  if (value === "warn") return c.yellow(value);
  if (value === "critical") return c.red(c.bold(value));
  return text(value);
}
