/**
 * A chronyd run by the agent itself as a child process (containers, hosts
 * without systemd, tests). Its config, sources drop-in, command socket,
 * pidfile and drift file live in one state folder of mode 0700. Clock
 * control is off (`-x`) unless enabled. A child that dies is restarted with
 * backoff (1 s doubling to 30 s) until stop() is called. A serving chronyd
 * that cannot open its NTP socket on the bind address keeps running as a
 * client only; start() counts that as a failed start.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, promises as fs, readFileSync } from "node:fs";
import path from "node:path";
import type { DaemonState } from "../../agent/types.ts";
import { TimeplaneError } from "../../errors.ts";
import { writeFileAtomic } from "../atomic-file.ts";
import { Chronyc } from "./chronyc.ts";
import { renderSupervisedConf, type ServeOptions } from "./config.ts";

export interface SupervisedChronydOptions {
  stateDir: string;
  /** Let chronyd step and slew the clock. Default false (`-x`). */
  clockControl?: boolean;
  /** chronyd binary: a path or a name on PATH. Default "chronyd". */
  chronydBin?: string;
  chronycBin?: string;
  /** Serve NTP to others instead of `port 0`. */
  serve?: ServeOptions;
  /** How long start() waits for the command socket. Default 5 s. */
  readyTimeoutMs?: number;
}

export interface StateLayout {
  stateDir: string;
  conf: string;
  sourcesDir: string;
  sourcesFile: string;
  socket: string;
  pidfile: string;
  driftfile: string;
}

/** Unix socket paths are limited to 108 bytes; keep a margin. */
export const MAX_SOCKET_PATH_BYTES = 100;
const LOG_LINES = 50;
const STOP_GRACE_MS = 3000;
const MAX_BACKOFF_MS = 30_000;
/** A child that ran this long before dying restarts from the first step. */
const STABLE_RUN_MS = 60_000;

export function stateLayout(stateDir: string): StateLayout {
  const dir = path.resolve(stateDir);
  const sourcesDir = path.join(dir, "sources.d");
  return {
    stateDir: dir,
    conf: path.join(dir, "chrony.conf"),
    sourcesDir,
    sourcesFile: path.join(sourcesDir, "timeplane.sources"),
    socket: path.join(dir, "chronyd.sock"),
    pidfile: path.join(dir, "chronyd.pid"),
    driftfile: path.join(dir, "drift"),
  };
}

type Phase = "stopped" | "starting" | "active" | "failed";

export class SupervisedChronyd {
  readonly layout: StateLayout;
  readonly chronyc: Chronyc;
  readonly clockControl: boolean;
  private readonly options: SupervisedChronydOptions;
  private serveValue: ServeOptions | undefined;
  /** chronyd's words when the current child could not bind to serve. */
  private bindFailure: string | null = null;
  private child: ChildProcess | null = null;
  private phase: Phase = "stopped";
  private stopping = true;
  private readonly log: string[] = [];
  private exitDetail: string | null = null;
  private backoffMs = 1000;
  private restartTimer: NodeJS.Timeout | null = null;
  private startedAt = 0;

  constructor(options: SupervisedChronydOptions) {
    this.options = options;
    this.serveValue = options.serve;
    this.layout = stateLayout(options.stateDir);
    this.clockControl = options.clockControl ?? false;
    checkSocketLength(this.layout.socket);
    this.chronyc = new Chronyc({
      socket: this.layout.socket,
      bin: options.chronycBin,
    });
  }

  /** Pid of the running chronyd; null when none runs. */
  get pid(): number | null {
    return this.running ? (this.child?.pid ?? null) : null;
  }

  get running(): boolean {
    const child = this.child;
    return (
      child !== null && child.exitCode === null && child.signalCode === null
    );
  }

  /** Absolute path of chronyd, or null when it is not installed. */
  get chronydPath(): string | null {
    return findBinary(this.options.chronydBin ?? "chronyd");
  }

