/**
 * `timeplane zones [ZONE]`, `timeplane zone set NAME` and
 * `timeplane zone current`. A name is a zone (its first component, such as
 * America) and a country (the rest, such as Argentina/Buenos_Aires); set
 * takes it whole or in words: `Asia/Shanghai` or `Asia Shanghai`.
 */
import type { Command } from "commander";
import { clientCommand, groupCommand, handle } from "./command.ts";
import { UsageError } from "./config.ts";
import { type Colors, keyValues, nodeResults, text } from "./format.ts";
import type { WriteData } from "./servers.ts";

interface NameList {
  list: string[];
  total_count: number;
}

interface CurrentZone {
  zone: string;
  country: string;
  found_by: string;
  mismatch: string | null;
  note: string | null;
}

export function registerZones(program: Command): void {
  const zones = clientCommand(
    program,
    "zones",
    "List the time zones, or the countries of ZONE",
  ).argument("[zone]", "a zone from the list, such as America");
  handle(zones, (cmd) => {
    const zone = cmd.processedArgs[0] as string | undefined;
    return {
      request: (api) =>
        zone === undefined
          ? api.get<NameList>("/v1/ntp/zone/list", api.cluster())
          : api.get<NameList>("/v1/ntp/zone/country/list", {
              zone,
              ...api.cluster(),
            }),
      render: (data: NameList) => data.list.join("\n"),
    };
  });

  const group = groupCommand(program, "zone", "Set or read the time zone");
  const set = clientCommand(
    group,
    "set",
    "Set the time zone of every node",
  ).argument("<name...>", "Asia/Shanghai, or the words Asia Shanghai");
  handle(set, (cmd) => {
    const { zone, country } = splitZone(cmd.processedArgs[0] as string[]);
    return {
      request: (api) =>
        api.post<WriteData>("/v1/ntp/zone/country/save", {
          zone,
          country,
          ...api.cluster(),
        }),
      render: (data: WriteData, c: Colors) => renderSet(zone, country, data, c),
      progress: "apply",
    };
  });

  handle(
    clientCommand(group, "current", "The time zone a node has now"),
    () => ({
      request: (api) =>
        api.get<CurrentZone>("/v1/ntp/zone/country/current", api.cluster()),
      render: renderCurrent,
    }),
  );
}

/** ["America/Argentina/Buenos_Aires"] or ["Asia", "Shanghai"] -> parts. */
export function splitZone(words: string[]): { zone: string; country: string } {
  const parts = words.flatMap((w) => w.split("/")).filter((p) => p !== "");
  const [zone, ...rest] = parts;
  if (zone === undefined || rest.length === 0) {
    const why = "give a zone and a country, such as Asia/Shanghai";
    throw new UsageError(`Invalid time zone "${words.join(" ")}": ${why}`);
  }
  return { zone, country: rest.join("/") };
}

function renderSet(
  zone: string,
  country: string,
  data: WriteData,
  c: Colors,
): string {
  const head = keyValues([
    ["Time zone", `${zone}/${country}`],
    ["Desired version", text(data.version)],
  ]);
  return `${head}\n${nodeResults(data.status, c)}`;
}

function renderCurrent(data: CurrentZone): string {
  const pairs: [string, string][] = [
    ["Time zone", `${data.zone}/${data.country}`],
    ["Zone", text(data.zone)],
    ["Country", text(data.country)],
    ["Found by", text(data.found_by)],
  ];
  if (data.mismatch) pairs.push(["Mismatch", data.mismatch]);
  if (data.note) pairs.push(["Note", data.note]);
  return keyValues(pairs);
}
