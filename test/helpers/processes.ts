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
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "bin/timeplane.js"), "agent", ...args],
    {
      cwd: ROOT,
      env: { ...process.env, TIMEPLANE_LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const proc = track(child);
  let url = "";
  await waitFor(
    async () => {
      if (child.exitCode !== null) {
        throw new Error(
          `timeplane agent exited ${child.exitCode}: ${proc.output()}`,
        );
      }
      url =
        /timeplane agent listening on (\S+)\n/.exec(proc.output())?.[1] ?? "";
      return url !== "";
    },
    30_000,
    () => `timeplane agent did not start: ${proc.output()}`,
  );
  return { ...proc, url };
}

async function startTimeplane(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<Server> {
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
  let url = "";
  let clusterUuid = "";
  await waitFor(
    async () => {
      if (child.exitCode !== null) {
        throw new Error(
          `timeplane serve exited ${child.exitCode}: ${proc.output()}`,
        );
      }
      const out = proc.output();
      url = /timeplane listening on (\S+)\n/.exec(out)?.[1] ?? "";
      clusterUuid = /cluster_uuid (\S+)\n/.exec(out)?.[1] ?? "";
      return url !== "" && clusterUuid !== "";
    },
    30_000,
    () => `timeplane serve did not start: ${proc.output()}`,
  );
  return { ...proc, url, clusterUuid };
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
