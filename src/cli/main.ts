/**
 * The timeplane command: `serve` (the controller), `agent` (one per node)
 * and client commands. Every flag has an environment equivalent.
 */
import { Command, Option } from "commander";
import { VERSION } from "../version.ts";
import { runAgent } from "./agent.ts";
import { registerClientCommands } from "./client/index.ts";
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
    new Option("--reconcile-interval <seconds>", "how often to retry nodes")
      .env("TIMEPLANE_RECONCILE_INTERVAL")
      .argParser((v) => Number.parseFloat(v))
      .default(30),
  )
  .addOption(
    new Option("--skew-warn-ms <ms>", "skew or offset that is a warning")
      .env("TIMEPLANE_SKEW_WARN_MS")
      .argParser((v) => Number.parseFloat(v))
      .default(50),
  )
  .addOption(
    new Option("--skew-critical-ms <ms>", "skew or offset that is critical")
      .env("TIMEPLANE_SKEW_CRITICAL_MS")
      .argParser((v) => Number.parseFloat(v))
      .default(1000),
  )
  .addOption(
    new Option(
      "--require-token",
      "require the API token even on loopback (always required elsewhere)",
    ).env("TIMEPLANE_REQUIRE_TOKEN"),
  )
  .addOption(
    new Option(
      "--rate-limit <n>",
      "most API requests per client per minute, 0 for none",
    )
      .env("TIMEPLANE_RATE_LIMIT")
      .argParser((v) => Number.parseInt(v, 10))
      .default(1200),
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
      chronydBin: o.chronydBin,
      chronycBin: o.chronycBin,
      reconcileIntervalMs: o.reconcileInterval * 1000,
      debug: Boolean(o.debug),
      logLevel: o.logLevel,
      requireToken: Boolean(o.requireToken),
      rateLimitPerMinute: o.rateLimit,
      skewWarnMs: o.skewWarnMs,
      skewCriticalMs: o.skewCriticalMs,
    });
    process.stdout.write(
      `timeplane listening on ${controller.url}\n` +
        `cluster_uuid ${controller.clusterUuid}\n` +
        `data ${o.data}\n` +
        `agent token file ${controller.tokenFile}\n` +
        `api token file ${controller.apiTokenFile} (${controller.requireToken ? "required" : "not required on loopback"})\n`,
    );
    onSignals(() => controller.close());
  });

program
  .command("agent")
  .description("Run a node's agent: serves this host to the controller")
  .addOption(
    new Option("--listen <addr:port>", "address to serve the agent on")
      .env("TIMEPLANE_AGENT_LISTEN")
      .default("127.0.0.1:9991"),
  )
  .addOption(
    new Option("--token <token>", "the cluster token").env("TIMEPLANE_TOKEN"),
  )
  .addOption(
    new Option("--token-file <file>", "file holding the cluster token").env(
      "TIMEPLANE_TOKEN_FILE",
    ),
  )
  .addOption(
    new Option("--data <dir>", "agent state folder")
      .env("TIMEPLANE_AGENT_DATA")
      .default("./agent-data"),
  )
  .addOption(
    new Option("--host-root <dir>", "folder standing for / of this host")
      .env("TIMEPLANE_HOST_ROOT")
      .default("/"),
  )
  .addOption(
    new Option("--zoneinfo <dir>", "zoneinfo tree").env("TIMEPLANE_ZONEINFO"),
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
      "let a supervised chronyd step the clock",
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
    new Option(
      "--controller <url>",
      "controller to ask for the desired state",
    ).env("TIMEPLANE_CONTROLLER"),
  )
  .addOption(
    new Option("--cluster-uuid <uuid>", "this node's cluster").env(
      "TIMEPLANE_CLUSTER_UUID",
    ),
  )
  .addOption(
    new Option(
      "--addr <addr>",
      "address the controller knows this node by",
    ).env("TIMEPLANE_AGENT_ADDR"),
  )
  .addOption(
    new Option("--log-level <level>", "pino log level")
      .env("TIMEPLANE_LOG_LEVEL")
      .default("info"),
  )
  .action(async (o) => {
    const agent = await runAgent({
      listen: o.listen,
      token: o.token,
      tokenFile: o.tokenFile,
      data: o.data,
      hostRoot: o.hostRoot,
      zoneinfo: o.zoneinfo,
      chronyMode: o.chronyMode,
      clockControl: Boolean(o.clockControl),
      sourcePort: o.sourcePort,
      chronydBin: o.chronydBin,
      chronycBin: o.chronycBin,
      controller: o.controller,
      clusterUuid: o.clusterUuid,
      addr: o.addr,
      logLevel: o.logLevel,
    });
    process.stdout.write(`timeplane agent listening on ${agent.url}\n`);
    if (agent.ownTokenFile) {
      process.stdout.write(`agent token file ${agent.ownTokenFile}\n`);
    }
    onSignals(() => agent.close());
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

registerClientCommands(program);

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`timeplane: ${err.message}\n`);
  process.exit(1);
});
