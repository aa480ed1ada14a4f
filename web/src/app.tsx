/**
 * The console's page: a masthead with the cluster picker and the API token
 * field, a page header with the cluster's health verdict, then one card per
 * concern. Cards read again after any write and on their own timers.
 */
import { useState } from "preact/hooks";
import {
  envelopeError,
  getToken,
  read,
  request,
  setToken,
  withQuery,
} from "./api.ts";
import { ClockCard } from "./clock.tsx";
import { Badge, ErrorBox, type Tone } from "./components.tsx";
import { plainMs } from "./format.ts";
import { NodesCard } from "./nodes.tsx";
import { SourcesCard } from "./sources.tsx";
import { SyncCard } from "./sync.tsx";
import type { Cluster, ClusterList, ClusterStatus, Health } from "./types.ts";
import { type Loaded, useLoader } from "./use-loader.ts";
import { ZoneCard } from "./zone.tsx";

/** scode of "no such route": the controller has no cluster/status. */
const ROUTE_NOT_FOUND = 1401;
const UNAUTHORIZED = 1501;

interface HealthReading {
  /** Null when the controller has no cluster/status endpoint. */
  status: ClusterStatus | null;
}

async function loadHealth(uuid: string): Promise<HealthReading> {
  const path = withQuery("/v1/ntp/cluster/status", { cluster_uuid: uuid });
  const reply = await request<ClusterStatus>("GET", path);
  const { envelope, http } = reply;
  if (http === 404 && envelope.scode === ROUTE_NOT_FOUND) {
    return { status: null };
  }
  // A verdict comes with its data even when some node did not answer.
  if (envelope.scode === 0 || typeof envelope.data?.health === "string") {
    return { status: envelope.data };
  }
  throw envelopeError(reply);
}

export function App() {
  const [tokenRev, setTokenRev] = useState(0);
  const clusters = useLoader(
    `token-${tokenRev}`,
    () => read<ClusterList>("/v1/cluster/list"),
    { everyMs: 60_000 },
  );
  const [picked, setPicked] = useState<string | null>(null);
  const list = clusters.data?.list ?? [];
  const cluster = list.find((c) => c.uuid === picked) ?? list[0] ?? null;
  const uuid = cluster?.uuid ?? null;

  const [rev, setRev] = useState(0);
  const bump = () => setRev((r) => r + 1);
  const health = useLoader(
    uuid === null ? null : `${uuid}|${tokenRev}`,
    () => loadHealth(uuid ?? ""),
    { everyMs: 15_000, rev },
  );

  return (
    <>
      <header class="masthead">
        <div class="brand">
          <span class="brand-name">timeplane</span>
          <span class="brand-sep" aria-hidden="true">
            /
          </span>
          <span>Time</span>
        </div>
        <div class="masthead-controls">
          <ClusterPicker
            clusters={list}
            value={uuid}
            onChange={(u) => setPicked(u)}
          />
          <TokenField onChange={() => setTokenRev((r) => r + 1)} />
        </div>
      </header>
      <main class="page">
        <PageHead cluster={cluster} health={health} />
        <ErrorBox error={clusters.error} what="Could not list the clusters" />
        {clusters.error?.scode === UNAUTHORIZED && (
          <p class="note">
            This controller asks for its API token: type it in the API token
            field above, then press Enter.
          </p>
        )}
        {uuid !== null && (
          <Cards
            key={`${uuid}|${tokenRev}`}
            uuid={uuid}
            rev={rev}
            onChanged={bump}
            health={health}
          />
        )}
      </main>
    </>
  );
}

function Cards(props: {
  uuid: string;
  rev: number;
  onChanged: () => void;
  health: Loaded<HealthReading>;
}) {
  const card = { uuid: props.uuid, rev: props.rev, onChanged: props.onChanged };
  const health = props.health.data;
  return (
    <div class="grid">
      <ClockCard {...card} />
      <ZoneCard {...card} />
      <SourcesCard {...card} />
      <NodesCard
        {...card}
        health={health?.status ?? null}
        healthKnown={health !== null}
      />
      <SyncCard {...card} />
    </div>
  );
}

function ClusterPicker(props: {
  clusters: Cluster[];
  value: string | null;
  onChange: (uuid: string) => void;
}) {
  return (
    <div class="masthead-field">
      <label for="cluster">Cluster</label>
      <select
        id="cluster"
        value={props.value ?? ""}
        disabled={props.clusters.length === 0}
        onChange={(e) => props.onChange(e.currentTarget.value)}
      >
        {props.clusters.length === 0 && <option value="">none</option>}
        {props.clusters.map((c) => (
          <option key={c.uuid} value={c.uuid}>
            {`${c.name || c.uuid.slice(0, 8)} (${c.nodes} ${
              c.nodes === 1 ? "node" : "nodes"
            })`}
          </option>
        ))}
      </select>
    </div>
  );
}

function TokenField(props: { onChange: () => void }) {
  const [value, setValue] = useState(getToken);
  const commit = (next: string) => {
    if (next === getToken()) return;
    setToken(next);
    props.onChange();
  };
  return (
    <div class="masthead-field">
      <label for="api-token">API token</label>
      <input
        id="api-token"
        type="password"
        autocomplete="off"
        spellcheck={false}
        size={18}
        value={value}
        placeholder="none"
        onInput={(e) => setValue(e.currentTarget.value)}
        onChange={(e) => commit(e.currentTarget.value.trim())}
      />
    </div>
  );
}

const HEALTH_TONE: Record<Health, Tone> = {
  ok: "ok",
  warn: "warn",
  critical: "bad",
};

function PageHead(props: {
  cluster: Cluster | null;
  health: Loaded<HealthReading>;
}) {
  const { cluster } = props;
  return (
    <div class="page-head">
      <div>
        <h1>Time</h1>
        <p class="sub">
          {cluster === null
            ? "No cluster"
            : `Cluster ${cluster.name || "unnamed"} \u00b7 ${cluster.uuid}`}
        </p>
      </div>
      <HealthSummary health={props.health} />
    </div>
  );
}

function HealthSummary(props: { health: Loaded<HealthReading> }) {
  const { data, error } = props.health;
  if (error !== null) {
    return (
      <div class="health" data-testid="health">
        <ErrorBox error={error} what="Health" />
      </div>
    );
  }
  if (data === null) return <div class="health">Health: ...</div>;
  const s = data.status;
  if (s === null || s.health === undefined) {
    return (
      <div class="health" data-testid="health">
        <Badge tone="muted">health not available</Badge>
        <div class="sub">this controller has no cluster/status</div>
      </div>
    );
  }
  return (
    <div class="health" data-testid="health">
      <div>
        Health <Badge tone={HEALTH_TONE[s.health] ?? "muted"}>{s.health}</Badge>
        <span class="skew">
          Max skew (ms): <strong>{plainMs(s.max_skew_ms, 1)}</strong>
        </span>
      </div>
      {(s.reasons ?? []).length > 0 && (
        <ul class="reasons">
          {(s.reasons ?? []).map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
