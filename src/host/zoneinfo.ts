/**
 * The host's zoneinfo tree in the seed's two levels: `zone` is the first path
 * component (America) and `country` the rest (Argentina/Buenos_Aires). A zone
 * file is a regular file, or a symlink resolving to one inside the tree, that
 * starts with the TZif magic. posix/ and right/ are left out, and so are the
 * top-level files (UTC, Japan), which canonicalName maps to two-level names.
 * Folders reached through a symlink are not followed, so a zone reachable
 * only that way is not listed. Listings are cached per tree for
 * ZONE_CACHE_TTL_MS since a tree holds some 600 files.
 */
import { createHash } from "node:crypto";
import { constants, promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { invalid, quote, TimeplaneError } from "../errors.ts";
import type { HostPaths } from "./paths.ts";

/** How long a listing of one zoneinfo tree is reused, in milliseconds. */
export const ZONE_CACHE_TTL_MS = 30_000;

const MAX_NAME_LENGTH = 255;
/** Zone files are a few kB; anything larger is not read. */
const MAX_ZONE_FILE_BYTES = 1 << 20;
const SEGMENT = /^[A-Za-z0-9_+-]+$/;
const TZIF_MAGIC = Buffer.from("TZif", "latin1");

const REFUSED: Record<string, string> = {
  right:
    "right/ counts leap seconds and shows the wrong local time on an " +
    "NTP-disciplined clock: pick the same zone without right/",
  posix: "posix/ duplicates the main tree: pick the same zone without posix/",
};

/** Top-level entries that point at a zone but are not zone names. */
const NOT_NAMES = new Set(["localtime", "posixrules"]);

interface TreeIndex {
  realRoot: string;
  /** Every zone file, one or more levels, sorted. */
  names: string[];
  hashes?: Promise<Map<string, string[]>>;
  /** Name to rank: 0 listed in zone1970.tab, 1 in zone.tab. */
  tabs?: Promise<Map<string, number>>;
}

interface CacheEntry {
  loaded_ms: number;
  index: Promise<TreeIndex>;
}

const cache = new Map<string, CacheEntry>();

/** Forgets every cached listing, so that the next call reads the tree. */
export function clearZoneCache(): void {
  cache.clear();
}

/** Sorted zone folders holding at least one zone file, without posix/right. */
export async function listZones(paths: HostPaths): Promise<string[]> {
  const { names } = await loadIndex(paths);
  const zones = new Set<string>();
  for (const name of names) {
    const slash = name.indexOf("/");
    if (slash > 0) zones.add(name.slice(0, slash));
  }
  return [...zones].sort();
}

/** Sorted zone files under one zone folder at any depth, such as
 * `Argentina/Buenos_Aires`; never a bare folder. */
export async function listCountries(
  paths: HostPaths,
  zone: unknown,
): Promise<string[]> {
  const checked = checkZone(zone);
  const { names } = await loadIndex(paths);

  const prefix = `${checked}/`;
  const countries = names
    .filter((name) => name.startsWith(prefix))
    .map((name) => name.slice(prefix.length));
  if (countries.length === 0) {
    throw new TimeplaneError("ZONE_NOT_FOUND", { value: quote(checked) });
  }
  return countries;
}

/** Checks zone and country and returns the full name `zone/country`. */
export function validateZoneName(zone: unknown, country: unknown): string {
  const checkedZone = checkZone(zone);
  const checkedCountry = checkName("country", country);
  return `${checkedZone}/${checkedCountry}`;
}

/**
 * Validates the name, then checks that it is a zone file whose real path
 * stays inside the real zoneinfo root. Returns the full name.
 */
export async function resolveZone(
  paths: HostPaths,
  zone: unknown,
  country: unknown,
): Promise<string> {
  const full = validateZoneName(zone, country);
  const realRoot = await realRootOf(paths.zoneinfo);
  const real = await zoneFileReal(realRoot, path.join(paths.zoneinfo, full));
  if (real === null) {
    throw new TimeplaneError("ZONE_NOT_FOUND", { value: quote(full) });
  }
  return full;
}

/** True when name is a relative zone name of valid segments, any depth. */
export function isZoneName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return false;
  return name.split("/").every((seg) => SEGMENT.test(seg));
}

/** Content of the zone file of that name, or null when it is none. */
export async function readZoneFile(
  paths: HostPaths,
  name: string,
): Promise<Buffer | null> {
  if (!isZoneName(name)) return null;
  const realRoot = await realRootOf(paths.zoneinfo);
  const real = await zoneFileReal(realRoot, path.join(paths.zoneinfo, name));
  return real === null ? null : readCapped(real);
}

