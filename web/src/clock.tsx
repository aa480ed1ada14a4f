/**
 * The current time card: a node's clock (system/current/time), read again
 * every few seconds and advanced between reads by the browser's monotonic
 * clock, shown in the node's time zone.
 */
import { useEffect, useState } from "preact/hooks";
import { read } from "./api.ts";
import { Card, Empty, ErrorBox } from "./components.tsx";
import { type ClockParts, clockParts, isoParts } from "./format.ts";
import type { CardProps } from "./sources.tsx";
import type { CurrentTime } from "./types.ts";
import { useLoader } from "./use-loader.ts";

/** How often the node's clock is read again. */
const READ_EVERY_MS = 5_000;

interface Reading extends CurrentTime {
  /** performance.now() when the reply came. */
  received_ms: number;
}

export function ClockCard(props: CardProps) {
  const { uuid } = props;
  const clock = useLoader(
    uuid,
    async (): Promise<Reading> => {
      const t = await read<CurrentTime>("/v1/ntp/system/current/time", {
        cluster_uuid: uuid,
      });
      return { ...t, received_ms: performance.now() };
    },
    { everyMs: READ_EVERY_MS, rev: props.rev },
  );
  const now = useTick(1_000);
  const r = clock.data;

  return (
    <Card id="clock" title="Current time">
      <ErrorBox error={clock.error} what="Could not read the clock" />
      {r === null ? (
        !clock.error && <Empty>Reading the clock...</Empty>
      ) : (
        <ClockFace reading={r} nowPerf={now} />
      )}
    </Card>
  );
}

function ClockFace(props: { reading: Reading; nowPerf: number }) {
  const r = props.reading;
  const elapsed = Math.max(0, props.nowPerf - r.received_ms);
  const ms = r.time_ms + elapsed;
  const parts: ClockParts | null =
    clockParts(ms, r.timezone) ?? isoParts(r.iso);
  return (
    <div class="clock">
      <div class="clock-time" aria-live="off" data-testid="clock-time">
        {parts?.time ?? r.iso}
      </div>
      <dl class="facts">
        <dt>Date</dt>
        <dd>{parts?.date ?? r.iso}</dd>
        <dt>Time zone</dt>
        <dd class="mono">{r.timezone}</dd>
        <dt>UTC offset</dt>
        <dd>{parts?.utcOffset ?? ""}</dd>
        <dt>Unix time (s)</dt>
        <dd class="mono">{Math.floor(ms / 1000)}</dd>
        <dt>Last read (RFC 3339)</dt>
        <dd class="mono">{r.iso}</dd>
      </dl>
      <p class="note">Read from the node every {READ_EVERY_MS / 1000} s.</p>
    </div>
  );
}

/** performance.now(), updated every `everyMs`. */
function useTick(everyMs: number): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(performance.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
}
