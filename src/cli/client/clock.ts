/** `timeplane time` (a node's clock) and `timeplane sync` (step the clocks). */
import type { Command } from "commander";
import { clientCommand, handle } from "./command.ts";
import {
  type Colors,
  fixed,
  keyValues,
  result,
  table,
  text,
} from "./format.ts";

interface CurrentTime {
  time: number;
  time_ms: number;
  iso: string;
  timezone: string;
}

interface SyncNode {
  addr: string;
  ok: boolean;
  offset_before_s: number | null;
  offset_after_s: number | null;
  reference: string | null;
  error: string | null;
}

interface SyncData {
  nodes?: SyncNode[];
}

export function registerClock(program: Command): void {
  handle(clientCommand(program, "time", "A node's clock, in RFC 3339"), () => ({
    request: (api) =>
      api.get<CurrentTime>("/v1/ntp/system/current/time", api.cluster()),
    render: renderTime,
  }));

  handle(
    clientCommand(
      program,
      "sync",
      "Measure the sources, then step every node's clock now",
    ),
    () => ({
      request: (api) =>
        api.post<SyncData>("/v1/ntp/force/time/sync", api.cluster()),
      render: renderSync,
      progress: "sync",
    }),
  );
}

function renderTime(data: CurrentTime): string {
  const utc = new Date(data.time_ms).toISOString();
  return keyValues([
    ["Time", data.iso],
    ["Time zone", text(data.timezone)],
    ["UTC", utc],
    ["Unix time", `${(data.time_ms / 1000).toFixed(3)} s`],
  ]);
}

function renderSync(data: SyncData, c: Colors): string {
  const head = ["NODE", "RESULT", "REFERENCE", "OFFSET BEFORE (ms)"];
  head.push("OFFSET AFTER (ms)", "ERROR");
  const rows = (data.nodes ?? []).map((n) => [
    n.addr,
    result(n.ok, c),
    text(n.reference),
    fixed(toMs(n.offset_before_s), 3),
    fixed(toMs(n.offset_after_s), 3),
    text(n.error),
  ]);
  return table(head, rows, c);
}

function toMs(seconds: number | null): number | null {
  return seconds === null ? null : seconds * 1000;
}
