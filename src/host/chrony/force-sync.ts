/**
 * Forcing a sync (F19, F20): fresh samples first (`chronyc burst`), then
 * `chronyc makestep`, which steps at once whatever makestep limit the config
 * sets, then fresh samples again to check the result. Offsets are in
 * chrony's sign, system clock minus reference: a source 5 s ahead gives -5
 * (see systemClockOffset for why tracking's system time is taken off).
 */
import type { ChronySource, ForceSyncResult } from "../../agent/types.ts";
import { type Chronyc, ChronycError } from "./chronyc.ts";
import { describeSources, systemClockOffset } from "./status.ts";

export interface ForceSyncOptions {
  chronyc: Chronyc;
  /** Largest |offset| after the step that counts as synchronised, s. */
  thresholdS: number;
  /** True when this agent started chronyd with -x. */
  startedWithoutClockControl: boolean;
  /** How long to wait for a fresh sample from a selected source. */
  waitMs?: number;
  pollMs?: number;
}

export type ForceSyncOutcome = Omit<ForceSyncResult, "addr">;

interface Measurement {
  offset_s: number;
  reference: string;
}

export async function forceSync(
  opts: ForceSyncOptions,
): Promise<ForceSyncOutcome> {
  const before = await measure(opts);
  if (typeof before === "string") return failed(null, null, null, before);
  const { reference } = before;

  const stepError = await step(opts);
  if (stepError !== null) {
    return failed(before.offset_s, null, reference, stepError);
  }

  const after = await measure(opts);
  if (typeof after === "string") {
    const why = `clock stepped, but no fresh sample afterwards: ${after}`;
    return failed(before.offset_s, null, reference, why);
  }
  if (Math.abs(after.offset_s) > opts.thresholdS) {
    const why =
      `still off by ${after.offset_s.toFixed(6)} s from ` +
      `${after.reference}: the threshold is ${opts.thresholdS} s`;
    return failed(before.offset_s, after.offset_s, after.reference, why);
  }
  return {
    ok: true,
    offset_before_s: before.offset_s,
    offset_after_s: after.offset_s,
    reference: after.reference,
    error: null,
  };
}

/** Bursts, then waits for a sample newer than the burst from the selected
 * source. Returns the measurement or why there is none. */
async function measure(opts: ForceSyncOptions): Promise<Measurement | string> {
  const burstAt = Date.now();
  try {
    await opts.chronyc.burst(4, 8);
  } catch (err) {
    if (err instanceof ChronycError && err.reply.startsWith("503 ")) {
      return "no usable source: no sources configured";
    }
    return `chronyc burst failed: ${(err as Error).message}`;
  }
  const deadline = burstAt + (opts.waitMs ?? 12_000);
  let sources: ChronySource[] = [];
  while (Date.now() < deadline) {
    await sleep(opts.pollMs ?? 250);
    try {
      const askedAt = Date.now();
      sources = await opts.chronyc.sources();
      const fresh = freshSelected(sources, (askedAt - burstAt) / 1000);
      if (fresh?.offset_s != null) {
        const tracking = await opts.chronyc.tracking();
        const offset_s = systemClockOffset(fresh.offset_s, tracking);
        return { offset_s, reference: fresh.addr };
      }
    } catch (err) {
      return `chronyd did not answer: ${(err as Error).message}`;
    }
  }
  return `no usable source: ${describeSources(sources)}`;
}

/**
 * chronyc gives the sample age in whole seconds, so a sample counts as
 * newer than the burst only when even its oldest possible time is.
 */
function freshSelected(
  sources: ChronySource[],
  sinceBurstS: number,
): ChronySource | undefined {
  return sources.find(
    (s) =>
      s.state === "selected" &&
      s.last_rx_s !== null &&
      s.last_rx_s + 1 <= sinceBurstS,
  );
}

async function step(opts: ForceSyncOptions): Promise<string | null> {
  try {
    await opts.chronyc.makestep();
    return null;
  } catch (err) {
    if (!(err instanceof ChronycError) || err.kind !== "refused") {
      return `chronyc makestep failed: ${(err as Error).message}`;
    }
    const cause = opts.startedWithoutClockControl
      ? "chronyd runs without clock control (-x), as this agent started it"
      : "chronyd has no clock control (started with -x or without the " +
        "CAP_SYS_TIME capability)";
    return `chronyc makestep answered "${err.reply}": ${cause}`;
  }
}

function failed(
  before: number | null,
  after: number | null,
  reference: string | null,
  error: string,
): ForceSyncOutcome {
  return {
    ok: false,
    offset_before_s: before,
    offset_after_s: after,
    reference,
    error,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
