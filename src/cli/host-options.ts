/**
 * The flags `serve` and `agent` share: where the host is, how chrony runs,
 * logging. Each has an environment equivalent.
 */
import { type Command, Option } from "commander";
import type { ChronyModeOption } from "../agent/local.ts";

export interface HostFlags {
  hostRoot: string;
  zoneinfo?: string;
  chronyMode: ChronyModeOption;
  clockControl?: boolean;
  chronydBin?: string;
  chronycBin?: string;
  sourcePort?: number;
  logLevel: string;
}

export function addHostOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--host-root <dir>", "folder standing for / of this host")
        .env("TIMEPLANE_HOST_ROOT")
        .default("/"),
    )
    .addOption(
      new Option(
        "--zoneinfo <dir>",
        "zoneinfo tree (default: <host-root>/usr/share/zoneinfo if present, else /usr/share/zoneinfo)",
      ).env("TIMEPLANE_ZONEINFO"),
    )
    .addOption(
      new Option("--chrony-mode <mode>", "how chronyd runs")
        .choices(["auto", "supervised", "systemd", "dry-run"])
        .env("TIMEPLANE_CHRONY_MODE")
        .default("auto"),
    )
    .addOption(
      new Option(
        "--clock-control",
        "let a supervised chronyd step and slew this clock (no -x)",
      ).env("TIMEPLANE_CLOCK_CONTROL"),
    )
    .addOption(
      new Option("--chronyd-bin <path>", "chronyd to run (tests only)")
        .env("TIMEPLANE_CHRONYD_BIN")
        .hideHelp(),
    )
    .addOption(
      new Option("--chronyc-bin <path>", "chronyc to run (tests only)")
        .env("TIMEPLANE_CHRONYC_BIN")
        .hideHelp(),
    )
    .addOption(
      new Option("--source-port <port>", "NTP port of the sources (tests only)")
        .env("TIMEPLANE_SOURCE_PORT")
        .argParser((v) => Number.parseInt(v, 10))
        .hideHelp(),
    )
    .addOption(
      new Option("--log-level <level>", "pino log level")
        .env("TIMEPLANE_LOG_LEVEL")
        .default("info"),
    );
}

/** The host part of the settings of serve() and runAgent(). */
export type HostSettings = ReturnType<typeof hostFlags>;

/** The host part of the parsed flags, as serve() and runAgent() take it. */
export function hostFlags(o: HostFlags) {
  return {
    hostRoot: o.hostRoot,
    zoneinfo: o.zoneinfo,
    chronyMode: o.chronyMode,
    clockControl: Boolean(o.clockControl),
    sourcePort: o.sourcePort,
    chronydBin: o.chronydBin,
    chronycBin: o.chronycBin,
    logLevel: o.logLevel,
  };
}

/** Stops cleanly on SIGTERM or SIGINT, once. */
export function onSignals(close: () => Promise<void>): void {
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    process.stderr.write(`timeplane: ${signal}, shutting down\n`);
    close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`timeplane: shutdown failed: ${err}\n`);
        process.exit(1);
      },
    );
  };
  // A bug that leaves a promise rejected must not take the node's time
  // service down with it: say so loudly and keep running.
  process.on("unhandledRejection", (err) => {
    process.stderr.write(`timeplane: unhandled rejection: ${String(err)}\n`);
  });
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
