import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { ZoneReading } from "../../src/agent/types.ts";
import { TimeplaneError } from "../../src/errors.ts";
import { readZone, setZone } from "../../src/host/timezone.ts";
import { clearZoneCache } from "../../src/host/zoneinfo.ts";
import {
  EVIL_INPUTS,
  makeFakeRoot,
  makeRealTreeRoot,
  SECRET,
  snapshot,
  systemZone,
  type TempRoot,
} from "./zone-fixture.ts";

function reading(
  zone: string | null,
  country: string | null,
  found_by: string,
  mismatch: string | null = null,
): ZoneReading {
  return { zone, country, found_by, mismatch };
}

async function etcEntries(t: TempRoot): Promise<string[]> {
  return (await fs.readdir(path.join(t.root, "etc"))).sort();
}

async function failure(fn: () => Promise<unknown>): Promise<TimeplaneError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof TimeplaneError, String(err));
    return err;
  }
  assert.fail("expected a TimeplaneError");
}

for (const kind of ["fake", "real"] as const) {
  describe(`time zone on a ${kind} tree`, () => {
    let t: TempRoot;
    beforeEach(async () => {
      clearZoneCache();
      t = kind === "fake" ? await makeFakeRoot() : await makeRealTreeRoot();
    });
    afterEach(async () => {
      await t.remove();
    });

    it("F01 setZone() links a nested zone, readZone() reads it", async () => {
      const result = await setZone(
        t.paths,
        "America",
        "Argentina/Buenos_Aires",
      );
      assert.deepEqual(
        result,
        reading("America", "Argentina/Buenos_Aires", "symlink"),
      );
      assert.equal(
        await fs.readlink(t.paths.localtime),
        "/usr/share/zoneinfo/America/Argentina/Buenos_Aires",
      );
      assert.deepEqual(await etcEntries(t), ["localtime"]);
      assert.deepEqual(await readZone(t.paths), result);
    });

    it("F03 readZone() maps a link to top-level UTC to Etc/UTC", async () => {
      await fs.symlink("/usr/share/zoneinfo/UTC", t.paths.localtime);
      assert.deepEqual(
        await readZone(t.paths),
        reading("Etc", "UTC", "symlink"),
      );
    });

    it("readZone() maps a link to Japan to Asia/Tokyo (F03)", async () => {
      await fs.symlink("../usr/share/zoneinfo/Japan", t.paths.localtime);
      assert.deepEqual(
        await readZone(t.paths),
        reading("Asia", "Tokyo", "symlink"),
      );
    });

    it("F04 readZone() drops posix/ and right/, and flags right/", async () => {
      await fs.symlink(
        "/usr/share/zoneinfo/posix/Asia/Tokyo",
        t.paths.localtime,
      );
      assert.deepEqual(
        await readZone(t.paths),
        reading("Asia", "Tokyo", "symlink"),
      );
      await fs.rm(t.paths.localtime);
      await fs.symlink("/usr/share/zoneinfo/right/Etc/UTC", t.paths.localtime);
      assert.deepEqual(
        await readZone(t.paths),
        reading(
          "Etc",
          "UTC",
          "symlink",
          "/etc/localtime points into right/, which counts leap seconds: " +
            "on an NTP-disciplined clock local time is off by them; save " +
            "the zone to fix it",
        ),
      );
    });

    it("readZone() reports nulls when /etc/localtime is missing", async () => {
      assert.deepEqual(await readZone(t.paths), reading(null, null, "none"));
      await fs.writeFile(t.paths.timezoneFile, "Europe/Paris\n");
      assert.deepEqual(
        await readZone(t.paths),
        reading(
          null,
          null,
          "none",
          "/etc/timezone says Europe/Paris but there is no /etc/localtime",
        ),
      );
    });

    it("F05 readZone() finds a plain copy by content", async () => {
      await fs.writeFile(t.paths.localtime, await systemZone("Asia/Tokyo"));
      assert.deepEqual(
        await readZone(t.paths),
        reading("Asia", "Tokyo", "content"),
      );
    });

    it("F05 readZone() trusts /etc/timezone if bytes match", async () => {
      await fs.writeFile(t.paths.localtime, await systemZone("Asia/Tokyo"));
      await fs.writeFile(t.paths.timezoneFile, "Asia/Tokyo\n");
      assert.deepEqual(
        await readZone(t.paths),
        reading("Asia", "Tokyo", "timezone-file"),
      );
      await fs.writeFile(t.paths.timezoneFile, "Japan\n");
      assert.deepEqual(
        await readZone(t.paths),
        reading("Asia", "Tokyo", "timezone-file"),
      );
    });

    it("setZone() replaces a plain copy by a symlink (F05)", async () => {
      await fs.writeFile(t.paths.localtime, await systemZone("Asia/Tokyo"));
      const result = await setZone(t.paths, "Asia", "Tokyo");
      assert.deepEqual(result, reading("Asia", "Tokyo", "symlink"));
      const stat = await fs.lstat(t.paths.localtime);
      assert.equal(stat.isSymbolicLink(), true);
      assert.equal(
        await fs.readlink(t.paths.localtime),
        "/usr/share/zoneinfo/Asia/Tokyo",
      );
      assert.deepEqual(await etcEntries(t), ["localtime"]);
    });

    it("readZone() reports /etc/timezone out of step (F06)", async () => {
      await fs.symlink("/usr/share/zoneinfo/Asia/Tokyo", t.paths.localtime);
      await fs.writeFile(t.paths.timezoneFile, "Europe/Paris\n");
      assert.deepEqual(
        await readZone(t.paths),
        reading(
          "Asia",
          "Tokyo",
          "symlink",
          "/etc/timezone says Europe/Paris but /etc/localtime is Asia/Tokyo",
        ),
      );
    });

    it("F06 readZone() reports a plain copy out of step", async () => {
      await fs.writeFile(t.paths.localtime, await systemZone("Asia/Tokyo"));
      await fs.writeFile(t.paths.timezoneFile, "Europe/Paris\n");
      assert.deepEqual(
        await readZone(t.paths),
        reading(
          "Asia",
          "Tokyo",
          "content",
          "/etc/timezone says Europe/Paris but /etc/localtime is Asia/Tokyo",
        ),
      );
    });

    it("F03 F06 readZone() sees UTC and Etc/UTC as one zone", async () => {
      await fs.symlink("/usr/share/zoneinfo/Etc/UTC", t.paths.localtime);
      await fs.writeFile(t.paths.timezoneFile, "UTC\n");
      assert.deepEqual(
        await readZone(t.paths),
        reading("Etc", "UTC", "symlink"),
      );
    });

    it("readZone() never prints an invalid /etc/timezone", async () => {
      await fs.symlink("/usr/share/zoneinfo/Asia/Tokyo", t.paths.localtime);
      await fs.writeFile(t.paths.timezoneFile, `${SECRET} with spaces\n`);
      assert.deepEqual(
        await readZone(t.paths),
        reading(
          "Asia",
          "Tokyo",
          "symlink",
          "/etc/timezone holds no valid zone name but /etc/localtime is " +
            "Asia/Tokyo",
        ),
      );
    });

    it("F06 setZone() rewrites /etc/timezone and the link", async () => {
      await fs.symlink("/usr/share/zoneinfo/Asia/Tokyo", t.paths.localtime);
      await fs.writeFile(t.paths.timezoneFile, "Europe/Paris\n");
      const result = await setZone(t.paths, "Europe", "Paris");
      assert.deepEqual(result, reading("Europe", "Paris", "symlink"));
      assert.equal(
        await fs.readFile(t.paths.timezoneFile, "utf8"),
        "Europe/Paris\n",
      );
      assert.equal(
        await fs.readlink(t.paths.localtime),
        "/usr/share/zoneinfo/Europe/Paris",
      );
      assert.deepEqual(await etcEntries(t), ["localtime", "timezone"]);
    });

    it("F07 setZone() falls back to the link without a bus", async () => {
      await fs.writeFile(t.paths.timezoneFile, "Europe/Paris\n");
      for (const fault of noBusFaults()) {
        const calls: [string, string[]][] = [];
        const run = async (cmd: string, args: string[]) => {
          calls.push([cmd, args]);
          throw fault;
        };
        const result = await setZone(t.paths, "Asia", "Tokyo", {
          timedatectl: true,
          run,
        });
        assert.deepEqual(calls, [
          ["timedatectl", ["set-timezone", "Asia/Tokyo"]],
        ]);
        assert.deepEqual(result, reading("Asia", "Tokyo", "symlink"));
        assert.equal(
          await fs.readFile(t.paths.timezoneFile, "utf8"),
          "Asia/Tokyo\n",
        );
        await setZone(t.paths, "Europe", "Paris");
      }
    });

    it("setZone() reports other timedatectl failures", async () => {
      await fs.symlink("/usr/share/zoneinfo/Europe/Paris", t.paths.localtime);
      const before = await snapshot(t.root);
      const run = async () => {
        throw new Error("Failed to set time zone: Access denied");
      };
      const err = await failure(() =>
        setZone(t.paths, "Asia", "Tokyo", { timedatectl: true, run }),
      );
      assert.equal(err.code, "HOST_OPERATION_FAILED");
      assert.equal(
        err.message,
        "Host operation timedatectl set-timezone failed: Failed to set " +
          "time zone: Access denied",
      );
      assert.deepEqual(await snapshot(t.root), before);
    });

    it("setZone() leaves the link to a working timedatectl", async () => {
      await fs.symlink("/usr/share/zoneinfo/Europe/Paris", t.paths.localtime);
      const calls: string[][] = [];
      const run = async (cmd: string, args: string[]) => {
        calls.push([cmd, ...args]);
      };
      const result = await setZone(t.paths, "Asia", "Tokyo", {
        timedatectl: true,
        run,
      });
      assert.deepEqual(calls, [["timedatectl", "set-timezone", "Asia/Tokyo"]]);
      assert.deepEqual(result, reading("Europe", "Paris", "symlink"));
    });

    it("F08 setZone() refuses evil input, nothing changes", async () => {
      await fs.symlink("/usr/share/zoneinfo/Europe/Paris", t.paths.localtime);
      await fs.writeFile(t.paths.timezoneFile, "Europe/Paris\n");
      const before = await snapshot(t.root);

      for (const [zone, country] of EVIL_INPUTS) {
        const err = await failure(() =>
          setZone(t.paths, zone, country, { timedatectl: true, run: noRun }),
        );
        assert.equal(err.http, 400, err.message);
        assert.ok(!err.message.includes(SECRET), err.message);
        assert.ok(!err.message.includes("root:"), err.message);
      }
      assert.deepEqual(await snapshot(t.root), before);
    });
  });
}

