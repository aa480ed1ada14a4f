/**
 * Validation and normalisation of NTP source addresses. An address is an
 * IPv4 literal, an IPv6 literal (returned in RFC 5952 canonical form) or an
 * RFC 1123 host name (returned lower-case, without a trailing dot). Nothing
 * else passes: no whitespace, no control characters, no brackets, no IPv6
 * zone ids, no options. Whatever leaves here is safe to write into a chrony
 * `server` line as one word, and two spellings of one source compare equal.
 */
import { invalid } from "../errors.ts";

const WHAT =
  "an address is an IPv4 address, an IPv6 address or an RFC 1123 host name";

const MAX_HOST_NAME_CHARS = 253;
const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-f]{1,4}$/;
const SPACE_OR_CONTROL = /[\s\p{Cc}\p{Cf}]/u;

/** Returns the canonical form of one address, or throws INVALID_FIELD. */
export function normaliseAddress(raw: unknown, field = "addrs"): string {
  if (typeof raw !== "string") {
    throw invalid(field, raw, `must be a string: ${WHAT}`);
  }
  const why = refusal(raw);
  if (why !== null) {
    throw invalid(field, raw, `${why}; ${WHAT}`);
  }
  if (raw.includes(":")) {
    return unicast(unmapIpv4(normaliseIpv6(raw, field)), raw, field);
  }
  if (/^[0-9.]+$/.test(raw)) {
    return unicast(normaliseIpv4(raw, field), raw, field);
  }
  return normaliseHostName(raw, field);
}

/**
 * An NTP server, or a node, has a unicast address: not 0.0.0.0/8, not
 * multicast (224/4, ff00::/8), not 240/4 with the broadcast address, not ::.
 */
function unicast(addr: string, raw: string, field: string): string {
  const first = addr.includes(":") ? null : Number(addr.split(".")[0]);
  const special =
    first === null
      ? addr === "::" || addr.startsWith("ff")
      : first === 0 || first >= 224;
  if (special) {
    throw invalid(
      field,
      raw,
      "not a unicast address: broadcast, multicast and unspecified " +
        "addresses cannot be servers or nodes",
    );
  }
  return addr;
}

/**
 * An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is the IPv4 address: one
 * server, one source line, and the form chronyd can reach.
 */
function unmapIpv4(ipv6: string): string {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ipv6);
  if (dotted?.[1]) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ipv6);
  if (!hex?.[1] || !hex[2]) return ipv6;
  const hi = Number.parseInt(hex[1], 16);
  const lo = Number.parseInt(hex[2], 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
}

/**
 * Validates a list of addresses: an array of strings, normalised, duplicates
 * after normalisation dropped (first seen kept), from 1 to `max` entries.
 */
export function normaliseAddressList(
  raw: unknown,
  field = "addrs",
  max = 32,
): string[] {
  if (typeof raw === "string") {
    throw invalid(field, raw, "must be a list of addresses, not a string");
  }
  if (!Array.isArray(raw)) {
    throw invalid(field, raw, "must be a list of addresses");
  }
  const seen = new Set<string>();
  for (const entry of raw) {
    seen.add(normaliseEntry(entry, field));
  }
  if (seen.size === 0) {
    throw invalid(field, raw, "must hold at least one address");
  }
  if (seen.size > max) {
    throw invalid(
      field,
      raw,
      `must hold at most ${max} addresses, not ${seen.size}`,
    );
  }
  return [...seen];
}

function normaliseEntry(entry: unknown, field: string): string {
  if (Array.isArray(entry)) {
    throw invalid(field, entry, `each entry must be a string, not a list`);
  }
  return normaliseAddress(entry, field);
}

/** Says why a string cannot be an address at all, or null. */
function refusal(raw: string): string | null {
  if (raw.length === 0) {
    return "must not be empty";
  }
  if (SPACE_OR_CONTROL.test(raw)) {
    return "must not contain whitespace or control characters";
  }
  if (raw.includes("%")) {
    return "must not carry an IPv6 zone id";
  }
  if (raw.includes("[") || raw.includes("]")) {
    return "must not be in brackets";
  }
  return null;
}

