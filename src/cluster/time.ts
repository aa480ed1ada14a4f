/** RFC 3339 times in a node's own time zone. */

/** Formats unix milliseconds as RFC 3339 with the zone's UTC offset. */
export function isoInZone(ms: number, timezone: string | null): string {
  const offsetMin = timezone ? zoneOffsetMinutes(ms, timezone) : 0;
  if (offsetMin === null) return new Date(ms).toISOString();

  const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 23);
  if (offsetMin === 0) return `${local}Z`;
  const sign = offsetMin < 0 ? "-" : "+";
  const abs = Math.abs(offsetMin);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${local}${sign}${hh}:${mm}`;
}

/**
 * The zone's offset from UTC at that instant, in minutes, from the ICU time
 * zone data Node.js ships; null when Node does not know the zone.
 */
export function zoneOffsetMinutes(ms: number, timezone: string): number | null {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    }).formatToParts(new Date(ms));
  } catch {
    return null;
  }
  const get = (type: string) =>
    Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
}
