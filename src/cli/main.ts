/**
 * The timeplane command: `serve` (the controller), `agent` (one per node)
 * and client commands. Every flag has an environment equivalent.
 */
import { Command, Option } from "commander";
import { VERSION } from "../version.ts";
import { runAgent } from "./agent.ts";
import { registerClientCommands } from "./client/index.ts";
import { addHostOptions, hostFlags, onSignals } from "./host-options.ts";
import { serve } from "./serve.ts";

const program = new Command()
  .name("timeplane")
  .description("Control plane for time on a cluster of Linux servers")
  .version(VERSION);

const number = (v: string) => Number.parseFloat(v);

const serveCommand = program
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
  );
addHostOptions(serveCommand)
  .addOption(
    new Option("--reconcile-interval <seconds>", "how often to retry nodes")
      .env("TIMEPLANE_RECONCILE_INTERVAL")
      .argParser(number)
      .default(30),
  )
  .addOption(
    new Option("--skew-warn-ms <ms>", "skew or offset that is a warning")
      .env("TIMEPLANE_SKEW_WARN_MS")
      .argParser(number)
      .default(50),
  )
  .addOption(
    new Option("--skew-critical-ms <ms>", "skew or offset that is critical")
      .env("TIMEPLANE_SKEW_CRITICAL_MS")
      .argParser(number)
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
  .action(async (o) => {
    const controller = await serve({
      ...hostFlags(o),
      listen: o.listen,
      data: o.data,
      reconcileIntervalMs: o.reconcileInterval * 1000,
      debug: Boolean(o.debug),
      requireToken: Boolean(o.requireToken),
      rateLimitPerMinute: o.rateLimit,
      skewWarnMs: o.skewWarnMs,
      skewCriticalMs: o.skewCriticalMs,
    });
    const auth = controller.requireToken
      ? "required"
      : "not required on loopback";
    process.stdout.write(
      `timeplane listening on ${controller.url}\n` +
        `cluster_uuid ${controller.clusterUuid}\n` +
        `data ${o.data}\n` +
        `agent token file ${controller.tokenFile}\n` +
        `api token file ${controller.apiTokenFile} (${auth})\n`,
    );
    onSignals(() => controller.close());
  });

const agentCommand = program
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
  );
addHostOptions(agentCommand)
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
  .action(async (o) => {
    const agent = await runAgent({
      ...hostFlags(o),
      listen: o.listen,
      token: o.token,
      tokenFile: o.tokenFile,
      data: o.data,
      controller: o.controller,
      clusterUuid: o.clusterUuid,
      addr: o.addr,
    });
    process.stdout.write(`timeplane agent listening on ${agent.url}\n`);
    if (agent.ownTokenFile) {
      process.stdout.write(`agent token file ${agent.ownTokenFile}\n`);
    }
    onSignals(() => agent.close());
  });

registerClientCommands(program);

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`timeplane: ${err.message}\n`);
  process.exit(1);
});
