/**
 * Pure rendering of the chrony files timeplane writes: the sources drop-in
 * and the main file of a supervised chronyd. Only typed options go in, never
 * raw directive text, and every value is checked again here, because a
 * stray newline or blank in an address would let a caller add directives of
 * its own (F09). The API validates earlier; this is the last wall.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { SourcesSpec } from "../../agent/types.ts";
import { invalid } from "../../errors.ts";

export const MANAGED_HEADER =
  "# Managed by timeplane; changes here are overwritten";

/** Poll interval range timeplane accepts, log2 seconds: 16 s to 36 h. */
export const MIN_POLL_LOG2 = 4;
export const MAX_POLL_LOG2 = 17;

export interface RenderSourcesOptions {
  /** NTP port of every server; chrony's default 123 when absent. */
  port?: number;
}

export interface ServeOptions {
  /** Address chronyd serves NTP on, an IP literal. */
  bindAddress: string;
  /** Client networks allowed, such as "127.0.0.0/8". */
  allow: string[];
  /** Stratum served in orphan mode without a source. Default 10. */
  localStratum?: number;
}

export interface SupervisedConfOptions {
  stateDir: string;
  sourcesDir: string;
  socket: string;
  serve?: ServeOptions;
}

export function renderSources(
  spec: SourcesSpec,
  opts: RenderSourcesOptions = {},
): string {
  const poll = checkPoll(spec.poll_log2);
  if (!Array.isArray(spec.servers)) {
    throw invalid("servers", spec.servers, "must be a list of addresses");
  }
  const port = opts.port === undefined ? "" : ` port ${checkPort(opts.port)}`;
  const lines = spec.servers.map(
    (server) =>
      `server ${checkServer(server)} iburst minpoll ${poll} ` +
      `maxpoll ${poll}${port}`,
  );
  return `${[MANAGED_HEADER, ...lines].join("\n")}\n`;
}

export function renderSupervisedConf(opts: SupervisedConfOptions): string {
  const stateDir = checkPath("stateDir", opts.stateDir);
  const lines = [
    MANAGED_HEADER,
    `sourcedir ${checkPath("sourcesDir", opts.sourcesDir)}`,
    ...serveLines(opts.serve),
    "cmdport 0",
    `bindcmdaddress ${checkPath("socket", opts.socket)}`,
    `pidfile ${stateDir}/chronyd.pid`,
    `driftfile ${stateDir}/drift`,
    "makestep 1 3",
  ];
  return `${lines.join("\n")}\n`;
}

/** True for an IPv4 literal, an IPv6 literal or an RFC 1123 host name. */
export function isServerAddress(value: unknown): value is string {
  if (typeof value !== "string") return false;
  return isIpLiteral(value) || isHostName(value);
}

function serveLines(serve: ServeOptions | undefined): string[] {
  if (serve === undefined) return ["port 0"];
  if (!isIpLiteral(serve.bindAddress)) {
    throw invalid("bindAddress", serve.bindAddress, "must be an IP literal");
  }
  const stratum = serve.localStratum ?? 10;
  if (!Number.isInteger(stratum) || stratum < 1 || stratum > 15) {
    throw invalid("localStratum", stratum, "must be an integer from 1 to 15");
  }
  return [
    `bindaddress ${serve.bindAddress}`,
    ...serve.allow.map((net) => `allow ${checkNetwork(net)}`),
    `local stratum ${stratum} orphan`,
  ];
}

function checkServer(server: unknown): string {
  if (isServerAddress(server)) return server;
  throw invalid(
    "servers",
    server,
    "must be an IPv4 address, an IPv6 address or a host name",
  );
}

function checkPoll(poll: unknown): number {
  if (
    typeof poll === "number" &&
    Number.isInteger(poll) &&
    poll >= MIN_POLL_LOG2 &&
    poll <= MAX_POLL_LOG2
  ) {
    return poll;
  }
  throw invalid(
    "poll_log2",
    poll,
    `must be an integer from ${MIN_POLL_LOG2} to ${MAX_POLL_LOG2}`,
  );
}

function checkPort(port: unknown): number {
  if (
    typeof port === "number" &&
    Number.isInteger(port) &&
    port >= 1 &&
    port <= 65535
  ) {
    return port;
  }
  throw invalid("port", port, "must be an integer from 1 to 65535");
}

function checkNetwork(net: unknown): string {
  if (typeof net === "string") {
    const [addr, bits, extra] = net.split("/");
    const maxBits = addr !== undefined && isIPv4(addr) ? 32 : 128;
    const bitsOk =
      bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (addr !== undefined && isIpLiteral(addr) && bitsOk && !extra) {
      return net;
    }
  }
  throw invalid("allow", net, "must be an IP address or network in CIDR form");
}

/** chrony splits directives on blanks, so a path may not hold any. */
function checkPath(field: string, value: unknown): string {
  if (typeof value === "string" && /^\/[\x21-\x7e]*$/.test(value)) {
    return value;
  }
  throw invalid(
    field,
    value,
    "must be an absolute path without blanks or control characters",
  );
}

function isIpLiteral(value: string): boolean {
  if (isIPv4(value)) return true;
  return /^[0-9A-Fa-f:.]+$/.test(value) && isIPv6(value);
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function isHostName(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  const labels = value.split(".");
  const last = labels[labels.length - 1] ?? "";
  if (/^\d+$/.test(last)) return false;
  return labels.every((label) => LABEL.test(label));
}

/**
 * A main config that only includes one sources file, for `chronyd -p`:
 * chronyd parses sourcedir files only when running, so a candidate is
 * checked through include instead.
 */
export function renderCheckConf(sourcesFile: string): string {
  const file = checkPath("sourcesFile", sourcesFile);
  return `port 0\ncmdport 0\ninclude ${file}\n`;
}
