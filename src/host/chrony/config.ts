/**
 * Pure rendering of the chrony files timeplane writes: the sources drop-in,
 * the main file of a supervised chronyd and the serving drop-in of a time
 * leader under systemd. Only typed options go in, never raw directive text,
 * and every value is checked again here, because a stray newline or blank
 * in an address would let a caller add directives of its own (F09). The API
 * validates earlier; this is the last wall.
 *
 * Time leaders poll one another with `minstratum` set to their local
 * stratum: chrony's orphan rule then applies to a leader at all times, not
 * only once it runs on its local clock. Without it two leaders that relay
 * the same upstream may select each other the moment that upstream goes
 * away, and stay locked in that loop; with it the leader with the larger
 * reference id follows the smaller one, and the smaller one keeps its own
 * time, as chrony.conf(5) describes for `local ... orphan`.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { ServeSpec, SourcesSpec } from "../../agent/types.ts";
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

/**
 * Upstream servers first, then the cluster's time leaders not already
 * listed upstream. On a leader (spec.serve set) the other leaders get
 * `minstratum` equal to its local stratum (see the top of this file).
 */
export function renderSources(
  spec: SourcesSpec,
  opts: RenderSourcesOptions = {},
): string {
  const poll = checkPoll(spec.poll_log2);
  if (!Array.isArray(spec.servers)) {
    throw invalid("servers", spec.servers, "must be a list of addresses");
  }
  const upstream = spec.servers.map(checkServer);
  const leaders = clusterServers(spec.cluster_servers, upstream);
  const serve = checkServeSpec(spec.serve ?? null);
  const port = opts.port === undefined ? "" : ` port ${checkPort(opts.port)}`;
  const base = `iburst minpoll ${poll} maxpoll ${poll}`;
  const minStratum = serve === null ? "" : ` minstratum ${serve.local_stratum}`;
  const lines = [
    ...upstream.map((server) => `server ${server} ${base}${port}`),
    ...leaders.map((addr) => `server ${addr} ${base}${minStratum}${port}`),
  ];
  return `${[MANAGED_HEADER, ...lines].join("\n")}\n`;
}

/**
 * The cluster servers as they go into the file: IP literals (IPv6 in
 * canonical form), each once, none that is already an upstream server.
 */
export function clusterServers(
  value: unknown,
  upstream: string[] = [],
): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw invalid("cluster_servers", value, "must be a list of IP addresses");
  }
  const seen = new Set(upstream.map(addressKey));
  const result: string[] = [];
  for (const addr of value) {
    if (typeof addr !== "string" || !isIpLiteral(addr)) {
      throw invalid("cluster_servers", addr, "must be an IPv4 or IPv6 address");
    }
    const key = addressKey(addr);
    if (seen.has(key)) continue;
    seen.add(key);
    result.push(key);
  }
  return result;
}

/**
 * Checks a time leader's serving settings; null means "do not serve".
 * Field names are the API's, under "serve.". An IPv6 bind address comes
 * back in canonical form, as chronyd writes it in its messages.
 */
export function checkServeSpec(value: unknown): ServeSpec | null {
  if (value === null) return null;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw invalid("serve", value, "must be an object or null");
  }
  const spec = value as Record<string, unknown>;
  const bind = spec.bind_address;
  if (typeof bind !== "string" || !isIpLiteral(bind)) {
    throw invalid("serve.bind_address", bind, "must be an IP address");
  }
  if (!Array.isArray(spec.allow)) {
    throw invalid("serve.allow", spec.allow, "must be a list of networks");
  }
  const allow = spec.allow.map((net) => checkNetwork(net, "serve.allow"));
  const stratum = spec.local_stratum;
  if (!isStratum(stratum)) {
    throw invalid(
      "serve.local_stratum",
      stratum,
      "must be an integer from 1 to 15",
    );
  }
  return { bind_address: addressKey(bind), allow, local_stratum: stratum };
}

/** The supervised renderer's options for a checked ServeSpec. */
export function toServeOptions(serve: ServeSpec): ServeOptions {
  return {
    bindAddress: serve.bind_address,
    allow: [...serve.allow],
    localStratum: serve.local_stratum,
  };
}

/**
 * The serving drop-in of a leader whose chronyd runs under systemd. It has
 * no bindaddress: the host's chronyd serves on all its addresses, as the
 * distribution configured it.
 */
export function renderServeDropIn(serve: ServeSpec): string {
  const checked = checkServeSpec(serve) as ServeSpec;
  const lines = [
    MANAGED_HEADER,
    ...checked.allow.map((net) => `allow ${net}`),
    `local stratum ${checked.local_stratum} orphan`,
  ];
  return `${lines.join("\n")}\n`;
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

/**
 * A serving chronyd also sends its own requests from the bind address
 * (bindacqaddress): chrony's orphan rule compares reference ids derived
 * from the addresses the leaders poll one another from, so each leader
 * must poll from its own address. A known limit: an upstream reachable
 * only from another of the node's addresses is then not reachable.
 */
function serveLines(serve: ServeOptions | undefined): string[] {
  if (serve === undefined) return ["port 0"];
  if (!isIpLiteral(serve.bindAddress)) {
    throw invalid("bindAddress", serve.bindAddress, "must be an IP literal");
  }
  const stratum = serve.localStratum ?? 10;
  if (!isStratum(stratum)) {
    throw invalid("localStratum", stratum, "must be an integer from 1 to 15");
  }
  return [
    `bindaddress ${serve.bindAddress}`,
    `bindacqaddress ${serve.bindAddress}`,
    ...serve.allow.map((net) => `allow ${checkNetwork(net)}`),
    `local stratum ${stratum} orphan`,
  ];
}

function isStratum(value: unknown): value is number {
  return (
    typeof value === "number" &&
    Number.isInteger(value) &&
    value >= 1 &&
    value <= 15
  );
}

/** IPv6 literals in canonical form, anything else in lower case (F12). */
function addressKey(addr: string): string {
  if (!isIPv6(addr)) return addr.toLowerCase();
  return new URL(`http://[${addr}]/`).hostname.slice(1, -1);
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

function checkNetwork(net: unknown, field = "allow"): string {
  if (typeof net === "string") {
    const [addr, bits, extra] = net.split("/");
    const maxBits = addr !== undefined && isIPv4(addr) ? 32 : 128;
    const bitsOk =
      bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (addr !== undefined && isIpLiteral(addr) && bitsOk && !extra) {
      return net;
    }
  }
  throw invalid(field, net, "must be an IP address or network in CIDR form");
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
export function renderCheckConf(
  sourcesFile: string,
  extraFile?: string,
): string {
  const file = checkPath("sourcesFile", sourcesFile);
  const lines = ["port 0", "cmdport 0", `include ${file}`];
  if (extraFile !== undefined) {
    lines.push(`include ${checkPath("extraFile", extraFile)}`);
  }
  return `${lines.join("\n")}\n`;
}
