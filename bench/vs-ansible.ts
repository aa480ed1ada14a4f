/**
 * vs-ansible: the same change, a chrony sources file on 20 hosts, made by
 * `ansible-playbook` (bench/ansible: 20 inventory aliases with connection
 * local, each with its own root folder, forks 20, no facts) and by
 * timeplane (a controller applying it to 20 dry-run agents). Three rounds,
 * each adding one source; the median of each side is compared. timeplane
 * is timed twice: the API call to a running controller, and the CLI
 * (`timeplane servers add`), which like ansible-playbook starts a process.
 * Ansible's files must be exactly what renderSources writes; timeplane's
 * hold the same server lines, and the lines of the cluster's time leaders
 * besides, which Ansible does not compute.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { renderSources } from "../src/host/chrony/config.ts";
import { agentsWithSources, type Farm, startFarm } from "./agent-farm.ts";
import {
  against,
  apiOk,
  type Benchmark,
  type Controller,
  info,
  median,
  ROOT,
  type Scope,
  say,
  startController,
  TIMEPLANE,
  timed,
} from "./lib.ts";

const NAME = "vs-ansible";
const HOSTS = 20;
const POLL_LOG2 = 6;
const ROUNDS = [["127.0.0.101"], ["127.0.0.102"], ["127.0.0.103"]];
const ANSIBLE_DIR = path.join(ROOT, "bench/ansible");

export const vsAnsible: Benchmark = {
  name: NAME,
  budgetMs: 180_000,
  async run(scope) {
    const ansible_ms = await runAnsible(scope);
    const { api_ms, cli_ms } = await runTimeplane(scope);

    const ansible = median(ansible_ms);
    const api = median(api_ms);
    const cli = median(cli_ms);
    return [
      info("ansible-playbook, 20 hosts, median of 3", ansible, "ms"),
      info("timeplane API call, 20 nodes, median of 3", api, "ms"),
      info("timeplane CLI process, 20 nodes, median of 3", cli, "ms"),
      against("ansible / timeplane API", ansible / api, "x", ">", 1),
      against("ansible / timeplane CLI", ansible / cli, "x", ">", 1),
    ];
  },
};

function servers(round: number): string[] {
  return ROUNDS.slice(0, round + 1).flat();
}

async function runAnsible(scope: Scope): Promise<number[]> {
  const dir = scope.tempDir("tp-bench-ansible-");
  const roots = Array.from(
    { length: HOSTS },
    (_, i) => `host${String(i + 1).padStart(2, "0")}`,
  );
  for (const host of roots) {
    mkdirSync(path.join(dir, host, "etc/chrony/sources.d"), {
      recursive: true,
    });
  }

  const times: number[] = [];
  for (let round = 0; round < ROUNDS.length; round++) {
    const vars = path.join(dir, "vars.json");
    writeFileSync(
      vars,
      JSON.stringify({
        bench_dir: dir,
        servers: servers(round),
        poll_log2: POLL_LOG2,
      }),
    );
    const { ms } = await timed(() => playbook(scope, dir, vars));
    say(NAME, `ansible-playbook round ${round + 1}: ${Math.round(ms)} ms`);
    times.push(ms);
  }
  const expected = renderSources({ servers: servers(2), poll_log2: POLL_LOG2 });
  for (const host of roots) {
    const file = path.join(dir, host, "etc/chrony/sources.d/timeplane.sources");
    if (readFileSync(file, "utf8") !== expected) {
      throw new Error(`Ansible wrote something else in ${file}`);
    }
  }
  return times;
}

async function playbook(scope: Scope, dir: string, vars: string) {
  const proc = scope.spawn(
    "ansible-playbook",
    [
      "-i",
      path.join(ANSIBLE_DIR, "inventory.ini"),
      path.join(ANSIBLE_DIR, "playbook.yml"),
      "--forks",
      `${HOSTS}`,
      "-e",
      `@${vars}`,
    ],
    {
      ANSIBLE_HOME: path.join(dir, "ansible-home"),
      ANSIBLE_LOCAL_TEMP: path.join(dir, "ansible-local"),
      ANSIBLE_REMOTE_TEMP: path.join(dir, "ansible-remote"),
      ANSIBLE_NOCOLOR: "1",
      ANSIBLE_RETRY_FILES_ENABLED: "0",
    },
  );
  const code = await proc.done(120_000);
  if (code !== 0 || !/changed=1/.test(proc.output())) {
    throw new Error(`ansible-playbook exited ${code}: ${proc.output()}`);
  }
}

async function runTimeplane(scope: Scope) {
  const ctl = await startController(scope);
  const cluster = await apiOk<{ uuid: string; token: string }>(
    ctl.url,
    "POST",
    "/v1/cluster/create",
    { name: "vs-ansible" },
  );
  const farm = await startFarm(scope, HOSTS, cluster.token);
  for (const port of farm.ports) {
    await apiOk(ctl.url, "POST", "/v1/node/add", {
      cluster_uuid: cluster.uuid,
      addr: "127.0.0.1",
      port,
    });
  }

  const api_ms: number[] = [];
  const cli_ms: number[] = [];
  for (let round = 0; round < ROUNDS.length; round++) {
    const addrs = ROUNDS[round] as string[];
    api_ms.push(await apiRound(ctl, cluster.uuid, addrs));
    checkFiles(farm, servers(round));
    await apiOk(ctl.url, "POST", "/v1/ntp/server/delete", {
      cluster_uuid: cluster.uuid,
      addrs,
    });
    cli_ms.push(await cliRound(scope, ctl, cluster.uuid, addrs));
    checkFiles(farm, servers(round));
    const api = Math.round(api_ms[round] ?? 0);
    const cli = Math.round(cli_ms[round] ?? 0);
    say(NAME, `timeplane round ${round + 1}: API ${api} ms, CLI ${cli} ms`);
  }
  return { api_ms, cli_ms };
}

async function apiRound(
  ctl: Controller,
  uuid: string,
  addrs: string[],
): Promise<number> {
  const { ms } = await timed(() =>
    apiOk(ctl.url, "POST", "/v1/ntp/server/add", {
      cluster_uuid: uuid,
      addrs,
      sync_period: 2 ** POLL_LOG2,
      force: true,
    }),
  );
  return ms;
}

/** `timeplane servers add`, a process of its own, as ansible-playbook is. */
async function cliRound(
  scope: Scope,
  ctl: Controller,
  uuid: string,
  addrs: string[],
): Promise<number> {
  const config = scope.tempDir("tp-bench-cli-");
  const { ms } = await timed(async () => {
    const proc = scope.spawn(
      process.execPath,
      [
        TIMEPLANE,
        "servers",
        "add",
        ...addrs,
        "--period",
        `${2 ** POLL_LOG2}`,
        "--force",
        "--server",
        ctl.url,
        "--cluster",
        uuid,
        "--json",
      ],
      { XDG_CONFIG_HOME: config },
    );
    const code = await proc.done(60_000);
    if (code !== 0) {
      throw new Error(`timeplane servers add exited ${code}: ${proc.output()}`);
    }
  });
  return ms;
}

function checkFiles(farm: Farm, expectedServers: string[]): void {
  const written = agentsWithSources(farm, expectedServers, POLL_LOG2);
  if (written !== HOSTS) {
    throw new Error(`Only ${written} of ${HOSTS} agents hold the sources`);
  }
}
