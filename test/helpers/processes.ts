/**
 * Real processes for tests: upstream chronyd servers on loopback (always
 * with -x, optionally under faketime) and timeplane itself. Every process
 * started here is stopped by pid through the handle it returns.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  chmodSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");

export function tempDir(prefix = "tp-"): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o700);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface Proc {
  pid: number;
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function track(child: ChildProcess): Proc {
  let out = "";
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once("exit", () => resolve());
  });
  return {
    pid: child.pid ?? -1,
    child,
    output: () => out,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface Upstream extends Proc {
  addr: string;
  dir: string;
}

/**
 * A real chronyd serving NTP on addr:123 with `local stratum`, clock
 * control off (-x), under faketime when offsetS is given.
 */
export async function startUpstream(
  addr: string,
  opts: { offsetS?: number; stratum?: number; extra?: string[] } = {},
): Promise<Upstream> {
  const dir = tempDir("tp-up-");
  const conf = path.join(dir, "chrony.conf");
  writeFileSync(
    conf,
    [
      `local stratum ${opts.stratum ?? 3}`,
      "allow 127.0.0.0/8",
      `bindaddress ${addr}`,
      "cmdport 0",
      `bindcmdaddress ${dir}/chronyd.sock`,
      `pidfile ${dir}/chronyd.pid`,
      `driftfile ${dir}/drift`,
      ...(opts.extra ?? []),
      "",
    ].join("\n"),
  );
  const chronyd = ["chronyd", "-x", "-d", "-u", "root", "-f", conf];
  const argv =
    opts.offsetS === undefined
      ? chronyd
      : [
          "faketime",
          "-f",
          `${opts.offsetS >= 0 ? "+" : ""}${opts.offsetS}s`,
          ...chronyd,
        ];
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc = track(child);
  await waitFor(
    async () => {
      const r = await run("chronyc", [
        "-h",
        `${dir}/chronyd.sock`,
        "-c",
        "tracking",
      ]).catch(() => null);
      return r !== null;
    },
    10_000,
    () => `upstream ${addr} did not start: ${proc.output()}`,
  );
  const chronydPid = readPid(path.join(dir, "chronyd.pid"));
  return {
    ...proc,
    addr,
    dir,
    async stop() {
      // faketime forks chronyd as its own child: stopping faketime alone
      // would leave chronyd running, so stop chronyd first, by its pid.
      if (chronydPid && chronydPid !== proc.pid) await killPid(chronydPid);
      await proc.stop();
      removeDir(dir);
    },
  };
}

export interface Server extends Proc {
  url: string;
  clusterUuid: string;
}

/** Runs `timeplane serve` as a real process; resolves once it listens. */
export async function startServer(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Server> {
  return startTimeplane("serve", args, env);
}

export interface AgentProc extends Proc {
  url: string;
}

/** Runs `timeplane agent` as a real process; resolves once it listens. */
export async function startAgent(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<AgentProc> {
  const { proc, output } = await launch("agent", args, env, [
    /timeplane agent listening on (\S+)\n/,
  ]);
  const chronydPid = path.join(
    dataOf(args, "./agent-data"),
    "chrony/chronyd.pid",
  );
  return { ...withChronyd(proc, chronydPid), url: output[0] ?? "" };
}

async function startTimeplane(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<Server> {
  const { proc, output } = await launch(command, args, env, [
    /timeplane listening on (\S+)\n/,
    /cluster_uuid (\S+)\n/,
  ]);
  const chronydPid = path.join(
    dataOf(args, "./data"),
    "agent/chrony/chronyd.pid",
  );
  return {
    ...withChronyd(proc, chronydPid),
    url: output[0] ?? "",
    clusterUuid: output[1] ?? "",
  };
}

/** Spawns a timeplane command and waits until its banner has every line. */
async function launch(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  banner: RegExp[],
): Promise<{ proc: Proc; output: string[] }> {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "bin/timeplane.js"), command, ...args],
    {
      cwd: ROOT,
      env: { ...process.env, TIMEPLANE_LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const proc = track(child);
  let output: string[] = [];
  await waitFor(
    () => {
      if (child.exitCode !== null) {
        throw new Error(
          `timeplane ${command} exited ${child.exitCode}: ${proc.output()}`,
        );
      }
      output = banner.map((re) => re.exec(proc.output())?.[1] ?? "");
      return output.every((v) => v !== "");
    },
    30_000,
    () => `timeplane ${command} did not start: ${proc.output()}`,
  );
  return { proc, output };
}

/** The --data folder of a command line, resolved like the command does. */
function dataOf(args: string[], fallback: string): string {
  const at = args.indexOf("--data");
  return path.resolve(ROOT, at >= 0 ? (args[at + 1] ?? fallback) : fallback);
}

/**
 * Stopping a timeplane process also makes sure its supervised chronyd is
 * gone: timeplane stops it on SIGTERM, and a chronyd left behind by a crash
 * is killed by the pid in its pidfile.
 */
function withChronyd(proc: Proc, pidFile: string): Proc {
  return {
    ...proc,
    async stop(signal) {
      await proc.stop(signal);
      const pid = readPid(pidFile);
      if (pid && alive(pid)) await killPid(pid);
    },
  };
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  message: () => string | Promise<string>,
  intervalMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(await message());
}

/** Runs chronyc -c -n against a command socket; returns CSV rows. */
export async function chronyc(
  socket: string,
  ...args: string[]
): Promise<string[][]> {
  const { stdout } = await run("chronyc", ["-h", socket, "-c", "-n", ...args]);
  return stdout
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split(","));
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the pid is gone. */
export async function killPid(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 5_000;
  while (alive(pid) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (alive(pid)) process.kill(pid, "SIGKILL");
}

/** True while a process with that pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readPid(file: string): number | null {
  try {
    return Number.parseInt(readFileSync(file, "utf8"), 10) || null;
  } catch {
    return null;
  }
}
