/**
 * The NTP sources card: each configured source with whether it answers
 * usable time now (server/list), a form to add sources with a poll
 * interval, and a delete button per source. Every write shows its outcome
 * per node.
 */
import { useState } from "preact/hooks";
import { type ApiError, type Reply, read, toApiError, write } from "./api.ts";
import { Badge, Card, Empty, ErrorBox, WriteOutcome } from "./components.tsx";
import { DASH, orDash, plainMs, signedMs } from "./format.ts";
import type { ServerList, SourceStatus, WriteData } from "./types.ts";
import { useLoader } from "./use-loader.ts";

export interface CardProps {
  uuid: string;
  /** Bumped after every write, so each card reads again. */
  rev: number;
  onChanged: () => void;
}

/** The poll intervals the API takes: powers of two, 16 s to 36.4 h. */
const PERIODS_S = Array.from({ length: 14 }, (_, i) => 2 ** (i + 4));

/** The scode of "source refused, send force: true to add it anyway". */
const SOURCE_UNUSABLE = 1201;

interface Outcome {
  okText: string;
  reply: Reply<WriteData> | null;
  error: ApiError | null;
  /** The add that was refused, to offer sending it again with force. */
  retry?: { addrs: string[]; sync_period: number };
}

export function SourcesCard(props: CardProps) {
  const { uuid } = props;
  const list = useLoader(
    uuid,
    () => read<ServerList>("/v1/ntp/server/list", { cluster_uuid: uuid }),
    { everyMs: 30_000, rev: props.rev },
  );
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);
  const [typed, setTyped] = useState("");

  const send = async (
    path: string,
    body: Record<string, unknown>,
    okText: string,
  ): Promise<Outcome> => {
    setBusy(true);
    setOutcome(null);
    let result: Outcome;
    try {
      const reply = await write<WriteData>(path, {
        ...body,
        cluster_uuid: uuid,
      });
      result = { okText, reply, error: null };
    } catch (err) {
      result = { okText, reply: null, error: toApiError(err) };
    }
    setOutcome(result);
    setBusy(false);
    props.onChanged();
    return result;
  };

  const add = async (addrs: string[], period: number, force = false) => {
    const body = force
      ? { addrs, sync_period: period, force: true }
      : { addrs, sync_period: period };
    const okText = `Added ${addrs.join(", ")} on every node`;
    const r = await send("/v1/ntp/server/add", body, okText);
    if (r.reply?.envelope.scode === SOURCE_UNUSABLE && !force) {
      setOutcome({ ...r, retry: { addrs, sync_period: period } });
    }
    if (r.reply?.envelope.scode === 0) setTyped("");
  };

  const remove = (ip: string) =>
    send(
      "/v1/ntp/server/delete",
      { addrs: [ip] },
      `Deleted ${ip} on every node`,
    );

  const period = list.data?.sync_period ?? null;
  return (
    <Card
      id="sources"
      title="NTP sources"
      wide
      actions={
        <button type="button" class="btn" onClick={() => void list.reload()}>
          Refresh sources
        </button>
      }
    >
      <p class="meta">
        Poll interval (sync_period):{" "}
        <strong>{period === null ? DASH : `${period} s`}</strong>
      </p>
      <ErrorBox error={list.error} what="Could not list the sources" />
      {list.data && (
        <SourcesTable data={list.data} busy={busy} onDelete={remove} />
      )}
      {!list.data && !list.error && <Empty>Loading sources...</Empty>}
      <AddSourcesForm
        busy={busy}
        defaultPeriod={period ?? 64}
        typed={typed}
        onType={setTyped}
        onAdd={(addrs, p) => void add(addrs, p)}
      />
      {outcome && (
        <WriteOutcome
          reply={outcome.reply}
          error={outcome.error}
          okText={outcome.okText}
          label="Source change per node"
        />
      )}
      {outcome?.retry && (
        <RetryWithForce
          busy={busy}
          onRetry={() => {
            const r = outcome.retry;
            if (r) void add(r.addrs, r.sync_period, true);
          }}
        />
      )}
    </Card>
  );
}

function RetryWithForce(props: { busy: boolean; onRetry: () => void }) {
  return (
    <p class="retry">
      <button
        type="button"
        class="btn btn-danger"
        disabled={props.busy}
        onClick={props.onRetry}
      >
        Add anyway
      </button>{" "}
      The source gave no usable time; it can be added all the same.
    </p>
  );
}

/** Configured addresses first, in their order, then any other probed. */
function rows(data: ServerList): SourceStatus[] {
  const byIp = new Map(data.date_source_status.map((s) => [s.ip, s]));
  const out: SourceStatus[] = data.addrs.map(
    (ip) =>
      byIp.get(ip) ?? {
        ip,
        status: false,
        reason: null,
        stratum: null,
        offset_ms: null,
        delay_ms: null,
      },
  );
  for (const s of data.date_source_status) {
    if (!data.addrs.includes(s.ip)) out.push(s);
  }
  return out;
}

