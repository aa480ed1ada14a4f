/**
 * A one-line progress display on stderr while a write fans out to the
 * nodes: the node list is polled every 300 ms and the line counts the
 * nodes that reached the new desired version (or, for a sync, the seconds
 * spent). Only on a terminal; the caller skips it in --json mode.
 */

export interface NodeList {
  list: { applied_version: number }[];
  desired_version: number;
}

export type ProgressKind = "apply" | "sync";

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

const CLEAR = "\r\x1b[2K";

/** The progress line for one poll; list is null when the poll failed. */
export function progressLine(
  kind: ProgressKind,
  before: number | null,
  list: NodeList | null,
  elapsed_s: number,
): string {
  if (kind === "sync") {
    const n = list?.list.length;
    const nodes = n === undefined ? "nodes" : `${n} node${n === 1 ? "" : "s"}`;
    return `syncing ${nodes}: ${elapsed_s} s`;
  }
  if (list === null || before === null || list.desired_version <= before) {
    return "applying: waiting for the controller";
  }
  const v = list.desired_version;
  const done = list.list.filter((n) => n.applied_version >= v).length;
  return `applying version ${v}: ${done}/${list.list.length} nodes`;
}

/**
 * Runs work while showing progress on stream, when stream is a terminal.
 * The line is cleared before work's result is returned.
 */
export async function withProgress<T>(
  kind: ProgressKind,
  poll: () => Promise<NodeList | null>,
  work: () => Promise<T>,
  stream: ProgressStream = process.stderr,
  interval_ms = 300,
): Promise<T> {
  if (stream.isTTY !== true) return work();

  const started_ms = Date.now();
  const first = await poll();
  const before = first?.desired_version ?? null;
  let done = false;
  let busy = false;
  let shown = "";
  const show = (list: NodeList | null) => {
    const elapsed_s = Math.floor((Date.now() - started_ms) / 1000);
    const line = progressLine(kind, before, list, elapsed_s);
    if (done || line === shown) return;
    shown = line;
    stream.write(CLEAR + line);
  };
  const tick = async () => {
    if (busy) return;
    busy = true;
    show(await poll());
    busy = false;
  };

  show(first);
  const timer = setInterval(tick, interval_ms);
  try {
    return await work();
  } finally {
    done = true;
    clearInterval(timer);
    stream.write(CLEAR);
  }
}
