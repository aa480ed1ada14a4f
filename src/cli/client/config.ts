/**
 * Where a client command finds the controller, its token and the cluster:
 * a flag, else an environment variable, else the config file (JSON
 * `{server, token, cluster}`), else the default.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const DEFAULT_SERVER = "http://127.0.0.1:9990";

export interface Settings {
  /** Base URL of the controller, without a trailing slash. */
  server: string;
  token: string | undefined;
  cluster: string | undefined;
  json: boolean;
}

/** The global options as commander gives them. */
export interface GlobalOptions {
  server?: string;
  token?: string;
  cluster?: string;
  json?: boolean;
  config?: string;
}

interface ConfigFile {
  server?: string;
  token?: string;
  cluster?: string;
}

const CONFIG_KEYS = ["server", "token", "cluster"] as const;

/** A mistake in how the command was called: exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** `$XDG_CONFIG_HOME/timeplane/cli.json`, or under `~/.config`. */
export function defaultConfigPath(env: NodeJS.ProcessEnv): string {
  const base =
    nonEmpty(env.XDG_CONFIG_HOME) ?? path.join(homeOf(env), ".config");
  return path.join(base, "timeplane", "cli.json");
}

export function resolveSettings(
  opts: GlobalOptions,
  env: NodeJS.ProcessEnv,
): Settings {
  const file = loadConfig(opts.config ?? defaultConfigPath(env), !!opts.config);
  const pick = (
    flag: string | undefined,
    name: string,
    key: keyof ConfigFile,
  ) => nonEmpty(flag) ?? nonEmpty(env[name]) ?? nonEmpty(file[key]);

  const server = pick(opts.server, "TIMEPLANE_URL", "server") ?? DEFAULT_SERVER;
  return {
    server: checkServer(server),
    token: pick(opts.token, "TIMEPLANE_API_TOKEN", "token"),
    cluster: pick(opts.cluster, "TIMEPLANE_CLUSTER", "cluster"),
    json: opts.json === true,
  };
}

/** Reads the config file; a missing default file is an empty config. */
export function loadConfig(file: string, explicit: boolean): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !explicit) return {};
    throw new UsageError(
      `Cannot read config file "${file}": ${(err as Error).message}`,
    );
  }
  return parseConfig(text, file);
}

function parseConfig(text: string, file: string): ConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(
      `Invalid config file "${file}": ${(err as Error).message}`,
    );
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new UsageError(`Invalid config file "${file}": not a JSON object`);
  }
  for (const [key, value] of Object.entries(raw)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      const keys = CONFIG_KEYS.join(", ");
      const why = `unknown key "${key}"; the keys are ${keys}`;
      throw new UsageError(`Invalid config file "${file}": ${why}`);
    }
    if (typeof value !== "string") {
      const why = `${key} must be a string`;
      throw new UsageError(`Invalid config file "${file}": ${why}`);
    }
  }
  return raw as ConfigFile;
}

function checkServer(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    url = new URL("invalid:");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(
      `Invalid server "${server}": must be an http:// or https:// URL`,
    );
  }
  return server.replace(/\/+$/, "");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function homeOf(env: NodeJS.ProcessEnv): string {
  return nonEmpty(env.HOME) ?? os.homedir();
}
