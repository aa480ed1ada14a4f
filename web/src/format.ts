/** Numbers and times as the console shows them; units go in the headers. */

export const DASH = "\u2014";

/** A signed number of milliseconds, such as "+5001.2", or a dash. */
export function signedMs(ms: number | null | undefined, digits = 1): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  const text = ms.toFixed(digits);
  return ms > 0 && Number(text) !== 0 ? `+${text}` : text;
}

export function plainMs(ms: number | null | undefined, digits = 1): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  return ms.toFixed(digits);
}

/** Seconds as milliseconds, signed. */
export function secondsAsMs(s: number | null | undefined): string {
  return s === null || s === undefined ? DASH : signedMs(s * 1000, 3);
}

export function orDash(value: string | number | null | undefined): string {
  return value === null || value === undefined || value === ""
    ? DASH
    : String(value);
}

/** "Argentina/Buenos_Aires" as "Argentina / Buenos Aires". */
export function zoneLabel(name: string): string {
  return name.replaceAll("_", " ").replaceAll("/", " / ");
}

export interface ClockParts {
  date: string;
  time: string;
  /** Such as "UTC-03:00". */
  utcOffset: string;
}

const ISO =
  /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The node's wall clock at `ms`, in its zone, from the ICU rules. */
export function clockParts(ms: number, zone: string): ClockParts | null {
  try {
    const parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
      timeZoneName: "longOffset",
    }).formatToParts(new Date(ms));
    const get = (type: string) => parts.find((p) => p.type === type)?.value;
    const offset = get("timeZoneName") ?? "";
    return {
      date: `${get("year")}-${get("month")}-${get("day")}`,
      time: `${get("hour")}:${get("minute")}:${get("second")}`,
      utcOffset: offset === "GMT" ? "UTC+00:00" : offset.replace("GMT", "UTC"),
    };
  } catch {
    return null;
  }
}

/** The parts of an RFC 3339 time, for a zone the browser does not know. */
export function isoParts(iso: string): ClockParts | null {
  const m = ISO.exec(iso);
  if (!m) return null;
  const offset = m[3] === "Z" ? "+00:00" : (m[3] ?? "");
  return { date: m[1] ?? "", time: m[2] ?? "", utcOffset: `UTC${offset}` };
}
