/**
 * fan-out: one `POST /v1/ntp/server/add` applied to 10, 100 and 1000 real
 * agent HTTP servers (dry-run: each writes its sources file, no chronyd)
 * by a real controller process. For each size: an agent farm with the
 * cluster's token, the nodes added through /v1/node/add (10 and 100) or
 * written into the store (1000, see seededCluster), a fresh controller
 * process, then three writes, each adding one source (force: true, so
 * nothing is probed), timed from the client. The first write is cold: the
 * first of fresh processes, so new connections to every agent (as for
 * writes minutes apart) and code not yet optimised; the other two warm.
 * Reports wall time, ms per node, the CPU the controller and the farm used
 * during the cold write (to tell a CPU-bound run from one held back by the
 * fan-out's concurrency of 64), when the last agent finished its apply and
 * how long the controller took after that, the controller's RSS, and
 * checks every node's sources file. The agents keep their files on tmpfs,
 * since one shared disk would stand in for a thousand; 1000 nodes run once
 * more with the agents on disk (ext4, real fsyncs).
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import { HttpAgent } from "../src/agent/http-client.ts";
import { generateToken } from "../src/agent/token.ts";
import { agentUrl } from "../src/cluster/agents.ts";
import { fanOut } from "../src/cluster/fanout.ts";
import { SpecBuilder } from "../src/cluster/leaders.ts";
import {
  type DesiredState,
  type NodeRow,
  Repository,
} from "../src/store/repository.ts";
import {
  agentsWithSources,
  type Farm,
  type FarmStorage,
  farmStats,
  startFarm,
} from "./agent-farm.ts";
import {
  against,
  api,
  apiOk,
  type Benchmark,
  bounded,
  type Controller,
  cpuMs,
  info,
  type Measure,
  median,
  rssMiB,
  type Scope,
  say,
  startController,
  timed,
} from "./lib.ts";

const NAME = "fan-out";
const CASES: Case[] = [
  { size: 10, storage: "tmpfs" },
  { size: 100, storage: "tmpfs" },
  { size: 1000, storage: "tmpfs", sweep: true },
  { size: 1000, storage: "disk" },
];
/** Nothing answers on these; force: true skips the probe. */
const SOURCES = ["127.0.0.101", "127.0.0.102", "127.0.0.103"];
const POLL_LOG2 = 6;
const ADD_CONCURRENCY = 16;
/** From this size on, nodes are written into the store, not added. */
const SEED_FROM = 1000;
/** Concurrencies of the fan-out alone, around the controller's 64. */
const SWEEP = [16, 64, 256];

interface Case {
  size: number;
  storage: FarmStorage;
  /** Also time the fan-out alone at several concurrencies. */
  sweep?: boolean;
}

interface Run {
  ms: number;
  controller_cpu_ms: number;
  farm_cpu_ms: number;
  /** From the request to the end of the last agent's apply. */
  agents_done_ms: number;
}

interface SizeResult extends Case {
  runs: Run[];
  add_ms: number | null;
  rss_mib: number;
  sweep_measures: Measure[];
}

export const fanOutBench: Benchmark = {
  name: NAME,
  budgetMs: 300_000,
  async run(scope) {
    const results: SizeResult[] = [];
    for (const c of CASES) {
      results.push(await oneCase(scope, c));
    }
    return results
      .flatMap(toMeasures)
      .concat(linearity(results), leaderSpecs(1000));
  },
};

async function oneCase(scope: Scope, c: Case): Promise<SizeResult> {
  const { size } = c;
  const { ctl, farm, uuid, token, add_ms } =
    size >= SEED_FROM
      ? await seededCluster(scope, c)
      : await apiCluster(scope, c);

  await farmStats(farm); // forget the applies of node/add
  const runs: Run[] = [];
  for (const source of SOURCES) {
    runs.push(await addSource(ctl, farm, uuid, size, source));
  }
  const rss_mib = rssMiB(ctl.proc.pid);
  checkFiles(farm, size);

  await ctl.proc.stop();
  const sweep = c.sweep ? await concurrencySweep(farm, token) : [];
  await farm.proc.stop();
  return { ...c, runs, add_ms, rss_mib, sweep_measures: sweep };
}

interface Setup {
  ctl: Controller;
  farm: Farm;
  uuid: string;
  token: string;
  /** Time to add every node through /v1/node/add; null when seeded. */
  add_ms: number | null;
}

