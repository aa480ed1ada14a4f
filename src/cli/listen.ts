/** Parsing of ADDR:PORT flags, IPv6 in brackets: 127.0.0.1:9990, [::1]:9990. */
import net from "node:net";
import os from "node:os";

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(value: string, defaultPort: number): ListenAddress {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  const plain = /^([^:]+)(?::(\d+))?$/.exec(value);
  const m = bracketed ?? plain;
  if (!m?.[1] || (bracketed && !net.isIPv6(m[1]))) {
    throw new Error(
      `Invalid listen address ${JSON.stringify(value)}: use ADDR:PORT, such as 127.0.0.1:9990 or [::1]:9990`,
    );
  }
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(
      `Invalid port in ${JSON.stringify(value)}: must be 0 to 65535`,
    );
  }
  return { host: m[1], port };
}

export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (net.isIPv4(host)) return host.startsWith("127.");
  return host === "::1";
}

/** The address other nodes know this one by, for a wildcard listen. */
export function nodeAddress(host: string): string {
  if (host !== "0.0.0.0" && host !== "::") return host;
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) {
      if (!i.internal && i.family === "IPv4") return i.address;
    }
  }
  return os.hostname();
}

export function urlOf(host: string, port: number): string {
  return `http://${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}
