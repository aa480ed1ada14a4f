/** `timeplane nodes` and `timeplane node add|delete ADDR [--port N]`. */
import type { Command } from "commander";
import type { NodeView } from "../../cluster/membership.ts";
import { clientCommand, groupCommand, handle, integer } from "./command.ts";
import {
  type Colors,
  keyValues,
  type NodeStatus,
  nodeResults,
  rfc3339,
  table,
  text,
} from "./format.ts";

interface NodeList {
  list: NodeView[];
  total_count: number;
  desired_version: number;
}

interface NodeAdded {
  node?: NodeView;
  status?: NodeStatus[];
}

export function registerNodes(program: Command): void {
  handle(
    clientCommand(program, "nodes", "The cluster's nodes and their state"),
    () => ({
      request: (api) => api.get<NodeList>("/v1/node/list", api.cluster()),
      render: renderList,
    }),
  );

  const group = groupCommand(program, "node", "Add or remove a node");
  handle(
    nodeCommand(group, "add", "Add a node: its agent must answer"),
    (cmd) => {
      const body = nodeBody(cmd);
      return {
        request: (api) =>
          api.post<NodeAdded>("/v1/node/add", { ...body, ...api.cluster() }),
        render: (data: NodeAdded, c: Colors) => nodeResults(data.status, c),
      };
    },
  );
  handle(
    nodeCommand(group, "delete", "Remove a node from the cluster"),
    (cmd) => {
      const body = nodeBody(cmd);
      return {
        request: (api) =>
          api.post("/v1/node/delete", { ...body, ...api.cluster() }),
        render: () =>
          `Removed node ${body.addr}${body.port ? `:${body.port}` : ""}`,
      };
    },
  );
}

function nodeCommand(group: Command, name: string, description: string) {
  return clientCommand(group, name, description)
    .argument("<addr>", "the node's address")
    .option(
      "--port <port>",
      "the agent's port (default 9991)",
      integer("--port"),
    );
}

function nodeBody(cmd: Command): { addr: string; port?: number } {
  const addr = cmd.processedArgs[0] as string;
  const port = cmd.opts<{ port?: number }>().port;
  return port === undefined ? { addr } : { addr, port };
}

function renderList(data: NodeList, c: Colors): string {
  const version = keyValues([["Desired version", text(data.desired_version)]]);
  const head = ["NODE", "PORT", "LOCAL", "APPLIED VERSION", "IN SYNC"];
  head.push("LOADED", "STATUS", "LAST SEEN (UTC)", "LAST ERROR");
  const rows = data.list.map((n) => [
    n.addr,
    n.port ? String(n.port) : "-",
    text(n.local),
    text(n.applied_version),
    n.in_sync ? c.green("yes") : c.yellow("no"),
    text(n.loaded),
    text(n.status),
    rfc3339(n.last_seen_at),
    text(n.last_error),
  ]);
  return `${version}\n${table(head, rows, c)}`;
}
