/**
 * The NTP packet (RFC 5905, section 7.3) as an SNTP client needs it: encode a
 * client-mode request, decode a server reply, and convert between NTP
 * timestamps (seconds since 1900 in 32.32 fixed point, one era being 2^32 s)
 * and unix milliseconds.
 */
import { randomInt } from "node:crypto";

export const NTP_PORT = 123;
/** Size of an NTP header without extension fields or MAC. */
export const NTP_HEADER_BYTES = 48;
/** Seconds from 1900-01-01 (NTP epoch) to 1970-01-01 (unix epoch). */
export const NTP_TO_UNIX_S = 2_208_988_800;
export const MODE_CLIENT = 3;
export const MODE_SERVER = 4;
export const LEAP_UNSYNCHRONISED = 3;
/** Stratum 16 means unsynchronised (RFC 5905, figure 11). */
export const STRATUM_UNSYNCHRONISED = 16;

/**
 * Low-order fraction bits of our transmit timestamp that are random (2^-16 s,
 * about 15 us), so that a reply's origin timestamp is hard to guess. The
 * offset is computed from the exact local send time, not from these bits.
 */
const RANDOM_FRACTION_BITS = 16;
const ERA_S = 2 ** 32;
const FRACTION_SCALE = 2 ** 32;
const SHORT_SCALE = 2 ** 16;

/** An NTP timestamp: seconds within the era and a 32-bit binary fraction. */
export interface NtpTimestamp {
  seconds: number;
  fraction: number;
}

export interface NtpReply {
  /** Leap indicator: 0 none, 1 and 2 leap second pending, 3 unsynchronised. */
  leap: number;
  version: number;
  mode: number;
  /** 0 is unspecified (a Kiss-o'-Death carries a code in refid). */
  stratum: number;
  poll_log2: number;
  precision_log2: number;
  root_delay_s: number;
  root_dispersion_s: number;
  /** The reference id as the 32-bit number on the wire. */
  refid_raw: number;
  reference: NtpTimestamp;
  /** Our transmit timestamp echoed back by the server. */
  origin: NtpTimestamp;
  receive: NtpTimestamp;
  transmit: NtpTimestamp;
}

export interface NtpRequest {
  packet: Buffer;
  /** The transmit timestamp written in the packet, random bits included. */
  transmit: NtpTimestamp;
}

/** High-resolution wall clock: unix milliseconds with a sub-ms fraction. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Converts unix milliseconds to an NTP timestamp, the seconds taken modulo
 * the era. `randomBits` low-order fraction bits are replaced by random ones.
 */
export function unixMsToNtp(unixMs: number, randomBits = 0): NtpTimestamp {
  const unixS = Math.floor(unixMs / 1000);
  const seconds = (((unixS + NTP_TO_UNIX_S) % ERA_S) + ERA_S) % ERA_S;
  let fraction = Math.floor(((unixMs - unixS * 1000) / 1000) * FRACTION_SCALE);
  if (randomBits > 0) {
    const span = 2 ** randomBits;
    fraction = fraction - (fraction % span) + randomInt(span);
  }
  return { seconds, fraction };
}

/**
 * Converts an NTP timestamp to unix milliseconds, choosing the era that puts
 * it nearest to `nearMs` (the local clock), so that it stays right across
 * the 2036 era rollover for sources within 68 years of us.
 */
export function ntpToUnixMs(ts: NtpTimestamp, nearMs: number): number {
  const nearEraS = nearMs / 1000 + NTP_TO_UNIX_S;
  const era = Math.round((nearEraS - ts.seconds) / ERA_S);
  const unixS = era * ERA_S + ts.seconds - NTP_TO_UNIX_S;
  return unixS * 1000 + (ts.fraction / FRACTION_SCALE) * 1000;
}

export function sameTimestamp(a: NtpTimestamp, b: NtpTimestamp): boolean {
  return a.seconds === b.seconds && a.fraction === b.fraction;
}

export function isZeroTimestamp(ts: NtpTimestamp): boolean {
  return ts.seconds === 0 && ts.fraction === 0;
}

/** A client request: LI 0, version 4, mode 3, our transmit timestamp. */
export function encodeRequest(nowMs = wallClockMs()): NtpRequest {
  const packet = Buffer.alloc(NTP_HEADER_BYTES);
  packet.writeUInt8((0 << 6) | (4 << 3) | MODE_CLIENT, 0);
  const transmit = unixMsToNtp(nowMs, RANDOM_FRACTION_BITS);
  writeTimestamp(packet, 40, transmit);
  return { packet, transmit };
}

/** Decodes a reply; null when it is shorter than an NTP header. */
export function decodeReply(buf: Buffer): NtpReply | null {
  if (buf.length < NTP_HEADER_BYTES) {
    return null;
  }
  const first = buf.readUInt8(0);
  return {
    leap: first >> 6,
    version: (first >> 3) & 7,
    mode: first & 7,
    stratum: buf.readUInt8(1),
    poll_log2: buf.readInt8(2),
    precision_log2: buf.readInt8(3),
    root_delay_s: buf.readUInt32BE(4) / SHORT_SCALE,
    root_dispersion_s: buf.readUInt32BE(8) / SHORT_SCALE,
    refid_raw: buf.readUInt32BE(12),
    reference: readTimestamp(buf, 16),
    origin: readTimestamp(buf, 24),
    receive: readTimestamp(buf, 32),
    transmit: readTimestamp(buf, 40),
  };
}

export function writeTimestamp(
  buf: Buffer,
  offset: number,
  ts: NtpTimestamp,
): void {
  buf.writeUInt32BE(ts.seconds, offset);
  buf.writeUInt32BE(ts.fraction, offset + 4);
}

function readTimestamp(buf: Buffer, offset: number): NtpTimestamp {
  return {
    seconds: buf.readUInt32BE(offset),
    fraction: buf.readUInt32BE(offset + 4),
  };
}

/**
 * The four ASCII characters of a refid with trailing NULs removed, or null
 * when they are not all printable: a kiss code or a stratum-1 source name.
 */
export function refidAscii(raw: number): string | null {
  const bytes = [24, 16, 8, 0].map((shift) => (raw >>> shift) & 255);
  const text = String.fromCharCode(...bytes).replace(/\0+$/, "");
  return /^[\x20-\x7e]+$/.test(text) ? text : null;
}

/**
 * The refid as chrony prints it: for stratum 0 and 1 the ASCII code (hex
 * when not printable), above that an IPv4 address (or the hash of an IPv6
 * address, which reads as one).
 */
export function refidText(raw: number, stratum: number): string {
  if (stratum <= 1) {
    return refidAscii(raw) ?? raw.toString(16).toUpperCase().padStart(8, "0");
  }
  return [24, 16, 8, 0].map((shift) => (raw >>> shift) & 255).join(".");
}