/** A controller, a cluster, a farm, the nodes added through the API. */
async function apiCluster(scope: Scope, c: Case): Promise<Setup> {
  const { size } = c;
  const dir = scope.tempDir("tp-bench-ctl-");
  const first = await startController(scope, ["--rate-limit", "0"], dir);
  const cluster = await apiOk<{ uuid: string; token: string }>(
    first.url,
    "POST",
    "/v1/cluster/create",
    { name: `bench-${size}` },
  );
  const farm = await startFarm(scope, size, cluster.token, c.storage);
  say(NAME, `${size} agents listening, files on ${c.storage}`);

  const added = await timed(() =>
    bounded(farm.ports, ADD_CONCURRENCY, (port) =>
      apiOk(first.url, "POST", "/v1/node/add", {
        cluster_uuid: cluster.uuid,
        addr: "127.0.0.1",
        port,
      }),
    ),
  );
  say(
    NAME,
    `${size} nodes added through the API in ${Math.round(added.ms)} ms`,
  );

  // A fresh process, as for the seeded size: no open connections to the
  // agents, and an RSS that owes nothing to the node/add calls.
  await first.proc.stop();
  const ctl = await startController(scope, ["--rate-limit", "0"], dir);
  return {
    ctl,
    farm,
    uuid: cluster.uuid,
    token: cluster.token,
    add_ms: added.ms,
  };
}

/**
 * The cluster and its nodes written into the store before the controller
 * starts: node/add re-applies the desired state to every node of the
 * cluster, so adding N nodes one by one costs N(N+1)/2 applies, too many
 * for 1000 within this benchmark's budget (see docs/benchmarks.md).
 */
async function seededCluster(scope: Scope, c: Case): Promise<Setup> {
  const { size } = c;
  const token = generateToken();
  const farm = await startFarm(scope, size, token, c.storage);
  say(NAME, `${size} agents listening, files on ${c.storage}`);

  const dir = scope.tempDir("tp-bench-ctl-");
  const uuid = randomUUID();
  const repo = new Repository(path.join(dir, "data", "timeplane.db"));
  try {
    repo.createCluster(uuid, `bench-${size}`, token);
    for (const port of farm.ports) repo.addNode(uuid, "127.0.0.1", port, false);
  } finally {
    repo.close();
  }
  const ctl = await startController(scope, ["--rate-limit", "0"], dir);
  if (ctl.clusterUuid !== uuid) {
    throw new Error(`Controller serves ${ctl.clusterUuid}, not ${uuid}`);
  }
  say(NAME, `${size} nodes written into the store`);
  return { ctl, farm, uuid, token, add_ms: null };
}

async function addSource(
  ctl: Controller,
  farm: Farm,
  uuid: string,
  size: number,
  source: string,
): Promise<Run> {
  const ctlCpu = cpuMs(ctl.proc.pid);
  const farmCpu = cpuMs(farm.proc.pid);
  const sentMs = Date.now();
  const { ms, value } = await timed(() =>
    api<{ status: { error: string | null }[] }>(
      ctl.url,
      "POST",
      "/v1/ntp/server/add",
      {
        cluster_uuid: uuid,
        addrs: [source],
        sync_period: 2 ** POLL_LOG2,
        force: true,
      },
    ),
  );
  const failed = value.data?.status?.filter((s) => s.error !== null) ?? [];
  if (value.scode !== 0 || value.data.status.length !== size) {
    throw new Error(
      `server/add on ${size} nodes: scode ${value.scode}, ` +
        `${failed.length} failed: ${value.message} ${failed[0]?.error ?? ""}`,
    );
  }
  const run = {
    ms,
    controller_cpu_ms: cpuMs(ctl.proc.pid) - ctlCpu,
    farm_cpu_ms: cpuMs(farm.proc.pid) - farmCpu,
    agents_done_ms: 0,
  };
  const stats = await farmStats(farm);
  if (stats.applies !== size || stats.last_ms === null) {
    throw new Error(`${stats.applies} applies for ${size} nodes`);
  }
  run.agents_done_ms = stats.last_ms - sentMs;
  say(
    NAME,
    `${size} nodes: server/add ${source} in ${Math.round(ms)} ms, ` +
      `last agent done after ${run.agents_done_ms} ms`,
  );
  return run;
}

function checkFiles(farm: Farm, size: number): void {
  const written = agentsWithSources(farm, SOURCES, POLL_LOG2);
  if (written !== size) {
    throw new Error(`Only ${written} of ${size} sources files are right`);
  }
  say(NAME, `${size} nodes: all ${written} sources files hold the 3 sources`);
}