/**
 * The name to report for a zone: posix/ and right/ prefixes are dropped,
 * names of two or more levels are kept, and a top-level file (UTC, Japan)
 * maps to Etc/<name> when that has identical content, else to the
 * best-ranked two-level name with identical content. A top-level file with
 * no two-level twin (CET in some tzdata builds) keeps its name.
 */
export async function canonicalName(
  paths: HostPaths,
  fullName: string,
): Promise<string> {
  const name = stripPrefix(fullName);
  if (name.includes("/") || !isZoneName(name)) return name;

  const bytes = await readZoneFile(paths, name);
  if (bytes === null) return name;

  const etc = await readZoneFile(paths, `Etc/${name}`);
  if (etc?.equals(bytes)) return `Etc/${name}`;

  const match = await findZoneByContent(paths, bytes);
  return match?.includes("/") ? match : name;
}

/**
 * The best-ranked zone name whose file has exactly these bytes, or null.
 * Ranking: two-level names before top-level ones, then names listed in
 * zone1970.tab, then zone.tab, then the alphabetically first.
 */
export async function findZoneByContent(
  paths: HostPaths,
  bytes: Buffer,
): Promise<string | null> {
  const index = await loadIndex(paths);
  const hashes = await hashesOf(index);
  const candidates = hashes.get(sha256(bytes));
  if (candidates === undefined) return null;

  const tabs = await tabsOf(index);
  const rank = (name: string): number =>
    (name.includes("/") ? 0 : 10) + (tabs.get(name) ?? 2);
  const best = [...candidates].sort(
    (a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0),
  );
  return best[0] ?? null;
}

function checkZone(zone: unknown): string {
  const checked = checkName("zone", zone);
  if (checked.includes("/")) {
    throw invalid(
      "zone",
      checked,
      'zone is the first path component only, such as "America": ' +
        "put the rest in country",
    );
  }

  const why = REFUSED[checked];
  if (why !== undefined) {
    throw new TimeplaneError("ZONE_REFUSED", { value: quote(checked), why });
  }
  return checked;
}

function checkName(field: string, value: unknown): string {
  if (typeof value !== "string") {
    throw invalid(field, value, "must be a string");
  }
  const why = nameProblem(value);
  if (why !== null) throw invalid(field, value, why);
  return value;
}

function nameProblem(value: string): string | null {
  if (value === "") return "must not be empty";
  if (value.length > MAX_NAME_LENGTH) {
    return `must be at most ${MAX_NAME_LENGTH} characters`;
  }
  if (hasControlChar(value)) return "must not contain control characters";
  if (/\s/.test(value)) return "must not contain whitespace";
  if (value.includes("\\")) return "must not contain a backslash";
  if (value.startsWith("/")) return "must be a relative name, not a path";

  for (const seg of value.split("/")) {
    if (seg === "") return "must not contain empty path segments";
    if (seg === "." || seg === "..") {
      return "must not contain . or .. segments";
    }
    if (!SEGMENT.test(seg)) {
      return "path segments may hold only letters, digits, _, + and -";
    }
  }
  return null;
}

function hasControlChar(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return true;
  }
  return false;
}

function stripPrefix(name: string): string {
  for (const prefix of ["posix/", "right/"]) {
    if (name.startsWith(prefix)) return name.slice(prefix.length);
  }
  return name;
}

function loadIndex(paths: HostPaths): Promise<TreeIndex> {
  const key = paths.zoneinfo;
  const now_ms = Date.now();
  const hit = cache.get(key);
  if (hit !== undefined && now_ms - hit.loaded_ms < ZONE_CACHE_TTL_MS) {
    return hit.index;
  }

  const index = scanTree(key);
  cache.set(key, { loaded_ms: now_ms, index });
  index.catch(() => {
    if (cache.get(key)?.index === index) cache.delete(key);
  });
  return index;
}

async function scanTree(root: string): Promise<TreeIndex> {
  const realRoot = await realRootOf(root);
  const names: string[] = [];
  try {
    await walk(realRoot, "", names);
  } catch (err) {
    throw unavailable(root, err);
  }
  return { realRoot, names: names.sort() };
}

async function walk(
  realRoot: string,
  rel: string,
  names: string[],
): Promise<void> {
  const entries = await fs.readdir(path.join(realRoot, rel), {
    withFileTypes: true,
  });
  for (const entry of entries) {
    if (!SEGMENT.test(entry.name)) continue;
    if (rel === "" && (entry.name in REFUSED || NOT_NAMES.has(entry.name))) {
      continue;
    }

    const name = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      await walk(realRoot, name, names);
    } else if (await isZoneFile(realRoot, name)) {
      names.push(name);
    }
  }
}

