/**
 * `timeplane agent`: one per node. It serves the agent interface over HTTP
 * for the controller, and on start asks the controller for the desired
 * state so that a node that was down catches up at once.
 */

import { readFileSync } from "node:fs";
import path from "node:path";
import pino, { type Logger } from "pino";
import { LocalAgent } from "../agent/local.ts";
import { buildAgentServer } from "../agent/server.ts";
import { generateToken } from "../agent/token.ts";
import type { DesiredSpec } from "../agent/types.ts";
import { writeFileAtomic } from "../host/atomic-file.ts";
import { HostPaths } from "../host/paths.ts";
import type { HostSettings } from "./host-options.ts";
import { isLoopback, parseListen, urlOf } from "./listen.ts";

export interface AgentOptions extends HostSettings {
  listen: string;
  token?: string;
  tokenFile?: string;
  data: string;
  controller?: string;
  clusterUuid?: string;
  /** The address the controller knows this node by. */
  addr?: string;
}

export interface RunningAgent {
  url: string;
  /** The file of the token the agent made itself, or null. */
  ownTokenFile: string | null;
  close(): Promise<void>;
}

export async function runAgent(options: AgentOptions): Promise<RunningAgent> {
  const log = pino({
    level: options.logLevel,
    base: { svc: "timeplane-agent" },
  });
  const listen = parseListen(options.listen, 9991);
  const given = readToken(options);
  if (given === null && !isLoopback(listen.host)) {
    throw new Error(
      `Refusing to listen on ${listen.host} without a token: pass --token or --token-file, or bind to loopback`,
    );
  }
  // The agent always requires a token. On loopback without one it makes its
  // own, so that no local process can drive it without reading the file.
  const token = given ?? (await ownToken(options.data));

  if (options.controller && !options.clusterUuid) {
    throw new Error(
      "--controller needs --cluster-uuid: the uuid that cluster/create answered",
    );
  }
  const addr = options.addr ?? listen.host;
  const agent = new LocalAgent({
    addr,
    paths: new HostPaths({
      root: options.hostRoot,
      zoneinfo: options.zoneinfo,
    }),
    stateDir: path.resolve(options.data),
    chronyMode: options.chronyMode,
    clockControl: options.clockControl,
    sourcePort: options.sourcePort,
    chronydBin: options.chronydBin,
    chronycBin: options.chronycBin,
  });
  await agent.start();

  const server = buildAgentServer({ agent, logger: log, token });
  await server.listen({ host: listen.host, port: listen.port });
  const bound = server.server.address();
  const port = typeof bound === "object" && bound ? bound.port : listen.port;

  const hello = options.controller
    ? catchUp(agent, log, { ...options, token, addr, port })
    : undefined;

  return {
    url: urlOf(listen.host, port),
    ownTokenFile:
      given === null ? path.resolve(options.data, "agent-token") : null,
    async close() {
      hello?.stop();
      await server.close();
      await agent.close();
    },
  };
}

async function ownToken(dataDir: string): Promise<string> {
  const file = path.resolve(dataDir, "agent-token");
  try {
    const existing = readFileSync(file, "utf8").trim();
    if (existing) return existing;
  } catch {
    // first start: make one below
  }
  const token = generateToken();
  await writeFileAtomic(file, `${token}\n`, {
    mode: 0o600,
    keepPrevious: false,
  });
  return token;
}

function readToken(options: AgentOptions): string | null {
  if (options.token) return options.token;
  if (options.tokenFile) {
    const token = readFileSync(options.tokenFile, "utf8").trim();
    if (!token) throw new Error(`Token file ${options.tokenFile} is empty`);
    return token;
  }
  return null;
}

/**
 * Asks the controller for the desired state until it answers, then applies
 * it when it is newer than what this node has applied.
 */
type Hello = Omit<AgentOptions, "token"> & {
  token: string | null;
  addr: string;
  port: number;
};

function catchUp(agent: LocalAgent, log: Logger, o: Hello): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const attempt = async (delayMs: number): Promise<void> => {
    if (stopped) return;
    try {
      const desired = await askController(
        o,
        (await agent.info()).applied_version,
      );
      if (desired && desired.version > (await agent.info()).applied_version) {
        const result = await agent.apply(desired);
        log.info(
          { version: desired.version, error: result.error },
          "applied desired state from controller",
        );
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, "controller not reachable");
      const next = Math.min(delayMs * 2, 60_000);
      timer = setTimeout(() => void attempt(next), delayMs);
      timer.unref();
    }
  };
  void attempt(1_000);

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

async function askController(
  o: Hello,
  appliedVersion: number,
): Promise<DesiredSpec | null> {
  if (!o.clusterUuid)
    throw new Error("--cluster-uuid is needed with --controller");
  const res = await fetch(`${o.controller}/v1/agent/hello`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${o.token ?? ""}`,
    },
    body: JSON.stringify({
      cluster_uuid: o.clusterUuid,
      addr: o.addr,
      port: o.port,
      applied_version: appliedVersion,
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as {
    scode: number;
    message: string;
    data: { member: boolean; desired: DesiredSpec };
  };
  if (body.scode !== 0) throw new Error(body.message);
  return body.data.member ? body.data.desired : null;
}
