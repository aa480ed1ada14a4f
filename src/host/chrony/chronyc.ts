/**
 * chronyc over chronyd's Unix command socket, always in CSV mode
 * (`chronyc -h SOCKET -c -n ...`). Reports are parsed into the agent's
 * types; failures become a ChronycError that keeps chrony's numbered reply
 * ("500 Failure", "503 No such source") and says what kind of failure it
 * was, so that callers can tell a missing daemon from a refusal.
 */
import { type ExecFileException, execFile } from "node:child_process";
import { existsSync } from "node:fs";
import type { ChronySource, Tracking } from "../../agent/types.ts";
import { TimeplaneError } from "../../errors.ts";

export type ChronycErrorKind =
  | "no_daemon"
  | "refused"
  | "timeout"
  | "not_installed"
  | "bad_output";

export class ChronycError extends TimeplaneError {
  readonly kind: ChronycErrorKind;
  /** chrony's reply or diagnostic, such as "500 Failure". */
  readonly reply: string;
  /** The chronyc command, such as "makestep". */
  readonly command: string;

  constructor(kind: ChronycErrorKind, command: string, reply: string) {
    if (kind === "no_daemon" || kind === "not_installed") {
      super("CHRONY_UNAVAILABLE", { why: `${command}: ${reply}` });
    } else {
      super("HOST_OPERATION_FAILED", {
        op: `chronyc ${command}`,
        why: `chronyd answered "${reply}"`,
      });
    }
    this.name = "ChronycError";
    this.kind = kind;
    this.reply = reply;
    this.command = command;
  }
}

/** tracking with the one field the agent's Tracking type leaves out. */
export interface TrackingReport extends Tracking {
  residual_freq_ppm: number;
}

export interface ChronycOptions {
  /** Path of chronyd's Unix command socket. */
  socket: string;
  /** chronyc binary. Default "chronyc" on PATH. */
  bin?: string;
  /** Kill chronyc after this long. Default 10 s (chronyc itself gives up
   * after about 7 s on a socket nobody answers). */
  timeoutMs?: number;
}

const NEVER_SAMPLED = "4294967295";
const REPLY_LINE = /^(\d{3}) (.+)$/;

export class Chronyc {
  readonly socket: string;
  readonly bin: string;
  readonly timeoutMs: number;

