/**
 * Runs the real `timeplane` CLI as a child process for tests, with a clean
 * environment: no TIMEPLANE_* variables, no colours, and XDG_CONFIG_HOME
 * pointing at a folder the test owns. Children still running when a test
 * ends are stopped by stopAll().
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../../..");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const running = new Set<ChildProcess>();

export function cliEnv(xdg: string, extra: NodeJS.ProcessEnv = {}) {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("TIMEPLANE_")) env[k] = v;
  }
  return { ...env, NO_COLOR: "1", XDG_CONFIG_HOME: xdg, ...extra };
}

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<CliResult> {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "bin/timeplane.js"), ...args],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Stops, by pid, every CLI process that has not exited yet. */
export async function stopAll(): Promise<void> {
  for (const child of running) {
    const closed = new Promise((r) => child.once("close", r));
    child.kill("SIGKILL");
    await closed;
  }
}
