/**
 * Temporary host roots for the time zone tests: a small fake zoneinfo tree
 * built from real TZif bytes of this machine's tree (read only), with the
 * non-zone files, posix/ and right/ copies and traps a real tree may hold.
 * Nothing here writes outside the temporary folder.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { HostPaths, SYSTEM_ZONEINFO } from "../../src/host/paths.ts";

/** Marker written into files that must never appear in a message. */
export const SECRET = "SECRET-7f3a-do-not-leak";

/** F08: inputs that must be refused with 400 before any file is touched. */
export const EVIL_INPUTS: [unknown, unknown][] = [
  ["Europe", "../../../../etc/passwd"],
  ["Europe", "Berlin\n/../../tmp/x"],
  ["..", "Paris"],
  ["/etc", "passwd"],
  [".", "Paris"],
  ["", "Paris"],
  ["Europe", ""],
  ["Europe", "/etc/passwd"],
  ["Europe", "Paris\0"],
  ["Europe", "Paris/"],
  ["Europe", "Paris//x"],
  ["Europe", "./Paris"],
  ["Europe", "Pa ris"],
  ["Europe", "Paris\t"],
  ["Europe", "Pa\\ris"],
  ["Europe", "Pa%2Fris"],
  ["Europe", "Pa:ris"],
  ["Europe", "Paris\u0085"],
  ["Europe\r", "Paris"],
  ["Europe", "a".repeat(256)],
  ["E".repeat(256), "Paris"],
  ["America/Kentucky", "Louisville"],
  ["America/", "Kentucky/Louisville"],
  [42, "Paris"],
  ["Europe", null],
  ["Europe", ["Paris"]],
  [{ toString: () => "Europe" }, "Paris"],
  [undefined, undefined],
  ["right", "Asia/Tokyo"],
  ["posix", "Asia/Tokyo"],
];

export interface TempRoot {
  root: string;
  paths: HostPaths;
  /** Path of the zoneinfo tree, or the system tree for a real-tree root. */
  zoneinfo: string;
  remove(): Promise<void>;
}

export function systemZone(name: string): Promise<Buffer> {
  return fs.readFile(path.join(SYSTEM_ZONEINFO, name));
}

/** A temp root whose zoneinfo is this machine's tree, read only. */
export async function makeRealTreeRoot(): Promise<TempRoot> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "tp-tz-real-"));
  await fs.mkdir(path.join(root, "etc"));
  const paths = new HostPaths({ root, zoneinfo: SYSTEM_ZONEINFO });
  return { root, paths, zoneinfo: SYSTEM_ZONEINFO, remove: () => rm(root) };
}

/** A temp root with a fake tree at <root>/usr/share/zoneinfo. */
export async function makeFakeRoot(): Promise<TempRoot> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "tp-tz-fake-"));
  const zoneinfo = path.join(root, "usr/share/zoneinfo");
  await fs.mkdir(path.join(root, "etc"));
  await buildFakeTree(root, zoneinfo);
  const paths = new HostPaths({ root });
  return { root, paths, zoneinfo, remove: () => rm(root) };
}

function rm(root: string): Promise<void> {
  return fs.rm(root, { recursive: true, force: true });
}

const COPIES: Record<string, string> = {
  "Asia/Tokyo": "Asia/Tokyo",
  "Asia/Aa_Tokyo_Copy": "Asia/Tokyo",
  "Europe/Paris": "Europe/Paris",
  "Europe/Berlin": "Europe/Berlin",
  "America/New_York": "America/New_York",
  "America/Argentina/Buenos_Aires": "America/Argentina/Buenos_Aires",
  "America/Indiana/Indianapolis": "America/Indiana/Indianapolis",
  "Etc/UTC": "Etc/UTC",
  UTC: "Etc/UTC",
  Japan: "Asia/Tokyo",
  CET: "CET",
  "posix/Asia/Tokyo": "Asia/Tokyo",
  "posix/Europe/Paris": "Europe/Paris",
  "right/Asia/Tokyo": "right/Asia/Tokyo",
  "right/Etc/UTC": "right/Etc/UTC",
  "Odd.Zone/City": "Asia/Tokyo",
};

const TEXTS: Record<string, string> = {
  "zone1970.tab": "# tz zone descriptions\nJP\t+353916+1394441\tAsia/Tokyo\n",
  "zone.tab": "# tz\nFR\t+4852+00220\tEurope/Paris\nJP\t+3542\tAsia/Tokyo\n",
  "tzdata.zi": "# version 2025b\n",
  leapseconds: "# leap seconds\nLeap\t2016\tDec\t31\t23:59:60\t+\tS\n",
  "Docs/README": "not a zone\n",
  "Europe/Not_Zone": `${SECRET}\n`,
};

const LINKS: Record<string, string> = {
  posixrules: "America/New_York",
  localtime: "../../../etc/localtime",
  "Europe/Link_Paris": "Paris",
  "Europe/Outside": "../../../../secret/zone",
  Linked_Dir: "Asia",
};

async function buildFakeTree(root: string, zoneinfo: string): Promise<void> {
  for (const [name, source] of Object.entries(COPIES)) {
    await put(path.join(zoneinfo, name), await systemZone(source));
  }
  for (const [name, text] of Object.entries(TEXTS)) {
    await put(path.join(zoneinfo, name), text);
  }
  for (const [name, target] of Object.entries(LINKS)) {
    await fs.symlink(target, path.join(zoneinfo, name));
  }
  await fs.mkdir(path.join(zoneinfo, "Empty_Zone"));
  await fs.mkdir(path.join(zoneinfo, "Asia/Empty_Folder"));

  const tokyo = await systemZone("Asia/Tokyo");
  const secret = Buffer.concat([tokyo.subarray(0, 4), Buffer.from(SECRET)]);
  await put(path.join(root, "secret/zone"), secret);
}

export async function put(file: string, content: string | Buffer) {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content);
}

/** Every entry under dir: file content, link target or "dir". */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(rel: string): Promise<void> {
    const full = path.join(dir, rel);
    const stat = await fs.lstat(full);
    if (stat.isSymbolicLink()) {
      out.set(rel, `link:${await fs.readlink(full)}`);
    } else if (stat.isDirectory()) {
      out.set(rel, "dir");
      for (const name of await fs.readdir(full)) {
        await walk(path.join(rel, name));
      }
    } else {
      out.set(rel, `file:${(await fs.readFile(full)).toString("base64")}`);
    }
  }
  await walk(".");
  return out;
}
