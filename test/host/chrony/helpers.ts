/**
 * Test helpers: temporary folders and real upstream chronyd servers on
 * loopback, optionally under faketime for a known clock offset. faketime
 * forks chronyd as its own child, so an upstream is stopped by the chronyd
 * pid read from its pidfile, then faketime exits on its own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { promises as fs, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Chronyc } from "../../../src/host/chrony/chronyc.ts";

export async function tempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `tp-${prefix}-`));
  await fs.chmod(dir, 0o700);
  return dir;
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

export interface Upstream {
  addr: string;
  /** chronyd's own pid (not faketime's). */
  pid: number;
  stop(): Promise<void>;
}

export interface UpstreamOptions {
  addr: string;
  dir: string;
  /** faketime offset such as "+5s"; none runs chronyd directly. */
  fakeOffset?: string;
  stratum?: number;
}

export async function startUpstream(opts: UpstreamOptions): Promise<Upstream> {
  await fs.mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const conf = path.join(opts.dir, "up.conf");
  const sock = path.join(opts.dir, "up.sock");
  const pidfile = path.join(opts.dir, "up.pid");
  const lines = [
    `local stratum ${opts.stratum ?? 3}`,
    "allow 127.0.0.0/8",
    `bindaddress ${opts.addr}`,
    "cmdport 0",
    `bindcmdaddress ${sock}`,
    `pidfile ${pidfile}`,
    `driftfile ${path.join(opts.dir, "up.drift")}`,
  ];
  await fs.writeFile(conf, `${lines.join("\n")}\n`);

  const chronyd = ["chronyd", "-x", "-d", "-u", "root", "-f", conf];
  const argv = opts.fakeOffset
    ? ["faketime", "-f", opts.fakeOffset, ...chronyd]
    : chronyd;
  const [bin, ...args] = argv as [string, ...string[]];
  const child = spawn(bin, args, { stdio: "ignore" });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));

  try {
    await waitFor(() => new Chronyc({ socket: sock }).tracking(), 10_000);
  } catch (err) {
    await killTree(child, pidfile, exited);
    throw err;
  }
  const pid = readPid(pidfile);
  return {
    addr: opts.addr,
    pid,
    stop: () => killTree(child, pidfile, exited),
  };
}

async function killTree(
  child: ChildProcess,
  pidfile: string,
  exited: Promise<void>,
): Promise<void> {
  const pids = new Set(childrenOf(child.pid));
  try {
    pids.add(readPid(pidfile));
  } catch {
    // No pidfile: chronyd never got far enough to write one.
  }
  pids.delete(child.pid ?? -1);
  for (const pid of pids) await killAndWait(pid);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
  }
  await exited;
}

/** Direct children of a process, such as the chronyd faketime forked. */
function childrenOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8");
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function readPid(pidfile: string): number {
  const pid = Number(readFileSync(pidfile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error("bad pidfile");
  return pid;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

export async function killAndWait(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  while (isAlive(pid)) await sleep(50);
}

/** Retries fn until it resolves or the time is up; returns its value. */
export async function waitFor<T>(
  fn: () => Promise<T>,
  timeoutMs: number,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
    }
    await sleep(everyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
