/**
 * The one seam through which the chrony code runs host commands that tests
 * cannot run for real, such as systemctl where systemd is not PID 1. A run
 * never throws for a non-zero exit: the caller reads the code.
 */
import { execFile } from "node:child_process";

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when the process was killed or could not start. */
  code: number | null;
  /** Set when the command could not be started, such as "ENOENT". */
  spawnError: string | null;
}

export type RunCommand = (cmd: string, args: string[]) => Promise<RunResult>;

export interface RunOptions {
  timeoutMs?: number;
}

export function makeRun(options: RunOptions = {}): RunCommand {
  const timeout = options.timeoutMs ?? 15_000;
  return (cmd, args) =>
    new Promise((resolve) => {
      execFile(cmd, args, { timeout }, (err, stdout, stderr) => {
        resolve({
          stdout: String(stdout),
          stderr: String(stderr),
          code: exitCode(err),
          spawnError: spawnError(err),
        });
      });
    });
}

/** The default: execFile with a 15 s timeout. */
export const runCommand: RunCommand = makeRun();

function exitCode(err: unknown): number | null {
  if (err === null) return 0;
  const code = (err as { code?: unknown }).code;
  return typeof code === "number" ? code : null;
}

function spawnError(err: unknown): string | null {
  if (err === null) return null;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") return code;
  return (err as { killed?: boolean }).killed ? "ETIMEDOUT" : null;
}