async function isZoneFile(realRoot: string, name: string): Promise<boolean> {
  const real = await zoneFileReal(realRoot, path.join(realRoot, name));
  return real !== null;
}

/** Real path of file when it is a zone file inside realRoot, else null. */
async function zoneFileReal(
  realRoot: string,
  file: string,
): Promise<string | null> {
  try {
    const real = await fs.realpath(file);
    if (!isInside(realRoot, real)) return null;
    const stat = await fs.stat(real);
    if (!stat.isFile()) return null;
    return (await startsWithMagic(real)) ? real : null;
  } catch {
    return null;
  }
}

async function startsWithMagic(file: string): Promise<boolean> {
  const flags =
    constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  const handle = await fs.open(file, flags);
  try {
    const head = Buffer.alloc(TZIF_HEADER_BYTES);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const { size } = await handle.stat();
    return bytesRead === head.length && isTzifHeader(head, size);
  } finally {
    await handle.close();
  }
}

/** A TZif header is 44 bytes (RFC 8536 section 3.1). */
const TZIF_HEADER_BYTES = 44;

/**
 * A TZif header as RFC 8536 defines it: the magic, a known version, at
 * least one local time type, and a file long enough for the version 1 data
 * block the header announces. A file that merely starts with "TZif" is not
 * a zone.
 */
export function isTzifHeader(head: Buffer, fileSize: number): boolean {
  if (head.length < TZIF_HEADER_BYTES) return false;
  if (!head.subarray(0, 4).equals(TZIF_MAGIC)) return false;
  if (![0x00, 0x32, 0x33, 0x34].includes(head[4] ?? -1)) return false;

  const count = (i: number) => head.readUInt32BE(20 + 4 * i);
  const [isut, isstd, leap, time, type, chars] = [0, 1, 2, 3, 4, 5].map(count);
  if (type === undefined || type === 0) return false;
  const block =
    (time ?? 0) * 5 +
    type * 6 +
    (chars ?? 0) +
    (leap ?? 0) * 8 +
    (isstd ?? 0) +
    (isut ?? 0);
  return fileSize >= TZIF_HEADER_BYTES + block;
}

function isInside(realRoot: string, real: string): boolean {
  const rel = path.relative(realRoot, real);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

async function realRootOf(root: string): Promise<string> {
  try {
    const real = await fs.realpath(root);
    if (!(await fs.stat(real)).isDirectory()) {
      throw new Error("not a folder");
    }
    return real;
  } catch (err) {
    throw unavailable(root, err);
  }
}

function unavailable(_root: string, err: unknown): TimeplaneError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === "ENOENT"
      ? "the zoneinfo folder does not exist"
      : `cannot read the zoneinfo folder (${code ?? "error"})`;
  return new TimeplaneError("ZONEINFO_UNAVAILABLE", {
    addr: os.hostname(),
    why: `${why}; install tzdata or pass --zoneinfo`,
  });
}

/** Reads a file of at most MAX_ZONE_FILE_BYTES, else returns null. */
export async function readCapped(file: string): Promise<Buffer | null> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile() || stat.size > MAX_ZONE_FILE_BYTES) return null;
    return await fs.readFile(file);
  } catch {
    return null;
  }
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function hashesOf(index: TreeIndex): Promise<Map<string, string[]>> {
  index.hashes ??= buildHashes(index);
  return index.hashes;
}

async function buildHashes(index: TreeIndex): Promise<Map<string, string[]>> {
  const hashes = new Map<string, string[]>();
  for (const name of index.names) {
    const bytes = await readCapped(path.join(index.realRoot, name));
    if (bytes === null) continue;
    const hash = sha256(bytes);
    const names = hashes.get(hash) ?? [];
    names.push(name);
    hashes.set(hash, names);
  }
  return hashes;
}

function tabsOf(index: TreeIndex): Promise<Map<string, number>> {
  index.tabs ??= buildTabs(index.realRoot);
  return index.tabs;
}

async function buildTabs(realRoot: string): Promise<Map<string, number>> {
  const tabs = new Map<string, number>();
  const files = ["zone1970.tab", "zone.tab"];
  for (const [rank, file] of files.entries()) {
    const text = await readCapped(path.join(realRoot, file));
    for (const name of tabNames(text?.toString("utf8") ?? "")) {
      if (!tabs.has(name)) tabs.set(name, rank);
    }
  }
  return tabs;
}

/** Third column of a zone.tab-style file: the zone names it lists. */
function tabNames(text: string): string[] {
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split("\t")[2] ?? "")
    .filter(isZoneName);
}
