/**
 * The force sync card: fresh measurements, then a step of every node's
 * clock (force/time/sync), with each node's result: the offset before and
 * after, the reference, and why it failed. A chronyd without clock control
 * (-x) cannot step, and its node is shown failed with chrony's reason.
 */
import { useState } from "preact/hooks";
import {
  type ApiError,
  envelopeError,
  type Reply,
  toApiError,
  write,
} from "./api.ts";
import {
  Card,
  ErrorBox,
  ErrorCell,
  ReplyBanner,
  ResultBadge,
} from "./components.tsx";
import { orDash, secondsAsMs } from "./format.ts";
import type { CardProps } from "./sources.tsx";
import type { SyncData, SyncNode } from "./types.ts";

interface Outcome {
  reply: Reply<SyncData> | null;
  error: ApiError | null;
}

export function SyncCard(props: CardProps) {
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);

  const sync = async () => {
    setConfirming(false);
    setBusy(true);
    setOutcome(null);
    try {
      const reply = await write<SyncData>("/v1/ntp/force/time/sync", {
        cluster_uuid: props.uuid,
      });
      setOutcome({ reply, error: null });
    } catch (err) {
      setOutcome({ reply: null, error: toApiError(err) });
    }
    setBusy(false);
    props.onChanged();
  };

  return (
    <Card id="sync" title="Force sync" wide>
      <div class="form-row">
        <p class="lead">
          Takes fresh samples from the sources, then steps the clock of every
          node at once. It can take up to a minute.
        </p>
        {confirming ? (
          <span class="confirm">
            <button
              type="button"
              class="btn btn-danger"
              aria-label="Confirm force sync of every node"
              onClick={() => void sync()}
            >
              Step every clock
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
            class="btn btn-primary"
            disabled={busy}
            aria-busy={busy}
            onClick={() => setConfirming(true)}
          >
            {busy ? "Syncing..." : "Force sync"}
          </button>
        )}
      </div>
      {outcome && <SyncOutcome outcome={outcome} />}
    </Card>
  );
}

function SyncOutcome(props: { outcome: Outcome }) {
  const { reply, error } = props.outcome;
  if (error !== null) return <ErrorBox error={error} />;
  if (reply === null) return null;
  const nodes = reply.envelope.data?.nodes;
  if (!Array.isArray(nodes)) {
    return <ErrorBox error={envelopeError(reply)} />;
  }
  const okText = `Clock stepped on all ${nodes.length} nodes`;
  return (
    <div class="outcome">
      <ReplyBanner reply={reply} okText={okText} />
      <SyncTable nodes={nodes} />
      <p class="note">Offsets: the node's clock minus the reference.</p>
    </div>
  );
}

function SyncTable(props: { nodes: SyncNode[] }) {
  return (
    <table class="table" aria-label="Force sync per node">
      <thead>
        <tr>
          <th scope="col">Node</th>
          <th scope="col">Result</th>
          <th scope="col" class="num">
            Offset before (ms)
          </th>
          <th scope="col" class="num">
            Offset after (ms)
          </th>
          <th scope="col">Reference</th>
          <th scope="col">Error</th>
        </tr>
      </thead>
      <tbody>
        {props.nodes.map((n) => (
          <tr key={n.addr} class={n.ok ? "" : "row-bad"}>
            <th scope="row" class="mono">
              {n.addr}
            </th>
            <td>
              <ResultBadge ok={n.ok && n.error === null} />
            </td>
            <td class="num">{secondsAsMs(n.offset_before_s)}</td>
            <td class="num">{secondsAsMs(n.offset_after_s)}</td>
            <td class="mono">{orDash(n.reference)}</td>
            <ErrorCell error={n.error} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}
