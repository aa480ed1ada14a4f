/**
 * One SNTP query (RFC 5905 client mode, RFC 4330 checks): resolve the
 * source, send one request over a connected UDP socket, wait for the reply
 * that echoes our transmit timestamp, and judge it. A reply that is not an
 * answer to our request (wrong origin timestamp, too short, from elsewhere)
 * is ignored and the wait goes on; an answer that is one but cannot be used
 * (wrong mode or version, Kiss-o'-Death, unsynchronised) ends the probe with
 * its reason. The socket is always closed. Host name lookup and the wait for
 * the reply each take at most `timeoutMs`, so a probe of a host name may
 * take up to twice that.
 */
import dgram from "node:dgram";
import dns from "node:dns";
import net from "node:net";
import { invalid } from "../errors.ts";
import {
  decodeReply,
  encodeRequest,
  isZeroTimestamp,
  LEAP_UNSYNCHRONISED,
  MODE_SERVER,
  NTP_PORT,
  type NtpReply,
  type NtpTimestamp,
  ntpToUnixMs,
  refidAscii,
  refidText,
  sameTimestamp,
  wallClockMs,
} from "./packet.ts";
import type { ProbeReason, ProbeResult } from "./types.ts";

export const DEFAULT_TIMEOUT_MS = 1000;

/** Kiss codes that say the server is not synchronised, not "go away". */
const UNSYNCHRONISED_KISS_CODES = new Set(["INIT", "STEP"]);
const LEAP_DETAIL = "leap indicator 3 (clock not synchronised)";

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to its first address, as dns.lookup does. */
export type Lookup = (host: string) => Promise<ResolvedAddress>;

export interface ProbeOptions {
  /** UDP port of the source, 123 by default. */
  port?: number;
  /** How long to wait for the reply, in milliseconds (default 1000). */
  timeoutMs?: number;
  /** Host name resolver; dns.lookup by default. */
  lookup?: Lookup;
}

/** What one exchange knows when a datagram arrives. */
interface Exchange {
  addr: string;
  address: string;
  port: number;
  transmit: NtpTimestamp;
  sentMs: number;
  ignored: Set<string>;
}

/** Sends one query to `addr` and says whether its reply is usable. */
export async function probeOnce(
  addr: string,
  opts: ProbeOptions = {},
): Promise<ProbeResult> {
  const port = checkPort(opts.port ?? NTP_PORT);
  const timeoutMs = checkTimeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const startedMs = Date.now();

  let target: ResolvedAddress;
  try {
    target = await resolve(addr, opts.lookup ?? dnsLookup, timeoutMs);
  } catch (err) {
    return failure(addr, "dns_failed", lookupDetail(err), startedMs);
  }
  return exchange(addr, target, port, timeoutMs);
}

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid("port", port, "must be an integer from 1 to 65535");
  }
  return port;
}

function checkTimeout(timeoutMs: number): number {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw invalid("timeoutMs", timeoutMs, "must be a positive number");
  }
  return timeoutMs;
}

async function dnsLookup(host: string): Promise<ResolvedAddress> {
  return dns.promises.lookup(host);
}

async function resolve(
  addr: string,
  lookup: Lookup,
  timeoutMs: number,
): Promise<ResolvedAddress> {
  const family = net.isIP(addr);
  if (family !== 0) {
    return { address: addr, family };
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([lookup(addr), late]);
  } finally {
    clearTimeout(timer);
  }
}

function lookupDetail(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const why = typeof code === "string" ? code : message;
  return `host name lookup failed: ${why}`;
}

function exchange(
  addr: string,
  target: ResolvedAddress,
  port: number,
  timeoutMs: number,
): Promise<ProbeResult> {
  const socket = dgram.createSocket(target.family === 6 ? "udp6" : "udp4");
  let current: Exchange | null = null;
  let timer: NodeJS.Timeout | undefined;

  return new Promise<ProbeResult>((settle) => {
    let done = false;
    const finish = (result: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      settle(result);
    };

    socket.on("error", (err) => finish(socketFailure(addr, err, current)));
    socket.on("message", (msg, rinfo) => {
      const receivedMs = wallClockMs();
      if (current === null) return;
      const result = judge(current, msg, rinfo, receivedMs);
      if (result !== null) finish(result);
    });
    timer = setTimeout(
      () => finish(timedOut(addr, current, timeoutMs)),
      timeoutMs,
    );

    socket.connect(port, target.address, (err?: Error) => {
      if (done) return;
      // A refused connect (a broadcast address, no route) leaves the socket
      // unconnected: sending then would throw, so report it instead.
      if (err) return finish(socketFailure(addr, err, current));
      try {
        current = send(socket, addr, port, (sendErr) =>
          finish(socketFailure(addr, sendErr, current)),
        );
      } catch (sendErr) {
        finish(socketFailure(addr, sendErr as Error, current));
      }
    });
  });
}

function send(
  socket: dgram.Socket,
  addr: string,
  port: number,
  onError: (err: Error) => void,
): Exchange {
  const sentMs = wallClockMs();
  const request = encodeRequest(sentMs);
  socket.send(request.packet, (err) => {
    if (err) onError(err);
  });
  return {
    addr,
    address: socket.remoteAddress().address,
    port,
    transmit: request.transmit,
    sentMs,
    ignored: new Set(),
  };
}