  /** How chronyd serves NTP; undefined when it only polls (`port 0`). */
  get serve(): ServeOptions | undefined {
    return this.serveValue;
  }

  /** Takes effect at the next start or restart. */
  setServe(serve: ServeOptions | undefined): void {
    this.serveValue = serve;
  }

  /** The last lines chronyd wrote to stderr, oldest first. */
  recentLog(): string[] {
    return [...this.log];
  }

  state(): DaemonState {
    const base = { loaded: "loaded", mode: "supervised" };
    if (this.chronydPath === null) {
      const bin = this.options.chronydBin ?? "chronyd";
      const detail = `chronyd not found: "${bin}"`;
      return {
        loaded: "not-found",
        status: "inactive",
        mode: base.mode,
        detail,
      };
    }
    if (this.phase === "failed") {
      const detail = this.exitDetail ?? "chronyd exited";
      return { ...base, status: "failed", detail };
    }
    const status = this.phase === "starting" ? "activating" : this.phase;
    return {
      ...base,
      status: status === "stopped" ? "inactive" : status,
      detail: null,
    };
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.stopping = false;
    this.clearRestart();
    await this.prepareState();
    await this.killStaleChild();
    await this.spawnAndWait();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.clearRestart();
    const child = this.child;
    if (child !== null && child.exitCode === null) {
      await terminate(child);
    }
    this.child = null;
    this.phase = "stopped";
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private async prepareState(): Promise<void> {
    const { stateDir, sourcesDir, sourcesFile, socket, conf } = this.layout;
    await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
    await fs.chmod(stateDir, 0o700);
    await fs.mkdir(sourcesDir, { recursive: true, mode: 0o700 });
    const text = renderSupervisedConf({
      stateDir,
      sourcesDir,
      socket,
      serve: this.serveValue,
    });
    await writeFileAtomic(conf, text, { mode: 0o600, keepPrevious: false });
    await ensureFile(sourcesFile);
  }

  /** A chronyd left by a crashed agent holds our pidfile and socket. */
  private async killStaleChild(): Promise<void> {
    const pid = await readPid(this.layout.pidfile);
    if (pid === null || pid === process.pid) return;
    const cmdline = await readCmdline(pid);
    if (cmdline === null) return;
    const isOurs =
      path.basename(cmdline[0] ?? "") === "chronyd" &&
      cmdline.includes(this.layout.conf);
    if (!isOurs) return;
    await killPid(pid);
  }

  private async spawnAndWait(): Promise<void> {
    const bin = this.chronydPath;
    if (bin === null) {
      throw new TimeplaneError("CHRONY_UNAVAILABLE", {
        why: `chronyd not found: "${this.options.chronydBin ?? "chronyd"}"`,
      });
    }
    const args = ["-d", "-u", "root", "-f", this.layout.conf];
    if (!this.clockControl) args.push("-x");

    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.bindFailure = null;
    this.phase = "starting";
    this.startedAt = Date.now();
    this.collectLog(child);
    const closed = new Promise<void>((resolve) => {
      child.once("close", (code, signal) => {
        this.onClose(child, code, signal);
        resolve();
      });
    });
    child.once("error", () => undefined);
    await this.waitReady(child, closed);
  }

  private collectLog(child: ChildProcess): void {
    let partial = "";
    const take = (chunk: Buffer): void => {
      const lines = (partial + chunk.toString("utf8")).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        this.pushLog(line);
        if (this.child === child) this.noteBindFailure(line);
      }
    };
    child.stdout?.on("data", take);
    child.stderr?.on("data", take);
  }

  /** chronyd logs "Could not open NTP socket on ADDR:123" and goes on. */
  private noteBindFailure(line: string): void {
    const bind = this.serveValue?.bindAddress;
    if (bind === undefined || this.bindFailure !== null) return;
    const where = bind.includes(":") ? `[${bind}]` : bind;
    const at = line.indexOf(`Could not open NTP socket on ${where}:`);
    if (at >= 0) this.bindFailure = line.slice(at);
  }

