/**
 * Other time daemons running beside chronyd (F18): systemd-timesyncd, ntpd
 * or openntpd would fight chronyd over the clock. They are found by the
 * command names in /proc under the host root.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { HostPaths } from "./paths.ts";

/** Kernel command names (at most 15 characters) of competing daemons. */
const COMPETITORS: Record<string, string> = {
  "systemd-timesyn": "systemd-timesyncd",
  ntpd: "ntpd",
  openntpd: "openntpd",
  ptp4l: "ptp4l",
};

/** Competing daemons as "ntpd (pid 42)", sorted; [] when /proc is absent. */
export async function findCompetingDaemons(
  paths: HostPaths,
): Promise<string[]> {
  const proc = paths.resolve("/proc");
  let entries: string[];
  try {
    entries = await fs.readdir(proc);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const pid of entries.filter((e) => /^\d+$/.test(e))) {
    const comm = await fs
      .readFile(path.join(proc, pid, "comm"), "utf8")
      .catch(() => "");
    const name = COMPETITORS[comm.trim()];
    if (name) found.push(`${name} (pid ${pid})`);
  }
  return found.sort();
}
