/**
 * Reads and sets a host's time zone: /etc/localtime (a symlink into the
 * zoneinfo tree, or on some hosts a plain copy of a zone file) and, on
 * Debian, /etc/timezone. Setting uses `timedatectl set-timezone` when the
 * caller asks for it and falls back to replacing the symlink atomically when
 * there is no systemd or D-Bus. A localtime link into right/ is reported
 * under its canonical name without the right/ prefix; the next save points
 * it into the main tree.
 */
import { execFile } from "node:child_process";
import { constants, promises as fs, type Stats } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { ZoneReading } from "../agent/types.ts";
import { redactPaths, TimeplaneError } from "../errors.ts";
import { symlinkAtomic, writeFileAtomic } from "./atomic-file.ts";
import type { HostPaths } from "./paths.ts";
import {
  canonicalName,
  findZoneByContent,
  isZoneName,
  readCapped,
  readZoneFile,
  resolveZone,
} from "./zoneinfo.ts";

/** Runs a command to completion; rejects when it fails. */
export type CommandRunner = (cmd: string, args: string[]) => Promise<void>;

export interface SetZoneOptions {
  /**
   * Use `timedatectl set-timezone` first. Only meaningful when the host root
   * is "/" and systemd runs: with another root and no `run`, the real
   * timedatectl is never called, since it would change this machine's zone.
   */
  timedatectl?: boolean;
  /** Command runner for timedatectl. Default: runCommand. */
  run?: CommandRunner;
}

/** How long timedatectl may take before it counts as a missing bus. */
export const TIMEDATECTL_TIMEOUT_MS = 10_000;

const MAX_TIMEZONE_FILE_BYTES = 512;

const NO_BUS = [
  /failed to (connect to|create) bus/i,
  /not been booted with systemd/i,
  /d-?bus/i,
  /connection timed out/i,
];

interface Found {
  name: string | null;
  found_by: string;
  /** False when /etc/localtime is missing. */
  exists: boolean;
  /** True when the link goes through right/ (leap-second time). */
  right?: boolean;
}

const RIGHT_NOTE =
  "/etc/localtime points into right/, which counts leap seconds: on an " +
  "NTP-disciplined clock local time is off by them; save the zone to fix it";

/** What /etc/timezone holds: absent, or a valid zone name, or not one. */
interface Stored {
  present: boolean;
  name: string | null;
}

/** The host's current zone, in the seed's two levels. */
export async function readZone(paths: HostPaths): Promise<ZoneReading> {
  try {
    const stored = await readTimezoneFile(paths);
    const found = await findLocaltime(paths, stored);
    const differs = await mismatchOf(paths, stored, found);
    const notes = [differs, found.right ? RIGHT_NOTE : null].filter(Boolean);
    const mismatch = notes.length > 0 ? notes.join("; ") : null;
    return { ...splitName(found.name), found_by: found.found_by, mismatch };
  } catch (err) {
    if (err instanceof TimeplaneError) throw err;
    throw hostFailed("read time zone", err);
  }
}

/**
 * Sets the zone, checked with resolveZone, then returns readZone. Rewrites
 * /etc/timezone when it exists.
 */
export async function setZone(
  paths: HostPaths,
  zone: unknown,
  country: unknown,
  opts: SetZoneOptions = {},
): Promise<ZoneReading> {
  const full = await resolveZone(paths, zone, country);

  const useTimedatectl =
    opts.timedatectl === true && (paths.isRealRoot || opts.run !== undefined);
  const done = useTimedatectl
    ? await tryTimedatectl(full, opts.run ?? runCommand)
    : false;

  try {
    if (!done) {
      const target = `${paths.zoneinfoInsideHost}/${full}`;
      await symlinkAtomic(target, paths.localtime);
    }
    await rewriteTimezoneFile(paths, full);
  } catch (err) {
    throw hostFailed("set time zone", err);
  }
  return readZone(paths);
}

/** Default runner: execFile with a timeout, in the C locale. */
export async function runCommand(cmd: string, args: string[]): Promise<void> {
  await promisify(execFile)(cmd, args, {
    timeout: TIMEDATECTL_TIMEOUT_MS,
    env: { ...process.env, LC_ALL: "C" },
  });
}

async function tryTimedatectl(
  full: string,
  run: CommandRunner,
): Promise<boolean> {
  try {
    await run("timedatectl", ["set-timezone", full]);
    return true;
  } catch (err) {
    if (isNoBus(err)) return false;
    throw hostFailed("timedatectl set-timezone", err);
  }
}

/** True when timedatectl failed for want of systemd or D-Bus. */
export function isNoBus(err: unknown): boolean {
  const e = err as { code?: unknown; killed?: unknown; stderr?: unknown };
  if (e?.code === "ENOENT" || e?.killed === true) return true;
  const message = err instanceof Error ? err.message : String(err);
  const text = `${message}\n${typeof e?.stderr === "string" ? e.stderr : ""}`;
  return NO_BUS.some((re) => re.test(text));
}