function SourcesTable(props: {
  data: ServerList;
  busy: boolean;
  onDelete: (ip: string) => void;
}) {
  const list = rows(props.data);
  if (list.length === 0) {
    return <Empty>No sources: the nodes keep their own clocks.</Empty>;
  }
  return (
    <>
      <table class="table" aria-label="NTP sources">
        <thead>
          <tr>
            <th scope="col">Source</th>
            <th scope="col">Reachability</th>
            <th scope="col">Reason</th>
            <th scope="col" class="num">
              Stratum
            </th>
            <th scope="col" class="num">
              Offset (ms)
            </th>
            <th scope="col" class="num">
              Delay (ms)
            </th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.map((s) => (
            <SourceRow
              key={s.ip}
              source={s}
              busy={props.busy}
              onDelete={props.onDelete}
            />
          ))}
        </tbody>
      </table>
      <p class="note">
        Offset: the source's clock minus the probing node's (positive when the
        source is ahead); delay is the round trip.
      </p>
    </>
  );
}

function SourceRow(props: {
  source: SourceStatus;
  busy: boolean;
  onDelete: (ip: string) => void;
}) {
  const s = props.source;
  const [confirming, setConfirming] = useState(false);
  return (
    <tr class={s.status ? "" : "row-bad"}>
      <th scope="row">
        <span class="mono">{s.ip}</span>
        <NodesSeeing source={s} />
      </th>
      <td>
        {s.status ? (
          <Badge tone="ok">Reachable</Badge>
        ) : (
          <Badge tone="bad">Unreachable</Badge>
        )}
      </td>
      <td>
        {orDash(s.reason)}
        {detailText(s) && <div class="sub">{detailText(s)}</div>}
      </td>
      <td class="num">{orDash(s.stratum)}</td>
      <td class="num">{signedMs(s.offset_ms, 3)}</td>
      <td class="num">{plainMs(s.delay_ms, 3)}</td>
      <td class="actions">
        {confirming ? (
          <span class="confirm">
            <button
              type="button"
              class="btn btn-danger"
              disabled={props.busy}
              aria-label={`Confirm delete of source ${s.ip}`}
              onClick={() => {
                setConfirming(false);
                props.onDelete(s.ip);
              }}
            >
              Delete
            </button>
            <button
              type="button"
              class="btn btn-link"
              onClick={() => setConfirming(false)}
            >
              Cancel
            </button>
          </span>
        ) : (
          <button
            type="button"
            class="btn"
            disabled={props.busy}
            aria-label={`Delete source ${s.ip}`}
            onClick={() => setConfirming(true)}
          >
            Delete...
          </button>
        )}
      </td>
    </tr>
  );
}

function detailText(s: SourceStatus): string {
  const parts = [s.detail, s.kiss_code ? `KoD ${s.kiss_code}` : null];
  return parts
    .filter((p) => p !== null && p !== undefined && p !== "")
    .join("; ");
}

/** When nodes probed the source themselves, which of them reach it. */
function NodesSeeing(props: { source: SourceStatus }) {
  const nodes = props.source.nodes;
  if (!nodes || nodes.length === 0) return null;
  const bad = nodes.filter((n) => !n.status);
  const text =
    bad.length === 0
      ? `reached by all ${nodes.length} nodes`
      : `not reached by ${bad.map((n) => n.addr).join(", ")}`;
  return <div class={bad.length === 0 ? "sub" : "sub sub-bad"}>{text}</div>;
}

function AddSourcesForm(props: {
  busy: boolean;
  defaultPeriod: number;
  /** What is in the addresses field; emptied once an add succeeds. */
  typed: string;
  onType: (text: string) => void;
  onAdd: (addrs: string[], periodS: number) => void;
}) {
  const [period, setPeriod] = useState<number | null>(null);
  const chosen = period ?? props.defaultPeriod;
  const list = props.typed.split(/[\s,]+/).filter((a) => a !== "");

  const submit = (e: Event) => {
    e.preventDefault();
    if (list.length === 0) return;
    props.onAdd(list, chosen);
  };

  return (
    <form class="form-row" onSubmit={submit}>
      <div class="field field-grow">
        <label for="source-addrs">Source addresses</label>
        <input
          id="source-addrs"
          type="text"
          autocomplete="off"
          spellcheck={false}
          value={props.typed}
          aria-describedby="source-addrs-help"
          onInput={(e) => props.onType(e.currentTarget.value)}
        />
        <span id="source-addrs-help" class="help">
          IP addresses or host names, separated by spaces or commas
        </span>
      </div>
      <div class="field">
        <label for="source-period">Sync period (s)</label>
        <select
          id="source-period"
          value={String(chosen)}
          onChange={(e) => setPeriod(Number(e.currentTarget.value))}
        >
          {PERIODS_S.map((p) => (
            <option key={p} value={String(p)}>
              {p}
            </option>
          ))}
        </select>
        <span class="help">Poll interval of every node</span>
      </div>
      <div class="field field-button">
        <button
          type="submit"
          class="btn btn-primary"
          disabled={props.busy || list.length === 0}
        >
          Add sources
        </button>
      </div>
    </form>
  );
}