function normaliseIpv4(raw: string, field: string): string {
  if (parseIpv4(raw) === null) {
    throw invalid(
      field,
      raw,
      "not an IPv4 address: four numbers from 0 to 255 without leading " +
        `zeros; ${WHAT}`,
    );
  }
  return raw;
}

/** The four bytes of a dotted quad, or null. */
function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => IPV4_PART.test(p))) {
    return null;
  }
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

function normaliseIpv6(raw: string, field: string): string {
  const groups = parseIpv6(raw.toLowerCase());
  if (groups === null) {
    throw invalid(field, raw, `not a valid IPv6 address; ${WHAT}`);
  }
  return formatIpv6(groups);
}

/** The eight 16-bit groups of an IPv6 literal, or null. */
function parseIpv6(text: string): number[] | null {
  const halves = text.split("::");
  if (halves.length > 2) {
    return null;
  }
  const head = parseGroups(halves[0] ?? "", halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? "", true) : [];
  if (head === null || tail === null) {
    return null;
  }
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) {
    return null;
  }
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** Groups of one side of "::"; an IPv4 tail is allowed at the very end. */
function parseGroups(text: string, mayEndInIpv4: boolean): number[] | null {
  if (text === "") {
    return [];
  }
  const parts = text.split(":");
  const groups: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (mayEndInIpv4 && i === parts.length - 1 && part.includes(".")) {
      const bytes = parseIpv4(part);
      if (bytes === null) {
        return null;
      }
      groups.push(bytesToGroup(bytes[0], bytes[1]));
      groups.push(bytesToGroup(bytes[2], bytes[3]));
    } else if (IPV6_GROUP.test(part)) {
      groups.push(Number.parseInt(part, 16));
    } else {
      return null;
    }
  }
  return groups;
}

function bytesToGroup(high = 0, low = 0): number {
  return (high << 8) | low;
}

/**
 * RFC 5952: lower-case hex without leading zeros, the longest run of two or
 * more zero groups (the first one on a tie) as "::", and IPv4-mapped
 * addresses (::ffff:0:0/96) with a dotted-quad tail.
 */
function formatIpv6(groups: number[]): string {
  if (isIpv4Mapped(groups)) {
    const a = groups[6] ?? 0;
    const b = groups[7] ?? 0;
    return `::ffff:${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  const [start, length] = longestZeroRun(groups);
  const hex = groups.map((g) => g.toString(16));
  if (length < 2) {
    return hex.join(":");
  }
  const head = hex.slice(0, start).join(":");
  const tail = hex.slice(start + length).join(":");
  return `${head}::${tail}`;
}

function isIpv4Mapped(groups: number[]): boolean {
  return groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
}

/** Start and length of the first longest run of zero groups. */
function longestZeroRun(groups: number[]): [number, number] {
  let best: [number, number] = [-1, 0];
  let start = -1;
  for (let i = 0; i <= groups.length; i++) {
    if (i < groups.length && groups[i] === 0) {
      start = start < 0 ? i : start;
    } else if (start >= 0) {
      best = i - start > best[1] ? [start, i - start] : best;
      start = -1;
    }
  }
  return best;
}

function normaliseHostName(raw: string, field: string): string {
  const name = (raw.endsWith(".") ? raw.slice(0, -1) : raw).toLowerCase();
  const why = hostNameRefusal(name);
  if (why !== null) {
    throw invalid(field, raw, `${why}; ${WHAT}`);
  }
  return name;
}

function hostNameRefusal(name: string): string | null {
  if (name.length === 0 || name.length > MAX_HOST_NAME_CHARS) {
    return `a host name has 1 to ${MAX_HOST_NAME_CHARS} characters`;
  }
  const labels = name.split(".");
  if (!labels.every((label) => HOST_LABEL.test(label))) {
    return (
      "not a host name: labels of 1 to 63 letters, digits or hyphens, " +
      "not starting or ending with a hyphen"
    );
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? "")) {
    return "not a host name: the last label is all digits";
  }
  return null;
}
