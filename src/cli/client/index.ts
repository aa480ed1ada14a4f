/**
 * The client commands of `timeplane`: each one sends a request to the
 * controller's REST API and prints the reply. Registered on the top
 * command by main.ts.
 */
import type { Command } from "commander";
import { registerClock } from "./clock.ts";
import { registerCluster } from "./cluster.ts";
import { asClient, EXIT_HELP } from "./command.ts";
import { registerNodes } from "./nodes.ts";
import { registerServers } from "./servers.ts";
import { registerStatus } from "./status.ts";
import { registerToken } from "./token.ts";
import { registerZones } from "./zones.ts";

const CLIENT_HELP = `
Client options (after the command): --server URL, --token T, --cluster UUID,
--json, --config FILE; see \`timeplane <command> --help\` and docs/cli.md.
`;

export function registerClientCommands(program: Command): void {
  registerServers(program);
  registerZones(program);
  registerClock(program);
  registerNodes(program);
  registerStatus(program);
  registerCluster(program);
  registerToken(program);
  asClient(program).addHelpText("after", `${CLIENT_HELP}${EXIT_HELP}`);
}
