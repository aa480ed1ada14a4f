/**
 * What every benchmark shares: measures with their targets, a scope that
 * stops every process and removes every folder a benchmark started (also
 * when it fails or runs out of time), timing, RSS and CPU time read from
 * /proc, and a real controller process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "..");
export const TIMEPLANE = path.join(ROOT, "bin/timeplane.js");

/** One number a benchmark measured, with its target when it has one. */
export interface Measure {
  what: string;
  value: number;
  unit: string;
  /** Such as "< 1 ms"; null for a figure given for information. */
  target: string | null;
  pass: boolean | null;
}

export interface Benchmark {
  name: string;
  /** Longest the benchmark may run, setup and teardown included. */
  budgetMs: number;
  run(scope: Scope): Promise<Measure[]>;
}

/** A measure held against a limit: `value op limit` passes. */
export function against(
  what: string,
  value: number,
  unit: string,
  op: "<" | "<=" | ">",
  limit: number,
): Measure {
  const pass =
    op === "<" ? value < limit : op === "<=" ? value <= limit : value > limit;
  return { what, value, unit, target: `${op} ${limit} ${unit}`, pass };
}

export function info(what: string, value: number, unit: string): Measure {
  return { what, value, unit, target: null, pass: null };
}

export function formatMeasure(m: Measure): string {
  const verdict = m.pass === null ? "" : m.pass ? "  PASS" : "  MISS";
  const target = m.target === null ? "" : `  (target ${m.target})`;
  return `${m.what}: ${round(m.value)} ${m.unit}${target}${verdict}`;
}

/** Three decimals below 10000, one above, for tables. */
export function round(value: number): number {
  if (Math.abs(value) >= 10_000) return Math.round(value * 10) / 10;
  return Math.round(value * 1000) / 1000;
}

/** Prints one line of a benchmark's progress or result. */
export function say(name: string, line: string): void {
  process.stdout.write(`[${name}] ${line}\n`);
}

/**
 * Everything one benchmark started, undone in reverse order by close().
 * Once closed, a process started late (after a timeout) is stopped at once.
 */
export class Scope {
  private readonly undo: Array<() => Promise<void> | void> = [];
  private closed = false;

  constructor(readonly name: string) {}

  get isClosed(): boolean {
    return this.closed;
  }

  defer(fn: () => Promise<void> | void): void {
    if (this.closed) {
      void Promise.resolve().then(fn);
      return;
    }
    this.undo.push(fn);
  }

  tempDir(prefix = "tp-bench-"): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    chmodSync(dir, 0o700);
    this.defer(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  spawn(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const proc = track(child);
    this.defer(() => proc.stop());
    return proc;
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.undo.length > 0) {
      const fn = this.undo.pop();
      try {
        await fn?.();
      } catch (err) {
        say(this.name, `cleanup failed: ${(err as Error).message}`);
      }
    }
  }
}

export interface Proc {
  pid: number;
  child: ChildProcess;
  output(): string;
  exited(): boolean;
  /** Resolves with the exit code once the process ends by itself. */
  done(timeoutMs: number): Promise<number | null>;
  stop(): Promise<void>;
}

function track(child: ChildProcess): Proc {
  let out = "";
  const append = (b: Buffer) => {
    out += b.toString();
    if (out.length > 1_000_000) out = out.slice(-500_000);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  child.stdin?.on("error", () => undefined);
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const exit = new Promise<void>((resolve) => {
    if (gone()) resolve();
    child.once("exit", () => resolve());
  });
  return {
    pid: child.pid ?? -1,
    child,
    output: () => out,
    exited: gone,
    async done(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Still running after ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([exit, late]);
        return child.exitCode;
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      if (gone()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

// One copy of the pid helpers, shared with the tests.
export { alive, killPid, readPid } from "../test/helpers/processes.ts";

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  message: () => string,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(intervalMs);
  }
  throw new Error(message());
}

/** Wall time of fn, in milliseconds, with its value. */
export async function timed<T>(
  fn: () => Promise<T>,
): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/** Resident set size of a process, in MiB, from /proc/PID/status. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`No VmRSS for pid ${pid}`);
  return Number(kb) / 1024;
}

/** The pids of a process's children, from /proc. */
export function childPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8");
    return text.trim() === "" ? [] : text.trim().split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/** User plus system CPU time of a process, in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which may hold blanks, in parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  if (sorted.length % 2 === 1) return sorted[mid] as number;
  return ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface Controller {
  proc: Proc;
  url: string;
  clusterUuid: string;
}

/**
 * `timeplane serve` in dry-run mode as its own process, with its data
 * (`<dir>/data`) and host root in `dir`, by default a new temporary folder
 * of the scope; resolves once it listens.
 */
export async function startController(
  scope: Scope,
  extra: string[] = [],
  dir = scope.tempDir("tp-bench-ctl-"),
): Promise<Controller> {
  const proc = scope.spawn(
    process.execPath,
    [
      TIMEPLANE,
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--data",
      path.join(dir, "data"),
      "--host-root",
      path.join(dir, "root"),
      "--chrony-mode",
      "dry-run",
      ...extra,
    ],
    { TIMEPLANE_LOG_LEVEL: "warn" },
  );
  let url = "";
  let clusterUuid = "";
  await waitFor(
    () => {
      if (proc.exited()) throw new Error(`Controller exited: ${proc.output()}`);
      url = /timeplane listening on (\S+)\n/.exec(proc.output())?.[1] ?? "";
      clusterUuid = /cluster_uuid (\S+)\n/.exec(proc.output())?.[1] ?? "";
      return url !== "" && clusterUuid !== "";
    },
    30_000,
    () => `Controller did not start: ${proc.output()}`,
  );
  return { proc, url, clusterUuid };
}

export interface Envelope<T> {
  http: number;
  scode: number;
  message: string;
  data: T;
}

/** One call of the controller's REST API. */
export async function api<T = Record<string, unknown>>(
  base: string,
  method: "GET" | "POST",
  route: string,
  body?: unknown,
): Promise<Envelope<T>> {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  const reply = (await res.json()) as Omit<Envelope<T>, "http">;
  return { http: res.status, ...reply };
}

/** Like api(), but throws unless scode is 0. */
export async function apiOk<T = Record<string, unknown>>(
  base: string,
  method: "GET" | "POST",
  route: string,
  body?: unknown,
): Promise<T> {
  const reply = await api<T>(base, method, route, body);
  if (reply.scode !== 0) {
    throw new Error(
      `${method} ${route} answered HTTP ${reply.http} ` +
        `scode ${reply.scode}: ${reply.message}`,
    );
  }
  return reply.data;
}

/** Runs tasks at most `limit` at a time; results in input order. */
export async function bounded<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i] as T, i);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  );
  return results;
}