describe("time zone traps of the fake tree (F08)", () => {
  let t: TempRoot;
  beforeEach(async () => {
    clearZoneCache();
    t = await makeFakeRoot();
  });
  afterEach(async () => {
    await t.remove();
  });

  it("setZone() refuses links out of the tree and non-zone files", async () => {
    await fs.symlink("/usr/share/zoneinfo/Europe/Paris", t.paths.localtime);
    const before = await snapshot(t.root);
    for (const country of ["Outside", "Not_Zone"]) {
      const err = await failure(() => setZone(t.paths, "Europe", country));
      assert.equal(err.code, "ZONE_NOT_FOUND");
      assert.equal(err.http, 404);
      assert.ok(!err.message.includes(SECRET), err.message);
    }
    assert.deepEqual(await snapshot(t.root), before);
  });

  it("readZone() reads content for a link out of zoneinfo", async () => {
    const copy = path.join(t.root, "etc/zone-copy");
    await fs.writeFile(copy, await systemZone("Europe/Paris"));
    await fs.symlink("/etc/zone-copy", t.paths.localtime);
    assert.deepEqual(
      await readZone(t.paths),
      reading("Europe", "Paris", "content"),
    );
  });

  it("readZone() keeps a top-level zone with no two-level twin", async () => {
    await fs.symlink("/usr/share/zoneinfo/CET", t.paths.localtime);
    assert.deepEqual(await readZone(t.paths), reading("CET", null, "symlink"));
  });

  it("readZone() says when a plain localtime matches no zone", async () => {
    await fs.writeFile(t.paths.localtime, await systemZone("Asia/Seoul"));
    assert.deepEqual(await readZone(t.paths), reading(null, null, "none"));
    await fs.writeFile(t.paths.timezoneFile, "Asia/Tokyo\n");
    assert.deepEqual(
      await readZone(t.paths),
      reading(
        null,
        null,
        "none",
        "/etc/timezone says Asia/Tokyo but /etc/localtime matches no zone " +
          "file in the zoneinfo tree",
      ),
    );
  });
});

function noBusFaults(): unknown[] {
  const missing = Object.assign(new Error("spawn timedatectl ENOENT"), {
    code: "ENOENT",
  });
  const stderr = Object.assign(new Error("Command failed: timedatectl"), {
    code: 1,
    stderr: "Failed to connect to bus: No such file or directory\n",
  });
  return [
    new Error("Failed to create bus connection: No such file or directory"),
    new Error(
      "System has not been booted with systemd as init system (PID 1). " +
        "Can't operate.",
    ),
    missing,
    stderr,
  ];
}

async function noRun(): Promise<void> {
  throw new Error("timedatectl must not run for refused input");
}
