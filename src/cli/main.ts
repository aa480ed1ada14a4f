/**
 * The timeplane command: `serve` (the controller), `agent` (one per node)
 * and client commands. Every flag has an environment equivalent.
 */
import { Command, Option } from "commander";
import { VERSION } from "../version.ts";
import { serve } from "./serve.ts";

const program = new Command()
  .name("timeplane")
  .description("Control plane for time on a cluster of Linux servers")
  .version(VERSION);

program
  .command("serve")
  .description("Run the controller: REST API, store, fan-out to agents")
  .addOption(
    new Option("--listen <addr:port>", "address to serve the API on")
      .env("TIMEPLANE_LISTEN")
      .default("127.0.0.1:9990"),
  )
  .addOption(
    new Option("--data <dir>", "data folder: store and agent state")
      .env("TIMEPLANE_DATA")
      .default("./data"),
  )
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
      .choices(["auto", "supervised", "systemd"])
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
    new Option("--source-port <port>", "NTP port of the sources (tests only)")
      .env("TIMEPLANE_SOURCE_PORT")
      .argParser((v) => Number.parseInt(v, 10))
      .hideHelp(),
  )
  .addOption(
    new Option("--reconcile-interval <seconds>", "how often to retry nodes")
      .env("TIMEPLANE_RECONCILE_INTERVAL")
      .argParser((v) => Number.parseFloat(v))
      .default(30),
  )
  .addOption(
    new Option("--debug", "stack traces in error replies").env(
      "TIMEPLANE_DEBUG",
    ),
  )
  .addOption(
    new Option("--log-level <level>", "pino log level")
      .env("TIMEPLANE_LOG_LEVEL")
      .default("info"),
  )
  .action(async (o) => {
    const controller = await serve({
      listen: o.listen,
      data: o.data,
      hostRoot: o.hostRoot,
      zoneinfo: o.zoneinfo,
      chronyMode: o.chronyMode,
      clockControl: Boolean(o.clockControl),
      sourcePort: o.sourcePort,
      reconcileIntervalMs: o.reconcileInterval * 1000,
      debug: Boolean(o.debug),
      logLevel: o.logLevel,
    });
    process.stdout.write(
      `timeplane listening on ${controller.url}\n` +
        `cluster_uuid ${controller.clusterUuid}\n` +
        `data ${o.data}\n`,
    );
    onSignals(() => controller.close());
  });

function onSignals(close: () => Promise<void>): void {
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
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`timeplane: ${err.message}\n`);
  process.exit(1);
});