function hostFailed(op: string, err: unknown): TimeplaneError {
  const message = err instanceof Error ? err.message : String(err);
  const why = redactPaths(message.split("\n").filter(Boolean).join("; "));
  return new TimeplaneError("HOST_OPERATION_FAILED", {
    op,
    why: why.slice(0, 200),
  });
}

async function rewriteTimezoneFile(
  paths: HostPaths,
  full: string,
): Promise<void> {
  if ((await lstatOrNull(paths.timezoneFile)) === null) return;
  await writeFileAtomic(paths.timezoneFile, `${full}\n`, {
    keepPrevious: false,
  });
}

async function findLocaltime(paths: HostPaths, stored: Stored): Promise<Found> {
  const stat = await lstatOrNull(paths.localtime);
  if (stat === null) return { name: null, found_by: "none", exists: false };

  let file = paths.localtime;
  if (stat.isSymbolicLink()) {
    const target = await fs.readlink(paths.localtime);
    const name = nameFromTarget(paths, target);
    if (name !== null) {
      const canonical = await canonicalName(paths, name);
      const right = /(^|\/)right\//.test(target);
      return { name: canonical, found_by: "symlink", exists: true, right };
    }
    file = hostFile(paths, target);
  }

  const bytes = await readCapped(file);
  if (bytes === null) return { name: null, found_by: "none", exists: true };
  return findByBytes(paths, bytes, stored);
}

async function findByBytes(
  paths: HostPaths,
  bytes: Buffer,
  stored: Stored,
): Promise<Found> {
  if (stored.name !== null) {
    const named = await readZoneFile(paths, stored.name);
    if (named?.equals(bytes)) {
      const name = await canonicalName(paths, stored.name);
      return { name, found_by: "timezone-file", exists: true };
    }
  }

  const name = await findZoneByContent(paths, bytes);
  const found_by = name === null ? "none" : "content";
  return { name, found_by, exists: true };
}

/** The file a link stands for, an absolute target read inside the root. */
function hostFile(paths: HostPaths, target: string): string {
  if (target.startsWith("/")) return paths.resolve(target);
  return path.resolve(path.dirname(paths.localtime), target);
}

/**
 * The zone name of a link target: the part below the zoneinfo tree this
 * node uses (which --zoneinfo may have put anywhere), else the part after
 * the last "zoneinfo/"; null when neither fits.
 */
function nameFromTarget(paths: HostPaths, target: string): string | null {
  let name: string | null = null;
  for (const tree of [paths.zoneinfoInsideHost, paths.zoneinfo]) {
    if (target.startsWith(`${tree}/`)) name = target.slice(tree.length + 1);
  }
  if (name === null) {
    const marker = "zoneinfo/";
    const at = target.lastIndexOf(marker);
    if (at < 0) return null;
    name = target.slice(at + marker.length);
  }
  for (const prefix of ["posix/", "right/"]) {
    if (name.startsWith(prefix)) name = name.slice(prefix.length);
  }
  return isZoneName(name) ? name : null;
}

async function readTimezoneFile(paths: HostPaths): Promise<Stored> {
  let handle: fs.FileHandle;
  try {
    const flags = constants.O_RDONLY | constants.O_NONBLOCK;
    handle = await fs.open(paths.timezoneFile, flags);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      return { present: false, name: null };
    }
    return { present: true, name: null };
  }

  try {
    const buf = Buffer.alloc(MAX_TIMEZONE_FILE_BYTES);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const line = buf.subarray(0, bytesRead).toString("utf8").split("\n")[0];
    const name = (line ?? "").trim();
    return { present: true, name: isZoneName(name) ? name : null };
  } catch {
    return { present: true, name: null };
  } finally {
    await handle.close();
  }
}

/** Says how /etc/timezone disagrees with /etc/localtime, or null. */
async function mismatchOf(
  paths: HostPaths,
  stored: Stored,
  found: Found,
): Promise<string | null> {
  if (!found.exists && stored.name !== null) {
    return `/etc/timezone says ${stored.name} but there is no /etc/localtime`;
  }
  if (!stored.present || !found.exists) return null;
  if (found.name === null) {
    if (stored.name === null) return null;
    return (
      `/etc/timezone says ${stored.name} but /etc/localtime matches ` +
      "no zone file in the zoneinfo tree"
    );
  }
  if (stored.name === null) {
    return (
      "/etc/timezone holds no valid zone name but /etc/localtime is " +
      found.name
    );
  }

  const storedName = await canonicalName(paths, stored.name);
  if (storedName === found.name) return null;
  const says = `/etc/timezone says ${stored.name}`;
  return `${says} but /etc/localtime is ${found.name}`;
}

function splitName(name: string | null): Pick<ZoneReading, "zone" | "country"> {
  if (name === null) return { zone: null, country: null };
  const slash = name.indexOf("/");
  if (slash < 0) return { zone: name, country: null };
  return { zone: name.slice(0, slash), country: name.slice(slash + 1) };
}

async function lstatOrNull(file: string): Promise<Stats | null> {
  try {
    return await fs.lstat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}
