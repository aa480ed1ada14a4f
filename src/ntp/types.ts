/** Results of an SNTP probe of one source (RFC 5905 client mode). */

export type ProbeReason =
  | "ok"
  | "timeout"
  | "unreachable"
  | "dns_failed"
  | "kiss_of_death"
  | "unsynchronised"
  | "bad_reply"
  | "backoff";

export interface ProbeResult {
  /** The source as asked for: an address or a host name. */
  addr: string;
  /** True only for a usable reply: mode 4, origin matched, stratum 1-15, LI != 3. */
  usable: boolean;
  reason: ProbeReason;
  /** Human detail, such as "stratum 16" or "kiss code RATE". */
  detail: string | null;
  stratum: number | null;
  leap: number | null;
  /** Kiss-o'-Death code (RATE, DENY, RSTR, ...) when one was received. */
  kiss_code: string | null;
  /** Source clock minus local clock, in milliseconds. */
  offset_ms: number | null;
  /** Round-trip delay, in milliseconds. */
  delay_ms: number | null;
  /** Reference id as chrony prints it: an IPv4 address or ASCII code. */
  refid: string | null;
  /** When the probe was made (or the cached one), unix milliseconds. */
  probed_at_ms: number;
  /** True when this result came from the cache or back-off. */
  cached: boolean;
}
