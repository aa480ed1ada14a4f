/**
 * The host's own chronyd under systemd. Debian and RHEL differ in unit name,
 * main config path and whether a drop-in source folder exists (F13), so the
 * layout is detected from which main config exists and can be overridden.
 * Timeplane's sources go into a drop-in file, and a time leader's serving
 * lines into a conf drop-in; the distribution's default pool and server
 * lines are commented out with a marker, from a backup kept once, so that
 * restoring gives back the original bytes.
 */
import { existsSync, promises as fs } from "node:fs";
import type { DaemonState } from "../../agent/types.ts";
import { TimeplaneError } from "../../errors.ts";
import { writeFileAtomic } from "../atomic-file.ts";
import type { HostPaths } from "../paths.ts";
import type { RunCommand } from "./run.ts";

export interface ChronyLayout {
  distro: "debian" | "rhel";
  /** Host path of the main config, such as "/etc/chrony/chrony.conf". */
  conf: string;
  unit: string;
  /** Host path of the drop-in folder timeplane writes into. */
  sourceDir: string;
  /** Host path of the folder chronyd reads *.conf drop-ins from. */
  confDir: string;
  /** Host path of chronyd's command socket. */
  socket: string;
}

export const DEBIAN_LAYOUT: ChronyLayout = {
  distro: "debian",
  conf: "/etc/chrony/chrony.conf",
  unit: "chrony.service",
  sourceDir: "/etc/chrony/sources.d",
  confDir: "/etc/chrony/conf.d",
  socket: "/run/chrony/chronyd.sock",
};

/**
 * RHEL ships neither a sourcedir for local files nor a confdir, so
 * timeplane adds one folder for both: chronyd reads only *.sources files
 * from a sourcedir and only *.conf files from a confdir.
 */
export const RHEL_LAYOUT: ChronyLayout = {
  distro: "rhel",
  conf: "/etc/chrony.conf",
  unit: "chronyd.service",
  sourceDir: "/etc/chrony/timeplane.d",
  confDir: "/etc/chrony/timeplane.d",
  socket: "/run/chrony/chronyd.sock",
};

export const SOURCES_FILE_NAME = "timeplane.sources";
/** A time leader's allow and local lines, in the confdir. */
export const SERVE_FILE_NAME = "timeplane-serve.conf";
export const DISABLED_MARK = "# disabled by timeplane: ";
const ADDED_MARK = "# added by timeplane";
const BACKUP_SUFFIX = ".timeplane-orig";

/**
 * Debian when /etc/chrony/chrony.conf exists under the host root, else
 * RHEL when /etc/chrony.conf exists, else Debian. Fields of override win.
 */
export function detectLayout(
  paths: HostPaths,
  override: Partial<ChronyLayout> = {},
): ChronyLayout {
  const detected = existsSync(paths.resolve(DEBIAN_LAYOUT.conf))
    ? DEBIAN_LAYOUT
    : existsSync(paths.resolve(RHEL_LAYOUT.conf))
      ? RHEL_LAYOUT
      : DEBIAN_LAYOUT;
  return { ...detected, ...override };
}

/** Parses `systemctl show -p LoadState,ActiveState,SubState UNIT`. */
export async function systemctlShow(
  unit: string,
  run: RunCommand,
): Promise<DaemonState> {
  const props = "LoadState,ActiveState,SubState";
  const res = await run("systemctl", ["show", "-p", props, unit]);
  if (res.code !== 0) {
    const why = res.stderr.trim() || res.spawnError || `exit code ${res.code}`;
    return { loaded: "error", status: "unknown", mode: "systemd", detail: why };
  }
  const values = parseProperties(res.stdout);
  const status = values.get("ActiveState") ?? "unknown";
  const sub = values.get("SubState") ?? null;
  return {
    loaded: values.get("LoadState") ?? "error",
    status,
    mode: "systemd",
    detail: status === "active" ? null : sub,
  };
}

/** Restarts the unit; throws with systemctl's words on failure. */
export async function systemctlRestart(
  unit: string,
  run: RunCommand,
): Promise<void> {
  const res = await run("systemctl", ["restart", unit]);
  if (res.code === 0) return;
  throw new TimeplaneError("HOST_OPERATION_FAILED", {
    op: `systemctl restart ${unit}`,
    why: res.stderr.trim() || res.spawnError || `exit code ${res.code}`,
  });
}

function parseProperties(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) values.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return values;
}

/**
 * Makes the main config read timeplane's drop-in folders (sourcedir and
 * confdir) and comments out its own pool and server lines. The first
 * change keeps the original in "<conf>.timeplane-orig". Returns true when
 * the file changed: chronyd reads its main config only at start, so the
 * caller restarts the unit.
 */
export async function prepareMainConf(
  paths: HostPaths,
  layout: ChronyLayout,
): Promise<boolean> {
  const conf = paths.resolve(layout.conf);
  const original = await fs.readFile(conf, "utf8");
  const updated = editMainConf(original, layout.sourceDir, layout.confDir);
  if (updated === original) return false;

  const backup = `${conf}${BACKUP_SUFFIX}`;
  if (!existsSync(backup)) {
    await fs.copyFile(conf, backup);
  }
  const { mode } = await fs.stat(conf);
  await writeFileAtomic(conf, updated, {
    mode: mode & 0o7777,
    keepPrevious: false,
  });
  return true;
}

/** Puts the original main config back; false when there is no backup. */
export async function restoreMainConf(
  paths: HostPaths,
  layout: ChronyLayout,
): Promise<boolean> {
  const conf = paths.resolve(layout.conf);
  const backup = `${conf}${BACKUP_SUFFIX}`;
  let content: Buffer;
  try {
    content = await fs.readFile(backup);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
  const { mode } = await fs.stat(backup);
  await writeFileAtomic(conf, content, {
    mode: mode & 0o7777,
    keepPrevious: false,
  });
  await fs.rm(backup);
  return true;
}

/** The pure edit behind prepareMainConf, exported for tests. */
export function editMainConf(
  text: string,
  sourceDir: string,
  confDir?: string,
): string {
  const lines = text.split("\n");
  const edited = lines.map((line) =>
    /^\s*(pool|server)\s/i.test(line) ? `${DISABLED_MARK}${line}` : line,
  );
  const added: string[] = [];
  if (!hasDirective(edited, "sourcedir", sourceDir)) {
    added.push(`sourcedir ${sourceDir}`);
  }
  if (confDir !== undefined && !hasDirective(edited, "confdir", confDir)) {
    added.push(`confdir ${confDir}`);
  }
  if (added.length > 0) {
    const end =
      edited[edited.length - 1] === "" ? edited.length - 1 : edited.length;
    edited.splice(end, 0, ADDED_MARK, ...added);
  }
  return edited.join("\n");
}

function hasDirective(lines: string[], name: string, dir: string): boolean {
  return lines.some((line) => {
    const words = line.trim().split(/\s+/);
    return words[0]?.toLowerCase() === name && words.slice(1).includes(dir);
  });
}
