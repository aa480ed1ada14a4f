/**
 * A child process holding N real agent HTTP servers for the fan-out
 * benchmarks: each one a LocalAgent in dry-run mode (the sources file is
 * written, no chronyd runs) with its own state folder and host root under
 * the given folder, behind buildAgentServer with the cluster token, on
 * 127.0.0.1 and a port of its own. Prints `READY {"ports": [...]}` once all
 * listen. A `stats` line on stdin prints `STATS {"applies", "first_ms",
 * "last_ms"}`: the apply requests served since the last such line, when
 * the first began and the last ended (unix ms). SIGTERM closes them all.
 *
 * Usage: TIMEPLANE_TOKEN=... node --import tsx bench/agent-farm.ts COUNT DIR
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { LocalAgent } from "../src/agent/local.ts";
import { AGENT_PATHS } from "../src/agent/protocol.ts";
import { buildAgentServer } from "../src/agent/server.ts";
import { renderSources } from "../src/host/chrony/config.ts";
import { HostPaths } from "../src/host/paths.ts";
import { type Proc, ROOT, type Scope, waitFor } from "./lib.ts";

type AgentServer = ReturnType<typeof buildAgentServer>;

export interface ApplyStats {
  applies: number;
  first_ms: number | null;
  last_ms: number | null;
}

/** Where agent number `index` keeps its files, under the farm's folder. */
export function agentDir(farmDir: string, index: number): string {
  return path.join(farmDir, `agent-${index}`);
}

/** The sources file a dry-run agent writes, under its state folder. */
export function agentSourcesFile(farmDir: string, index: number): string {
  return path.join(
    agentDir(farmDir, index),
    "state",
    "chrony",
    "sources.d",
    "timeplane.sources",
  );
}

async function startOne(
  farmDir: string,
  index: number,
  token: string,
  stats: ApplyStats,
  logger: pino.Logger,
): Promise<{ agent: LocalAgent; server: AgentServer; port: number }> {
  const dir = agentDir(farmDir, index);
  mkdirSync(path.join(dir, "root"), { recursive: true });
  const agent = new LocalAgent({
    addr: "127.0.0.1",
    paths: new HostPaths({ root: path.join(dir, "root") }),
    stateDir: path.join(dir, "state"),
    chronyMode: "dry-run",
  });
  await agent.start();
  const server = buildAgentServer({ agent, logger, token });
  server.addHook("onRequest", async (req) => {
    if (req.url === AGENT_PATHS.apply) stats.first_ms ??= Date.now();
  });
  server.addHook("onResponse", async (req) => {
    if (req.url !== AGENT_PATHS.apply) return;
    stats.applies++;
    stats.last_ms = Date.now();
  });
  await server.listen({ host: "127.0.0.1", port: 0 });
  const bound = server.server.address();
  const port = typeof bound === "object" && bound ? bound.port : 0;
  return { agent, server, port };
}

function answerStats(stats: ApplyStats): void {
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk: string) => {
    for (const line of chunk.split("\n")) {
      if (line.trim() !== "stats") continue;
      process.stdout.write(`STATS ${JSON.stringify(stats)}\n`);
      stats.applies = 0;
      stats.first_ms = null;
      stats.last_ms = null;
    }
  });
}

async function main(): Promise<void> {
  const [count = "0", farmDir = ""] = process.argv.slice(2);
  const token = process.env.TIMEPLANE_TOKEN ?? "";
  const n = Number.parseInt(count, 10);
  if (!(n > 0) || token === "" || farmDir === "") {
    throw new Error("Usage: TIMEPLANE_TOKEN=... agent-farm.ts COUNT DIR");
  }
  const stats: ApplyStats = { applies: 0, first_ms: null, last_ms: null };
  const logger = pino({ level: "warn" });
  const started: Awaited<ReturnType<typeof startOne>>[] = [];
  const close = async () => {
    await Promise.all(
      started.map(async (s) => {
        await s.server.close();
        await s.agent.close();
      }),
    );
    process.exit(0);
  };
  process.once("SIGTERM", () => void close());
  process.once("SIGINT", () => void close());

  for (let i = 0; i < n; i++) {
    started.push(await startOne(farmDir, i, token, stats, logger));
  }
  answerStats(stats);
  const ports = started.map((s) => s.port);
  process.stdout.write(`READY ${JSON.stringify({ ports })}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: Error) => {
    process.stderr.write(`agent-farm: ${err.message}\n`);
    process.exit(1);
  });
}

export interface Farm {
  proc: Proc;
  dir: string;
  ports: number[];
}

/** Where the farm keeps its files: "tmpfs" (/dev/shm) or "disk". */
export type FarmStorage = "tmpfs" | "disk";

/**
 * Starts a farm of `count` agents as a child process of the scope. On
 * "tmpfs" their fsyncs cost nothing, so one shared disk does not stand in
 * for the thousand disks of a real cluster.
 */
export async function startFarm(
  scope: Scope,
  count: number,
  token: string,
  storage: FarmStorage = "disk",
): Promise<Farm> {
  const parent =
    storage === "tmpfs" && existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
  const dir = mkdtempSync(path.join(parent, "tp-bench-farm-"));
  scope.defer(() => rmSync(dir, { recursive: true, force: true }));
  const proc = scope.spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(ROOT, "bench/agent-farm.ts"),
      `${count}`,
      dir,
    ],
    { TIMEPLANE_TOKEN: token },
  );
  let ports: number[] = [];
  await waitFor(
    () => {
      if (proc.exited()) throw new Error(`Agent farm exited: ${proc.output()}`);
      const ready = /^READY (.*)$/m.exec(proc.output())?.[1];
      if (ready) ports = (JSON.parse(ready) as { ports: number[] }).ports;
      return ports.length === count;
    },
    120_000,
    () => `Agent farm of ${count} did not start: ${proc.output()}`,
  );
  return { proc, dir, ports };
}

/** The farm's apply requests since the last call. */
export async function farmStats(farm: Farm): Promise<ApplyStats> {
  const seen = (farm.proc.output().match(/^STATS /gm) ?? []).length;
  farm.proc.child.stdin?.write("stats\n");
  const found: { stats?: ApplyStats } = {};
  await waitFor(
    () => {
      const all = [...farm.proc.output().matchAll(/^STATS (.*)$/gm)];
      const line = all[seen]?.[1];
      if (line) found.stats = JSON.parse(line) as ApplyStats;
      return found.stats !== undefined;
    },
    10_000,
    () => "Agent farm did not answer stats",
    20,
  );
  return found.stats as ApplyStats;
}

/**
 * How many of the farm's agents have a sources file with a line for each
 * of `servers`, as renderSources writes it. The cluster's time leaders
 * add lines of their own, so the files are not compared whole.
 */
export function agentsWithSources(
  farm: Farm,
  servers: string[],
  poll_log2: number,
): number {
  const wanted = renderSources({ servers, poll_log2 })
    .split("\n")
    .filter((l) => l.startsWith("server "));
  return farm.ports.filter((_, i) => {
    const lines = readFileSync(agentSourcesFile(farm.dir, i), "utf8").split(
      "\n",
    );
    return wanted.every((l) => lines.includes(l));
  }).length;
}
