/**
 * Small pieces shared by the cards: the card frame, badges, the error box
 * that shows an envelope's message and scode, and the outcome of a write
 * with one row per node, where a failed node always reads as failed.
 */
import type { ComponentChildren } from "preact";
import { type ApiError, envelopeError, type Reply } from "./api.ts";
import { DASH, orDash } from "./format.ts";
import type { NodeStatus, WriteData } from "./types.ts";

export type Tone = "ok" | "warn" | "bad" | "muted" | "info";

export function Badge(props: { tone: Tone; children: ComponentChildren }) {
  return <span class={`badge badge-${props.tone}`}>{props.children}</span>;
}

export function Card(props: {
  id: string;
  title: string;
  actions?: ComponentChildren;
  wide?: boolean;
  children: ComponentChildren;
}) {
  const heading = `${props.id}-title`;
  return (
    <section
      class={props.wide ? "card card-wide" : "card"}
      aria-labelledby={heading}
    >
      <header class="card-head">
        <h2 id={heading}>{props.title}</h2>
        {props.actions && <div class="card-actions">{props.actions}</div>}
      </header>
      <div class="card-body">{props.children}</div>
    </section>
  );
}

/** scode, error name and HTTP status, as one line. */
export function codeLine(e: {
  scode: number | null;
  desc: string;
  http: number | null;
}): string {
  const parts = [
    e.scode === null ? null : `scode ${e.scode}`,
    e.desc === "" ? null : e.desc,
    e.http === null ? null : `HTTP ${e.http}`,
  ];
  return parts.filter((p) => p !== null).join(" \u00b7 ");
}

export function ErrorBox(props: { error: ApiError | null; what?: string }) {
  const { error } = props;
  if (error === null) return null;
  const code = codeLine(error);
  return (
    <div class="alert alert-bad" role="alert">
      <strong>{props.what ? `${props.what}: ` : ""}</strong>
      <span class="alert-message">{error.message}</span>
      {code !== "" && <div class="alert-code">{code}</div>}
    </div>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}

export function Banner(props: {
  tone: "ok" | "warn" | "bad";
  message: string;
  code?: string;
}) {
  return (
    <div
      class={`alert alert-${props.tone}`}
      role={props.tone === "ok" ? "status" : "alert"}
    >
      <span class="alert-message">{props.message}</span>
      {props.code && <div class="alert-code">{props.code}</div>}
    </div>
  );
}

/** The envelope of a write as a banner: success, partial or total failure. */
export function ReplyBanner(props: { reply: Reply<unknown>; okText: string }) {
  const { envelope, http } = props.reply;
  if (envelope.scode === 0) return <Banner tone="ok" message={props.okText} />;
  const code = codeLine({ scode: envelope.scode, desc: envelope.desc, http });
  const partial = envelope.scode === 2001 || envelope.scode === 2003;
  return (
    <Banner
      tone={partial ? "warn" : "bad"}
      message={envelope.message}
      code={code}
    />
  );
}

/** A node's error in red, or a quiet dash when there is none. */
export function ErrorCell(props: { error: string | null | undefined }) {
  const { error } = props;
  if (error === null || error === undefined || error === "") {
    return <td class="muted">{DASH}</td>;
  }
  return <td class="error-text">{error}</td>;
}

export function ResultBadge(props: { ok: boolean }) {
  return props.ok ? (
    <Badge tone="ok">OK</Badge>
  ) : (
    <Badge tone="bad">Failed</Badge>
  );
}

/** A write's status[]: one row per node, failures first to the eye. */
export function NodeStatusTable(props: {
  status: NodeStatus[];
  label: string;
}) {
  // Only a column of "no" otherwise: shown when some node rolled back.
  const rollbacks = props.status.some((s) => s.rolled_back);
  return (
    <table class="table" aria-label={props.label}>
      <thead>
        <tr>
          <th scope="col">Node</th>
          <th scope="col">Result</th>
          <th scope="col">chronyd</th>
          <th scope="col" class="num">
            Applied version
          </th>
          {rollbacks && <th scope="col">Rolled back</th>}
          <th scope="col">Error</th>
        </tr>
      </thead>
      <tbody>
        {props.status.map((s) => (
          <tr key={s.addr} class={s.error === null ? "" : "row-bad"}>
            <th scope="row">{s.addr}</th>
            <td>
              <ResultBadge ok={s.error === null} />
            </td>
            <td class="nowrap">{`${orDash(s.loaded)} / ${orDash(s.status)}`}</td>
            <td class="num">{orDash(s.applied_version)}</td>
            {rollbacks && <td>{s.rolled_back ? "yes" : "no"}</td>}
            <ErrorCell error={s.error} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** What a write gave: the banner, then each node's outcome. */
export function WriteOutcome(props: {
  reply: Reply<WriteData> | null;
  error: ApiError | null;
  okText: string;
  label: string;
}) {
  const { reply, error } = props;
  if (error !== null) return <ErrorBox error={error} />;
  if (reply === null) return null;
  const status = reply.envelope.data?.status;
  if (reply.envelope.scode !== 0 && !Array.isArray(status)) {
    return <ErrorBox error={envelopeError(reply)} />;
  }
  return (
    <div class="outcome">
      <ReplyBanner reply={reply} okText={props.okText} />
      {Array.isArray(status) && status.length > 0 && (
        <NodeStatusTable status={status} label={props.label} />
      )}
    </div>
  );
}
