/** `timeplane servers list|add|delete`: the cluster's NTP sources. */
import type { Command } from "commander";
import type { SourceStatus } from "../../cluster/service.ts";
import { clientCommand, groupCommand, handle, integer } from "./command.ts";
import { UsageError } from "./config.ts";
import {
  type Colors,
  fixed,
  keyValues,
  type NodeStatus,
  nodeResults,
  table,
  text,
} from "./format.ts";

interface ServerList {
  addrs: string[];
  sync_period: number;
  date_source_status: SourceStatus[];
}

/** data of server/add, server/delete and zone/country/save. */
export interface WriteData {
  status?: NodeStatus[];
  servers?: string[] | null;
  version?: number;
}

export function registerServers(program: Command): void {
  const group = groupCommand(
    program,
    "servers",
    "List, add and delete the cluster's NTP sources",
  );

  handle(
    clientCommand(group, "list", "Sources, poll interval and their health"),
    () => ({
      request: (api) =>
        api.get<ServerList>("/v1/ntp/server/list", api.cluster()),
      render: renderList,
    }),
  );

  const add = clientCommand(group, "add", "Add sources on every node")
    .argument("<addr...>", "IP addresses or host names of NTP servers")
    .option(
      "--period <seconds>",
      "poll interval, 16 to 131072",
      integer("--period"),
    )
    .option("--force", "add sources even when they do not answer now");
  handle(add, (cmd) => {
    const addrs = cmd.processedArgs[0] as string[];
    const o = cmd.opts<{ period?: number; force?: boolean }>();
    const body = {
      addrs,
      ...(o.period === undefined ? {} : { sync_period: o.period }),
      ...(o.force ? { force: true } : {}),
    };
    return {
      request: (api) =>
        api.post<WriteData>("/v1/ntp/server/add", {
          ...body,
          ...api.cluster(),
        }),
      render: renderWrite,
      progress: "apply",
    };
  });

  const del = clientCommand(group, "delete", "Delete sources on every node")
    .argument("[addr...]", "sources to delete")
    .option("--all", "delete every source (when no addr is given)");
  handle(del, (cmd) => {
    const addrs = cmd.processedArgs[0] as string[];
    const all = cmd.opts<{ all?: boolean }>().all === true;
    const body = deleteBody(addrs, all);
    return {
      request: (api) =>
        api.post<WriteData>("/v1/ntp/server/delete", {
          ...body,
          ...api.cluster(),
        }),
      render: renderWrite,
      progress: "apply",
    };
  });
}

function deleteBody(addrs: string[], all: boolean) {
  if (addrs.length > 0 && all) {
    throw new UsageError("Give either sources to delete or --all, not both");
  }
  if (addrs.length === 0 && !all) {
    throw new UsageError(
      "Name the sources to delete, or pass --all to delete every source",
    );
  }
  return all ? {} : { addrs };
}

function renderList(data: ServerList, c: Colors): string {
  const period = keyValues([
    [
      "Sync period",
      `${data.sync_period} s (poll ${Math.log2(data.sync_period)})`,
    ],
  ]);
  const sources = data.date_source_status ?? [];
  if (sources.length === 0) {
    const none = "No sources: add some with `timeplane servers add ADDR`";
    return `${period}\n${none}`;
  }
  const perNode = sources.some((s) => s.nodes !== undefined);
  const head = ["SOURCE", "USABLE", "REASON", "STRATUM", "OFFSET (ms)"];
  head.push("DELAY (ms)", ...(perNode ? ["NODES USABLE"] : []), "DETAIL");
  const rows = sources.map((s) => [
    s.ip,
    s.status ? c.green("yes") : c.red("no"),
    text(s.reason),
    text(s.stratum),
    fixed(s.offset_ms, 3),
    fixed(s.delay_ms, 3),
    ...(perNode ? [usableOn(s)] : []),
    text(s.detail),
  ]);
  return `${period}\n${table(head, rows, c)}`;
}

function usableOn(s: SourceStatus): string {
  const nodes = s.nodes ?? [];
  return `${nodes.filter((n) => n.status).length}/${nodes.length}`;
}

export function renderWrite(data: WriteData, c: Colors): string {
  const servers = data.servers?.join(", ") || "none";
  const head = keyValues([
    ["Sources", servers],
    ["Desired version", text(data.version)],
  ]);
  return `${head}\n${nodeResults(data.status, c)}`;
}
