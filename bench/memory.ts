/**
 * memory: resident set size of an idle controller (`timeplane serve`,
 * dry-run, its default one-node cluster) and of an idle agent (`timeplane
 * agent`, dry-run), each read from /proc/PID/status after 10 s without a
 * request. The bare node:http server of api-throughput, idle as long, is
 * the floor a Node.js process starts from on this machine. Each runs its
 * TypeScript through tsx, which keeps an esbuild service as a child
 * process: its RSS is given apart. The targets are this benchmark's own
 * budget; the issue sets none.
 */
import path from "node:path";
import {
  against,
  type Benchmark,
  childPids,
  info,
  type Proc,
  ROOT,
  rssMiB,
  type Scope,
  sleep,
  startController,
  TIMEPLANE,
  waitFor,
} from "./lib.ts";

const IDLE_MS = 10_000;
const CONTROLLER_MIB = 150;
const AGENT_MIB = 100;

export const memory: Benchmark = {
  name: "memory",
  budgetMs: 90_000,
  async run(scope) {
    const ctl = await startController(scope);
    const agent = await startAgent(scope);
    const bare = await startAndWait(
      scope,
      ["--import", "tsx", path.join(ROOT, "bench/bare-server.ts")],
      /^LISTENING \d+$/m,
    );
    await sleep(IDLE_MS);
    return [
      against(
        "controller, idle 10 s",
        rssMiB(ctl.proc.pid),
        "MiB",
        "<",
        CONTROLLER_MIB,
      ),
      info("  its children (tsx's esbuild)", childrenMiB(ctl.proc.pid), "MiB"),
      against("agent, idle 10 s", rssMiB(agent.pid), "MiB", "<", AGENT_MIB),
      info("  its children (tsx's esbuild)", childrenMiB(agent.pid), "MiB"),
      info("bare node:http (tsx loaded), idle 10 s", rssMiB(bare.pid), "MiB"),
      info("  its children (tsx's esbuild)", childrenMiB(bare.pid), "MiB"),
    ];
  },
};

/** RSS of a process's children: tsx runs an esbuild service beside it. */
function childrenMiB(pid: number): number {
  return childPids(pid).reduce((sum, child) => sum + rssMiB(child), 0);
}

function startAgent(scope: Scope): Promise<Proc> {
  const dir = scope.tempDir("tp-bench-agent-");
  return startAndWait(
    scope,
    [
      TIMEPLANE,
      "agent",
      "--listen",
      "127.0.0.1:0",
      "--data",
      path.join(dir, "data"),
      "--host-root",
      path.join(dir, "root"),
      "--chrony-mode",
      "dry-run",
    ],
    /timeplane agent listening on/,
    { TIMEPLANE_LOG_LEVEL: "warn", TIMEPLANE_TOKEN: "bench-memory-token" },
  );
}

async function startAndWait(
  scope: Scope,
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
): Promise<Proc> {
  const proc = scope.spawn(process.execPath, args, env);
  await waitFor(
    () => {
      if (proc.exited()) throw new Error(`Exited: ${proc.output()}`);
      return ready.test(proc.output());
    },
    30_000,
    () => `Did not start: ${proc.output()}`,
  );
  return proc;
}
