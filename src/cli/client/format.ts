/**
 * Human output: borderless tables with the unit in each header, aligned
 * key-value lines, and the per-node results of a write. Colours come from a
 * Colors value that is plain text unless the stream is a terminal.
 */
import Table from "cli-table3";
import pc from "picocolors";

export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Colours only on a terminal, and never with NO_COLOR set (no-color.org)
 * or TERM=dumb.
 */
export function colorsFor(
  stream: { isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): Colors {
  const off = !!env.NO_COLOR || env.TERM === "dumb";
  return pc.createColors(stream.isTTY === true && !off);
}

export const PLAIN: Colors = pc.createColors(false);

const BLANK = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: "  ",
};

/** A table without borders: a header line, then one line per row. */
export function table(head: string[], rows: string[][], c: Colors): string {
  const t = new Table({
    head: head.map((h) => c.bold(h)),
    chars: BLANK,
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
  });
  t.push(...rows);
  const lines = t.toString().split("\n");
  return lines.map((line) => line.trimEnd()).join("\n");
}

/** Aligned `label  value` lines. */
export function keyValues(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

/** A cell: "-" for null or missing, yes/no for booleans. */
export function text(value: unknown): string {
  if (value === null || value === undefined || value === "") return "-";
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

/** A number with a fixed count of decimals, or "-". */
export function fixed(value: unknown, digits: number): string {
  return typeof value === "number" ? value.toFixed(digits) : "-";
}

/** Unix seconds as RFC 3339 in UTC, or "-". */
export function unixToRfc3339(seconds: unknown): string {
  if (typeof seconds !== "number") return "-";
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** A time the API already gives as text (RFC 3339), or "-". */
export function rfc3339(value: unknown): string {
  if (typeof value !== "string" || value === "") return "-";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toISOString().replace(".000Z", "Z");
}

/** One entry of a write's status[] (see the API's NodeStatus). */
export interface NodeStatus {
  addr: string;
  loaded?: string;
  status?: string;
  time_stamp?: number;
  applied_version?: number;
  rolled_back?: boolean;
  error?: string | null;
}

/** "ok" or a marked FAILED for one node. */
export function result(ok: boolean, c: Colors): string {
  return ok ? c.green("ok") : c.red(c.bold("FAILED"));
}

/** The per-node outcome of a write, one line per node. */
export function nodeResults(status: NodeStatus[] | undefined, c: Colors) {
  const head = [
    "NODE",
    "RESULT",
    "APPLIED VERSION",
    "LOADED",
    "STATUS",
    "ROLLED BACK",
    "AT (UTC)",
    "ERROR",
  ];
  const rows = (status ?? []).map((s) => [
    s.addr,
    result(!s.error, c),
    text(s.applied_version),
    text(s.loaded),
    text(s.status),
    text(s.rolled_back),
    unixToRfc3339(s.time_stamp),
    text(s.error),
  ]);
  return table(head, rows, c);
}
