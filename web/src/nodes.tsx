/**
 * The nodes card: each node's chronyd state, clock offset and sync phase,
 * and the configuration version it applied against the one desired.
 * Offset and phase come from cluster/status; when the controller has no
 * such endpoint the card says so and shows what node/list knows.
 */
import { read } from "./api.ts";
import {
  Badge,
  Card,
  Empty,
  ErrorBox,
  ErrorCell,
  type Tone,
} from "./components.tsx";
import { DASH, orDash, plainMs, signedMs } from "./format.ts";
import type { CardProps } from "./sources.tsx";
import type { ClusterStatus, NodeList, NodeView, StatusNode } from "./types.ts";
import { useLoader } from "./use-loader.ts";

interface Row {
  key: string;
  addr: string;
  port: number | null;
  local: boolean;
  loaded: string | null;
  status: string | null;
  phase: string | null;
  offset_ms: number | null;
  reference: string | null;
  root_distance_ms: number | null;
  applied: number | null;
  desired: number | null;
  /** Whether the node applied the desired version; null when unknown. */
  in_sync: boolean | null;
  error: string | null;
}

export function NodesCard(
  props: CardProps & { health: ClusterStatus | null; healthKnown: boolean },
) {
  const { uuid } = props;
  const nodes = useLoader(
    uuid,
    () => read<NodeList>("/v1/node/list", { cluster_uuid: uuid }),
    { everyMs: 30_000, rev: props.rev },
  );
  const list = merge(nodes.data, props.health);
  return (
    <Card
      id="nodes"
      title="Nodes"
      wide
      actions={
        <button type="button" class="btn" onClick={() => void nodes.reload()}>
          Refresh nodes
        </button>
      }
    >
      <ErrorBox error={nodes.error} what="Could not list the nodes" />
      {list.length > 0 && <NodesTable rows={list} />}
      {props.health !== null && (
        <p class="note">
          Offset: the node's clock minus its reference (negative when the node
          is behind).
        </p>
      )}
      {list.length === 0 && !nodes.error && <Empty>Loading nodes...</Empty>}
      {props.healthKnown && props.health === null && (
        <p class="note">
          Offset and clock state need the controller's cluster/status, which it
          does not offer; chronyd state and versions come from node/list.
        </p>
      )}
    </Card>
  );
}

function merge(list: NodeList | null, health: ClusterStatus | null): Row[] {
  const seen = new Map<string, StatusNode>();
  for (const n of health?.nodes ?? []) seen.set(nodeKey(n.addr, n.port), n);
  const desired = health?.desired_version ?? list?.desired_version ?? null;
  if (list === null) {
    return [...seen.values()].map((n) => fromStatus(n, desired));
  }
  return list.list.map((v) => {
    const s = seen.get(nodeKey(v.addr, v.port)) ?? seen.get(v.addr);
    return fromView(v, s ?? null, desired);
  });
}

function nodeKey(addr: string, port: number | undefined): string {
  return port === undefined ? addr : `${addr}:${port}`;
}

function fromView(
  v: NodeView,
  s: StatusNode | null,
  desired: number | null,
): Row {
  return {
    key: `${v.addr}:${v.port}`,
    addr: v.addr,
    port: v.port,
    local: v.local,
    loaded: s?.loaded ?? v.loaded,
    status: s?.status ?? v.status,
    phase: s?.phase ?? null,
    offset_ms: s?.offset_ms ?? null,
    reference: s?.reference ?? null,
    root_distance_ms: s?.root_distance_ms ?? null,
    applied: s?.applied_version ?? v.applied_version,
    desired: desired ?? v.desired_version,
    in_sync: s?.in_sync ?? v.in_sync,
    error: s ? statusError(s) : v.last_error,
  };
}

function fromStatus(s: StatusNode, desired: number | null): Row {
  return {
    key: nodeKey(s.addr, s.port),
    addr: s.addr,
    port: s.port ?? null,
    local: false,
    loaded: s.loaded ?? null,
    status: s.status ?? null,
    phase: s.phase ?? null,
    offset_ms: s.offset_ms ?? null,
    reference: s.reference ?? null,
    root_distance_ms: s.root_distance_ms ?? null,
    applied: s.applied_version ?? null,
    desired,
    in_sync: s.in_sync ?? null,
    error: statusError(s),
  };
}

function statusError(s: StatusNode): string | null {
  const parts = [
    s.error ?? null,
    ...(s.conflicts ?? []).map((c) => `conflict: ${c}`),
  ].filter((p): p is string => p !== null && p !== "");
  return parts.length === 0 ? null : parts.join("; ");
}

function daemonTone(status: string | null): Tone {
  if (status === "active") return "ok";
  if (status === "activating" || status === "reloading") return "warn";
  if (status === null || status === "unknown") return "muted";
  return "bad";
}

const PHASE_TONE: Record<string, Tone> = {
  synchronised: "ok",
  pending: "warn",
  unsynchronised: "bad",
  unknown: "muted",
};

function NodesTable(props: { rows: Row[] }) {
  return (
    <table class="table" aria-label="Nodes">
      <thead>
        <tr>
          <th scope="col">Node</th>
          <th scope="col">chronyd</th>
          <th scope="col">Clock</th>
          <th scope="col" class="num">
            Offset (ms)
          </th>
          <th scope="col">Reference</th>
          <th scope="col" class="num">
            Root distance (ms)
          </th>
          <th scope="col">Config version (applied / desired)</th>
          <th scope="col">Error</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((r) => (
          <NodeRow key={r.key} row={r} />
        ))}
      </tbody>
    </table>
  );
}

function NodeRow(props: { row: Row }) {
  const r = props.row;
  return (
    <tr class={r.error === null ? "" : "row-bad"}>
      <th scope="row">
        <span class="mono">
          {r.port === null || r.local ? r.addr : `${r.addr}:${r.port}`}
        </span>
        {r.local && <div class="sub">this controller's node</div>}
      </th>
      <td>
        {r.status === null || r.status === "" ? (
          DASH
        ) : (
          <Badge tone={daemonTone(r.status)}>{r.status}</Badge>
        )}
        <div class="sub">{r.loaded ?? DASH}</div>
      </td>
      <td>
        {r.phase === null ? (
          DASH
        ) : (
          <Badge tone={PHASE_TONE[r.phase] ?? "muted"}>{r.phase}</Badge>
        )}
      </td>
      <td class="num">{signedMs(r.offset_ms, 3)}</td>
      <td class="mono">{orDash(r.reference)}</td>
      <td class="num">{plainMs(r.root_distance_ms, 3)}</td>
      <td>
        {`${orDash(r.applied)} / ${orDash(r.desired)} `}
        {r.in_sync === true && <Badge tone="ok">in sync</Badge>}
        {r.in_sync === false && <Badge tone="warn">behind</Badge>}
      </td>
      <ErrorCell error={r.error} />
    </tr>
  );
}