/** A result for the reply, or null when the datagram is to be ignored. */
function judge(
  ex: Exchange,
  msg: Buffer,
  rinfo: dgram.RemoteInfo,
  receivedMs: number,
): ProbeResult | null {
  if (rinfo.address !== ex.address || rinfo.port !== ex.port) {
    ex.ignored.add("from another address");
    return null;
  }
  const reply = decodeReply(msg);
  if (reply === null) {
    ex.ignored.add(`shorter than 48 bytes`);
    return null;
  }
  if (!sameTimestamp(reply.origin, ex.transmit)) {
    ex.ignored.add("with a wrong origin timestamp");
    return null;
  }
  return assess(ex, reply, receivedMs);
}

/** Judges a reply that answers our request (its origin matched). */
function assess(
  ex: Exchange,
  reply: NtpReply,
  receivedMs: number,
): ProbeResult {
  const refused = refusal(reply);
  if (refused !== null) {
    return { ...fromReply(ex, reply), ...refused };
  }
  const t1 = ex.sentMs;
  const t2 = ntpToUnixMs(reply.receive, t1);
  const t3 = ntpToUnixMs(reply.transmit, t1);
  const t4 = receivedMs;
  return {
    ...fromReply(ex, reply),
    usable: true,
    reason: "ok",
    offset_ms: roundUs((t2 - t1 + (t3 - t4)) / 2),
    // Timestamp precision can make a loopback delay a hair below zero.
    delay_ms: roundUs(Math.max(0, t4 - t1 - (t3 - t2))),
  };
}

interface Refusal {
  reason: ProbeReason;
  detail: string;
  kiss_code: string | null;
}

/** Why a reply that answers us cannot be used, or null when it can. */
function refusal(reply: NtpReply): Refusal | null {
  if (reply.mode !== MODE_SERVER) {
    return badReply(`mode ${reply.mode} (expected 4, server)`);
  }
  if (reply.version < 1 || reply.version > 4) {
    return badReply(`version ${reply.version} (expected 1 to 4)`);
  }
  if (reply.stratum === 0) {
    return stratumZero(reply);
  }
  if (reply.leap === LEAP_UNSYNCHRONISED) {
    return unsynchronised(LEAP_DETAIL, null);
  }
  if (reply.stratum > 15) {
    return unsynchronised(`stratum ${reply.stratum}`, null);
  }
  if (isZeroTimestamp(reply.transmit)) {
    return badReply("transmit timestamp 0");
  }
  if (isZeroTimestamp(reply.receive)) {
    return badReply("receive timestamp 0");
  }
  return null;
}

/**
 * Stratum 0 carries a kiss code in refid (RFC 5905, section 7.4). INIT and
 * STEP say the server has no time yet; any other code (RATE, DENY, RSTR,
 * ...) is a Kiss-o'-Death. Without a printable code the server is simply
 * unsynchronised, as chronyd and ntpd say when they have no source.
 */
function stratumZero(reply: NtpReply): Refusal {
  const code = refidAscii(reply.refid_raw);
  if (code !== null && !UNSYNCHRONISED_KISS_CODES.has(code)) {
    return {
      reason: "kiss_of_death",
      detail: `kiss code ${code}`,
      kiss_code: code,
    };
  }
  if (code !== null) {
    return unsynchronised(`kiss code ${code} (no time yet)`, code);
  }
  const detail =
    reply.leap === LEAP_UNSYNCHRONISED
      ? LEAP_DETAIL
      : "stratum 0 (unspecified)";
  return unsynchronised(detail, null);
}

function badReply(detail: string): Refusal {
  return { reason: "bad_reply", detail, kiss_code: null };
}

function unsynchronised(detail: string, code: string | null): Refusal {
  return { reason: "unsynchronised", detail, kiss_code: code };
}

function fromReply(ex: Exchange, reply: NtpReply): ProbeResult {
  return {
    ...base(ex.addr, Math.floor(ex.sentMs)),
    stratum: reply.stratum,
    leap: reply.leap,
    refid: refidText(reply.refid_raw, reply.stratum),
  };
}

function timedOut(
  addr: string,
  ex: Exchange | null,
  timeoutMs: number,
): ProbeResult {
  const ignored = ex === null ? [] : [...ex.ignored];
  const detail =
    ignored.length === 0
      ? `no reply within ${timeoutMs} ms`
      : `no valid reply within ${timeoutMs} ms: ignored replies ` +
        ignored.join(", ");
  return failure(addr, "timeout", detail, probedAt(ex));
}

function socketFailure(
  addr: string,
  err: Error,
  ex: Exchange | null,
): ProbeResult {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  const detail =
    code === "ECONNREFUSED"
      ? "port unreachable (ECONNREFUSED): nothing listens there"
      : `socket error: ${code || err.message}`;
  return failure(addr, "unreachable", detail, probedAt(ex));
}

function probedAt(ex: Exchange | null): number {
  return ex === null ? Date.now() : Math.floor(ex.sentMs);
}

function failure(
  addr: string,
  reason: ProbeReason,
  detail: string,
  probedAtMs: number,
): ProbeResult {
  return { ...base(addr, probedAtMs), reason, detail };
}

function base(addr: string, probedAtMs: number): ProbeResult {
  return {
    addr,
    usable: false,
    reason: "bad_reply",
    detail: null,
    stratum: null,
    leap: null,
    kiss_code: null,
    offset_ms: null,
    delay_ms: null,
    refid: null,
    probed_at_ms: probedAtMs,
    cached: false,
  };
}

function roundUs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