  constructor(options: ChronycOptions) {
    this.socket = options.socket;
    this.bin = options.bin ?? "chronyc";
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async tracking(): Promise<TrackingReport> {
    const rows = await this.report(["tracking"]);
    const row = rows[0];
    if (row === undefined) {
      throw new ChronycError("bad_output", "tracking", "no tracking report");
    }
    return parseTracking(row);
  }

  /**
   * Sources merged with their statistics. Right after `reload sources`
   * chronyd may answer "503 No such source" for an index that just went
   * away (F17): that reads as an empty list, not as a failure.
   */
  async sources(): Promise<ChronySource[]> {
    const rows = await this.tolerateReload(["sources"]);
    if (rows.length === 0) return [];
    const stats = await this.tolerateReload(["sourcestats"]);
    return mergeSources(
      rows.map((row) => parseSourceRow(row)),
      stats.map((row) => parseStatsRow(row)),
    );
  }

  /** Asks every source for good of max fresh samples now. */
  burst(good = 4, max = 8): Promise<string> {
    return this.action(["burst", `${good}/${max}`]);
  }

  makestep(): Promise<string> {
    return this.action(["makestep"]);
  }

  reloadSources(): Promise<string> {
    return this.action(["reload", "sources"]);
  }

  /** Runs a command that answers with a reply line, such as "200 OK". */
  async action(args: string[]): Promise<string> {
    const lines = await this.exec(args);
    return lines.find((line) => REPLY_LINE.test(line)) ?? "200 OK";
  }

  /** Runs a report command and returns its CSV rows, split into fields. */
  async report(args: string[]): Promise<string[][]> {
    const lines = await this.exec(args);
    return lines
      .filter((line) => line !== "" && !REPLY_LINE.test(line))
      .map((line) => line.split(","));
  }

  private async tolerateReload(args: string[]): Promise<string[][]> {
    try {
      return await this.report(args);
    } catch (err) {
      if (err instanceof ChronycError && err.reply.startsWith("503 ")) {
        return [];
      }
      throw err;
    }
  }

  private exec(args: string[]): Promise<string[]> {
    const command = args.join(" ");
    if (this.socket.startsWith("/") && !existsSync(this.socket)) {
      const why = `command socket "${this.socket}" does not exist`;
      return Promise.reject(new ChronycError("no_daemon", command, why));
    }
    const argv = ["-h", this.socket, "-c", "-n", ...args];
    return new Promise((resolve, reject) => {
      execFile(
        this.bin,
        argv,
        { timeout: this.timeoutMs },
        (err, stdout, stderr) => {
          const lines = String(stdout).split("\n");
          if (err === null) return resolve(lines);
          reject(failure(command, err, lines, String(stderr), this.timeoutMs));
        },
      );
    });
  }
}

function failure(
  command: string,
  err: ExecFileException,
  lines: string[],
  stderr: string,
  timeoutMs: number,
): ChronycError {
  if (err.code === "ENOENT") {
    return new ChronycError("not_installed", command, "chronyc not found");
  }
  if (err.killed) {
    const why = `no answer within ${timeoutMs} ms`;
    return new ChronycError("timeout", command, why);
  }
  const reply = lines.find((line) => REPLY_LINE.test(line));
  const said = stderr.trim().split("\n").pop() ?? "";
  if (reply?.startsWith("506 ") || said.includes("Could not open")) {
    return new ChronycError("no_daemon", command, reply ?? said);
  }
  return new ChronycError("refused", command, reply ?? (said || err.message));
}

export function parseTracking(fields: string[]): TrackingReport {
  if (fields.length !== 14) {
    const why = `tracking has ${fields.length} fields, expected 14`;
    throw new ChronycError("bad_output", "tracking", why);
  }
  const f = fields as [string, ...string[]];
  const num = (i: number): number => toNumber(f[i], "tracking");
  return {
    ref_id: f[0],
    ref_name: f[1] ?? "",
    stratum: num(2),
    ref_time_s: num(3),
    system_time_s: num(4),
    last_offset_s: num(5),
    rms_offset_s: num(6),
    freq_ppm: num(7),
    residual_freq_ppm: num(8),
    skew_ppm: num(9),
    root_delay_s: num(10),
    root_dispersion_s: num(11),
    update_interval_s: num(12),
    leap_status: f[13] ?? "",
  };
}

const KINDS: Record<string, string> = {
  "^": "server",
  "=": "peer",
  "#": "refclock",
};

const STATES: Record<string, string> = {
  "*": "selected",
  "+": "combined",
  "-": "not_combined",
  x: "falseticker",
  "~": "jittery",
};

/**
 * chronyc's "?" covers two cases: no reply at all (reach 0: unreachable),
 * or replies that do not pass chronyd's tests, such as a source that is
 * itself unsynchronised or still collecting its first samples (unusable).
 */
function stateOf(mark: string, reach: number): string {
  if (mark === "?") return reach > 0 ? "unusable" : "unreachable";
  return STATES[mark] ?? "unselected";
}

/** One row of `sources`: mode, state, name, stratum, poll, reach (octal),
 * last rx, adjusted offset, measured offset, error. */
export function parseSourceRow(fields: string[]): ChronySource {
  if (fields.length !== 10) {
    const why = `sources row has ${fields.length} fields, expected 10`;
    throw new ChronycError("bad_output", "sources", why);
  }
  const f = fields as [string, ...string[]];
  const num = (i: number): number => toNumber(f[i], "sources");
  const sampled = f[6] !== NEVER_SAMPLED;
  const reach = Number.parseInt(f[5] ?? "", 8);
  return {
    addr: f[2] ?? "",
    kind: KINDS[f[0]] ?? "unknown",
    state: stateOf(f[1] ?? "", reach),
    stratum: num(3),
    poll_log2: num(4),
    reach,
    last_rx_s: sampled ? num(6) : null,
    offset_s: sampled ? num(7) : null,
    error_s: sampled ? num(9) : null,
    samples: 0,
  };
}

export interface SourceStats {
  addr: string;
  samples: number;
  /** Estimated offset of the source from the regression, seconds. */
  offset_s: number;
  std_dev_s: number;
}

/** One row of `sourcestats`: name, NP, NR, span, frequency, skew, offset,
 * standard deviation. */
export function parseStatsRow(fields: string[]): SourceStats {
  if (fields.length !== 8) {
    const why = `sourcestats row has ${fields.length} fields, expected 8`;
    throw new ChronycError("bad_output", "sourcestats", why);
  }
  const num = (i: number): number => toNumber(fields[i], "sourcestats");
  return {
    addr: fields[0] ?? "",
    samples: num(1),
    offset_s: num(6),
    std_dev_s: num(7),
  };
}

export function mergeSources(
  sources: ChronySource[],
  stats: SourceStats[],
): ChronySource[] {
  const byAddr = new Map(stats.map((s) => [s.addr, s]));
  return sources.map((source) => ({
    ...source,
    samples: byAddr.get(source.addr)?.samples ?? 0,
  }));
}

function toNumber(text: string | undefined, command: string): number {
  const value = Number(text);
  if (text === undefined || text === "" || !Number.isFinite(value)) {
    throw new ChronycError("bad_output", command, `not a number: "${text}"`);
  }
  return value;
}
