/** Semantic checks of write requests that a JSON schema cannot express. */
import { invalid } from "../errors.ts";

/** Smallest and largest sync_period, in seconds (poll 4 to 17). */
export const MIN_SYNC_PERIOD_S = 16;
export const MAX_SYNC_PERIOD_S = 131072;

/**
 * sync_period in seconds to chrony's poll as log2: 64 s is poll 6. Only
 * powers of two are exact in chrony's minpoll/maxpoll.
 */
export function pollLog2FromPeriod(value: unknown): number {
  const why = `must be a power of two from ${MIN_SYNC_PERIOD_S} to ${MAX_SYNC_PERIOD_S} seconds`;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw invalid("sync_period", value, why);
  }
  const log2 = Math.log2(value);
  if (
    value < MIN_SYNC_PERIOD_S ||
    value > MAX_SYNC_PERIOD_S ||
    !Number.isInteger(log2)
  ) {
    throw invalid("sync_period", value, why);
  }
  return log2;
}