  private pushLog(line: string): void {
    if (line.trim() === "") return;
    this.log.push(line);
    if (this.log.length > LOG_LINES) this.log.shift();
  }

  private async waitReady(
    child: ChildProcess,
    closed: Promise<void>,
  ): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 5000);
    let lastError = "no answer";
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await closed;
        throw this.startFailure(this.exitDetail ?? "chronyd exited");
      }
      try {
        await this.chronyc.tracking();
      } catch (err) {
        lastError = (err as Error).message;
        await sleep(100);
        continue;
      }
      return this.checkServing(child, closed);
    }
    await terminate(child);
    throw this.startFailure(`command socket not ready: ${lastError}`);
  }

  /** A child that answers but could not bind to serve is stopped. */
  private async checkServing(
    child: ChildProcess,
    closed: Promise<void>,
  ): Promise<void> {
    const failure = this.child === child ? this.bindFailure : null;
    if (failure === null) {
      if (this.child === child) this.phase = "active";
      return;
    }
    await terminate(child);
    await closed;
    this.exitDetail = failure;
    throw new TimeplaneError("CHRONY_UNAVAILABLE", { why: failure });
  }

  private startFailure(why: string): TimeplaneError {
    const tail = this.log.slice(-5).join(" | ");
    return new TimeplaneError("CHRONY_UNAVAILABLE", {
      why: tail === "" ? why : `${why}: ${tail}`,
    });
  }

  private onClose(
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    const how = signal === null ? `code ${code}` : `signal ${signal}`;
    const last = this.log[this.log.length - 1];
    this.exitDetail = `chronyd exited with ${how}: ${last ?? "no output"}`;
    if (this.child !== child || this.stopping) return;
    const wasActive = this.phase === "active";
    this.phase = "failed";
    // A child that never became ready fails its start() call instead.
    if (wasActive) this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (Date.now() - this.startedAt >= STABLE_RUN_MS) this.backoffMs = 1000;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping) return;
      this.spawnAndWait().catch(() => {
        if (!this.stopping) this.scheduleRestart();
      });
    }, delay);
    this.restartTimer.unref();
  }

  private clearRestart(): void {
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }
}

export function checkSocketLength(socket: string): void {
  const bytes = Buffer.byteLength(socket);
  if (bytes >= MAX_SOCKET_PATH_BYTES) {
    throw new TimeplaneError("CHRONY_UNAVAILABLE", {
      why:
        `command socket path "${socket}" is ${bytes} bytes, the limit is ` +
        `${MAX_SOCKET_PATH_BYTES - 1}: choose a shorter state folder`,
    });
  }
}

/** Resolves a binary name through PATH (and the sbin folders). */
export function findBinary(bin: string): string | null {
  if (bin.includes("/")) return isExecutable(bin) ? path.resolve(bin) : null;
  const dirs = (process.env.PATH ?? "").split(":").filter(Boolean);
  for (const dir of [...dirs, "/usr/sbin", "/sbin"]) {
    const candidate = path.join(dir, bin);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function ensureFile(file: string): Promise<void> {
  try {
    await fs.writeFile(file, "", { flag: "wx", mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}

async function readPid(pidfile: string): Promise<number | null> {
  try {
    const pid = Number((await fs.readFile(pidfile, "utf8")).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

async function readCmdline(pid: number): Promise<string[] | null> {
  try {
    const raw = await fs.readFile(`/proc/${pid}/cmdline`, "utf8");
    return raw.split("\0").filter((arg) => arg !== "");
  } catch {
    return null;
  }
}

/** False for a gone pid and for a zombie nobody reaped yet. */
function isAlive(pid: number): boolean {
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

/** SIGTERM, then SIGKILL after the grace period, for a pid not our child. */
async function killPid(pid: number): Promise<void> {
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + STOP_GRACE_MS;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  while (isAlive(pid) && Date.now() < deadline + 1000) await sleep(50);
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