function toMeasures(r: SizeResult): Measure[] {
  const [cold, ...warm] = r.runs as [Run, ...Run[]];
  const warm_ms = median(warm.map((x) => x.ms));
  const where = r.storage === "disk" ? ", agents on disk" : "";
  const label = `${r.size} nodes${where}`;
  const wall = (what: string, ms: number) =>
    r.size === 1000
      ? against(`${label}: server/add, ${what}`, ms, "ms", "<", 3000)
      : info(`${label}: server/add, ${what}`, ms, "ms");
  return [
    wall("cold", cold.ms),
    wall("warm (median of 2)", warm_ms),
    info(`${label}: per node, cold`, cold.ms / r.size, "ms/node"),
    info(`${label}: per node, warm`, warm_ms / r.size, "ms/node"),
    info(`${label}: last agent done, cold`, cold.agents_done_ms, "ms"),
    info(
      `${label}: controller after last agent, cold`,
      cold.ms - cold.agents_done_ms,
      "ms",
    ),
    info(
      `${label}: controller CPU, cold`,
      pct(cold.controller_cpu_ms, cold.ms),
      "% of a core",
    ),
    info(
      `${label}: agent farm CPU, cold`,
      pct(cold.farm_cpu_ms, cold.ms),
      "% of a core",
    ),
    info(`${label}: controller RSS after`, r.rss_mib, "MiB"),
    ...(r.add_ms === null
      ? []
      : [info(`${label}: node/add of every node`, r.add_ms, "ms")]),
    ...r.sweep_measures,
  ];
}

/** ms per node at 1000 over ms per node at 100: 1 is linear. */
function linearity(results: SizeResult[]): Measure[] {
  const perNode = (size: number, pick: (runs: Run[]) => number) => {
    const r = results.find((x) => x.size === size && x.storage === "tmpfs");
    return r ? pick(r.runs) / size : Number.NaN;
  };
  const cold = (runs: Run[]) => runs[0]?.ms ?? Number.NaN;
  const warm = (runs: Run[]) => median(runs.slice(1).map((x) => x.ms));
  return [
    info(
      "ms/node at 1000 / at 100, cold",
      perNode(1000, cold) / perNode(100, cold),
      "x",
    ),
    info(
      "ms/node at 1000 / at 100, warm",
      perNode(1000, warm) / perNode(100, warm),
      "x",
    ),
  ];
}

/**
 * The controller's fan-out alone (fanOut and HttpAgent, in this process,
 * no store, no API) applying to every agent: a first round on new
 * connections to agents that are already warm (what a cold write costs
 * beyond starting fresh processes), then one round at each concurrency
 * around the controller's 64: if 256 is much faster than 64, the
 * concurrency is what holds a write back.
 */
async function concurrencySweep(farm: Farm, token: string) {
  const agents = farm.ports.map(
    (port) => new HttpAgent({ url: agentUrl("127.0.0.1", port), token }),
  );
  let version = 1000;
  const once = async (concurrency: number) => {
    const spec = {
      version: ++version,
      servers: SOURCES,
      poll_log2: POLL_LOG2,
      timezone: null,
    };
    const { ms, value } = await timed(() =>
      fanOut(agents, (a) => a.apply(spec), { concurrency, timeoutMs: 15_000 }),
    );
    const failed = value.filter((o) => !o.ok).length;
    if (failed > 0) throw new Error(`${failed} applies failed in the sweep`);
    return ms;
  };

  const first_ms = await once(64);
  say(NAME, `fan-out alone, first round: ${Math.round(first_ms)} ms`);
  const measures: Measure[] = [
    info(
      "fan-out alone, 1000 agents, 64, new connections, warm agents",
      first_ms,
      "ms",
    ),
  ];
  for (const concurrency of SWEEP) {
    const ms = await once(concurrency);
    say(
      NAME,
      `fan-out alone at concurrency ${concurrency}: ${Math.round(ms)} ms`,
    );
    measures.push(
      info(`fan-out alone, 1000 agents, concurrency ${concurrency}`, ms, "ms"),
    );
  }
  return measures;
}

/**
 * What the controller computes per write before any request leaves: one
 * spec per node, each finding the cluster's leaders among all nodes.
 */
function leaderSpecs(size: number): Measure {
  const nodes: NodeRow[] = Array.from({ length: size }, (_, i) => ({
    id: i + 1,
    cluster_uuid: "bench",
    addr: "127.0.0.1",
    port: 20_000 + i,
    local: false,
    applied_version: 0,
    last_state: null,
    last_error: null,
    last_seen_at: null,
    created_at: "",
  }));
  const desired: DesiredState = {
    cluster_uuid: "bench",
    version: 1,
    servers: SOURCES,
    poll_log2: POLL_LOG2,
    timezone: null,
    updated_at: "",
  };
  new SpecBuilder(desired, nodes, 3).specFor(nodes[0] as NodeRow);
  const started = performance.now();
  const specs = new SpecBuilder(desired, nodes, 3);
  for (const node of nodes) specs.specFor(node);
  const ms = performance.now() - started;
  return info(`spec of every node, ${size} nodes, in-process`, ms, "ms");
}

function pct(cpu_ms: number, wall_ms: number): number {
  return (cpu_ms / wall_ms) * 100;
}
