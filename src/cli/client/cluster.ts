/** `timeplane cluster list|create NAME|delete UUID`. */
import type { Command } from "commander";
import { clientCommand, groupCommand, handle } from "./command.ts";
import { type Colors, keyValues, rfc3339, table, text } from "./format.ts";

interface ClusterView {
  uuid: string;
  name: string;
  created_at: string;
  nodes: number;
  desired_version: number;
}

interface ClusterList {
  list: ClusterView[];
  total_count: number;
}

interface Created {
  uuid: string;
  name: string;
  created_at: string;
  token: string;
}

export function registerCluster(program: Command): void {
  const group = groupCommand(
    program,
    "cluster",
    "List, create and delete clusters",
  );

  handle(
    clientCommand(group, "list", "Every cluster of the controller"),
    () => ({
      request: (api) => api.get<ClusterList>("/v1/cluster/list"),
      render: renderList,
    }),
  );

  const create = clientCommand(group, "create", "Create a cluster").argument(
    "<name>",
    "1 to 64 letters, digits, spaces, '.', '_' or '-'",
  );
  handle(create, (cmd) => {
    const name = cmd.processedArgs[0] as string;
    return {
      request: (api) => api.post<Created>("/v1/cluster/create", { name }),
      render: renderCreated,
    };
  });

  const del = clientCommand(group, "delete", "Delete a cluster").argument(
    "<uuid>",
    "the cluster's uuid",
  );
  handle(del, (cmd) => {
    const uuid = cmd.processedArgs[0] as string;
    return {
      request: (api) => api.post("/v1/cluster/delete", { cluster_uuid: uuid }),
      render: () => `Deleted cluster ${uuid}`,
    };
  });
}

function renderList(data: ClusterList, c: Colors): string {
  const head = ["UUID", "NAME", "CREATED (UTC)", "NODES", "DESIRED VERSION"];
  const rows = data.list.map((k) => [
    k.uuid,
    k.name,
    rfc3339(k.created_at),
    text(k.nodes),
    text(k.desired_version),
  ]);
  return table(head, rows, c);
}

function renderCreated(data: Created): string {
  const pairs = keyValues([
    ["Cluster", data.uuid],
    ["Name", data.name],
    ["Created", rfc3339(data.created_at)],
    ["Token", data.token],
  ]);
  const next =
    "Start each node's agent with this token (--token), then run " +
    `\`timeplane node add ADDR --cluster ${data.uuid}\``;
  return `${pairs}\n${next}`;
}
