import assert from "node:assert/strict";
import { promises as fs, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { TimeplaneError } from "../../src/errors.ts";
import {
  canonicalName,
  clearZoneCache,
  findZoneByContent,
  isTzifHeader,
  listCountries,
  listZones,
  resolveZone,
  validateZoneName,
} from "../../src/host/zoneinfo.ts";
import {
  EVIL_INPUTS,
  makeFakeRoot,
  makeRealTreeRoot,
  put,
  SECRET,
  systemZone,
  type TempRoot,
} from "./zone-fixture.ts";

/** Asserts that fn rejects with a TimeplaneError of that code and status. */
async function rejectsWith(
  fn: () => unknown,
  code: string,
  http: number,
): Promise<TimeplaneError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof TimeplaneError, `expected ${code}`);
  assert.equal(caught.code, code);
  assert.equal(caught.http, http);
  assert.ok(!caught.message.includes(SECRET), caught.message);
  assert.ok(!caught.messageCn.includes(SECRET), caught.messageCn);
  return caught;
}

describe("zoneinfo on a fake tree", () => {
  let t: TempRoot;
  before(async () => {
    t = await makeFakeRoot();
  });
  after(async () => {
    await t.remove();
  });
  beforeEach(() => clearZoneCache());

  it("listZones() lists folders with zone files only (F03, F04)", async () => {
    assert.deepEqual(await listZones(t.paths), [
      "America",
      "Asia",
      "Etc",
      "Europe",
    ]);
  });

  it("F01 listCountries() lists nested files, not folders", async () => {
    assert.deepEqual(await listCountries(t.paths, "America"), [
      "Argentina/Buenos_Aires",
      "Indiana/Indianapolis",
      "New_York",
    ]);
    assert.deepEqual(await listCountries(t.paths, "Asia"), [
      "Aa_Tokyo_Copy",
      "Tokyo",
    ]);
  });

  it("F08 listCountries() skips non-zones and outside links", async () => {
    assert.deepEqual(await listCountries(t.paths, "Europe"), [
      "Berlin",
      "Link_Paris",
      "Paris",
    ]);
  });

  it("listCountries() refuses a zone with a slash with 400 (F02)", async () => {
    const err = await rejectsWith(
      () => listCountries(t.paths, "America/Argentina"),
      "INVALID_FIELD",
      400,
    );
    assert.equal(
      err.message,
      'Invalid zone "America/Argentina": zone is the first path component ' +
        'only, such as "America": put the rest in country',
    );
  });

  it("listCountries() is 404 for files and unknown zones", async () => {
    for (const zone of ["UTC", "Japan", "Nowhere", "Empty_Zone", "Docs"]) {
      const err = await rejectsWith(
        () => listCountries(t.paths, zone),
        "ZONE_NOT_FOUND",
        404,
      );
      assert.equal(
        err.message,
        `Unknown time zone "${zone}": not in the node's zoneinfo listing`,
      );
    }
  });

  it("F04 listCountries() refuses right and posix", async () => {
    const err = await rejectsWith(
      () => listCountries(t.paths, "right"),
      "ZONE_REFUSED",
      400,
    );
    assert.match(err.message, /^Time zone "right" refused: right\/ counts/);
    assert.match(err.message, /wrong local time on an NTP-disciplined clock/);
    const posix = await rejectsWith(
      () => listCountries(t.paths, "posix"),
      "ZONE_REFUSED",
      400,
    );
    assert.match(posix.message, /posix\/ duplicates the main tree/);
  });

  it("resolveZone() accepts every listed entry (F01)", async () => {
    for (const zone of await listZones(t.paths)) {
      for (const country of await listCountries(t.paths, zone)) {
        assert.equal(
          await resolveZone(t.paths, zone, country),
          `${zone}/${country}`,
        );
      }
    }
  });

  it("F01 F02 resolveZone() is 404 for folders, deep names", async () => {
    for (const country of [
      "Argentina",
      "Argentina/Buenos_Aires/x",
      "Kentucky/Louisville",
    ]) {
      const err = await rejectsWith(
        () => resolveZone(t.paths, "America", country),
        "ZONE_NOT_FOUND",
        404,
      );
      assert.equal(err.params.value, `"America/${country}"`);
    }
  });

  it("F08 resolveZone() stays in the tree, leaks nothing", async () => {
    for (const country of ["Outside", "Not_Zone"]) {
      const err = await rejectsWith(
        () => resolveZone(t.paths, "Europe", country),
        "ZONE_NOT_FOUND",
        404,
      );
      assert.equal(
        err.message,
        `Unknown time zone "Europe/${country}": ` +
          "not in the node's zoneinfo listing",
      );
    }
  });

  it("resolveZone() refuses a right/ zone with the reason (F04)", async () => {
    const err = await rejectsWith(
      () => resolveZone(t.paths, "right", "Asia/Tokyo"),
      "ZONE_REFUSED",
      400,
    );
    assert.equal(err.params.value, '"right"');
  });

  it("F03 canonicalName() maps top-level files", async () => {
    assert.equal(await canonicalName(t.paths, "UTC"), "Etc/UTC");
    assert.equal(await canonicalName(t.paths, "Japan"), "Asia/Tokyo");
    assert.equal(await canonicalName(t.paths, "CET"), "CET");
    assert.equal(
      await canonicalName(t.paths, "posix/Asia/Tokyo"),
      "Asia/Tokyo",
    );
    assert.equal(await canonicalName(t.paths, "right/UTC"), "Etc/UTC");
    assert.equal(
      await canonicalName(t.paths, "Asia/Aa_Tokyo_Copy"),
      "Asia/Aa_Tokyo_Copy",
    );
    assert.equal(
      await canonicalName(t.paths, "../../etc/passwd"),
      "../../etc/passwd",
    );
  });

  it("findZoneByContent() prefers zone1970.tab, zone.tab", async () => {
    const tokyo = await systemZone("Asia/Tokyo");
    assert.equal(await findZoneByContent(t.paths, tokyo), "Asia/Tokyo");
    const paris = await systemZone("Europe/Paris");
    assert.equal(await findZoneByContent(t.paths, paris), "Europe/Paris");
    const cet = await systemZone("CET");
    assert.equal(await findZoneByContent(t.paths, cet), "CET");
    const other = await systemZone("Asia/Seoul");
    assert.equal(await findZoneByContent(t.paths, other), null);
  });
});

describe("zoneinfo cache and ranking on a tree that changes", () => {
  let t: TempRoot;
  before(async () => {
    t = await makeFakeRoot();
  });
  after(async () => {
    await t.remove();
  });

  it("serves the cached listing until clearZoneCache()", async () => {
    clearZoneCache();
    const before = await listCountries(t.paths, "Europe");
    const berlin = await systemZone("Europe/Berlin");
    await put(path.join(t.zoneinfo, "Europe/Aa_Berlin"), berlin);
    await put(path.join(t.zoneinfo, "Berlin_Alias"), berlin);

    assert.deepEqual(await listCountries(t.paths, "Europe"), before);
    clearZoneCache();
    assert.deepEqual(await listCountries(t.paths, "Europe"), [
      "Aa_Berlin",
      "Berlin",
      "Link_Paris",
      "Paris",
    ]);
  });

  it("canonicalName() falls back to the first twin by name", async () => {
    clearZoneCache();
    assert.equal(
      await canonicalName(t.paths, "Berlin_Alias"),
      "Europe/Aa_Berlin",
    );
  });

  it("a missing tree is ZONEINFO_UNAVAILABLE (503)", async () => {
    await fs.rename(t.zoneinfo, `${t.zoneinfo}.gone`);
    try {
      clearZoneCache();
      const err = await rejectsWith(
        () => listZones(t.paths),
        "ZONEINFO_UNAVAILABLE",
        503,
      );
      assert.equal(
        err.message,
        "Zoneinfo tree unavailable on node " +
          `${os.hostname()}: the zoneinfo folder does not exist; ` +
          "install tzdata or pass --zoneinfo",
      );
      assert.doesNotMatch(err.message, /usr\/share/);
    } finally {
      await fs.rename(`${t.zoneinfo}.gone`, t.zoneinfo);
      clearZoneCache();
    }
  });
});

describe("validateZoneName()", () => {
  it("returns zone/country for valid names", () => {
    assert.equal(
      validateZoneName("America", "Argentina/Buenos_Aires"),
      "America/Argentina/Buenos_Aires",
    );
    assert.equal(validateZoneName("Etc", "GMT+5"), "Etc/GMT+5");
    assert.equal(
      validateZoneName("America", "Port-au-Prince"),
      "America/Port-au-Prince",
    );
  });

  it("refuses every evil input with 400 naming the field (F02, F08)", () => {
    for (const [zone, country] of EVIL_INPUTS) {
      let caught: unknown;
      try {
        validateZoneName(zone, country);
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof TimeplaneError, JSON.stringify(zone));
      assert.equal(caught.http, 400);
      const isRefused = zone === "right" || zone === "posix";
      assert.equal(caught.code, isRefused ? "ZONE_REFUSED" : "INVALID_FIELD");
      if (!isRefused) {
        assert.match(caught.message, /^Invalid (zone|country) /);
      }
    }
  });

  it("quotes control characters instead of printing them", () => {
    assert.throws(() => validateZoneName("Europe", "Berlin\n/../../tmp/x"), {
      message:
        'Invalid country "Berlin\\n/../../tmp/x": must not contain ' +
        "control characters",
    });
    assert.throws(() => validateZoneName("..", "Paris"), {
      message: 'Invalid zone "..": must not contain . or .. segments',
    });
    assert.throws(() => validateZoneName("/etc", "passwd"), {
      message: 'Invalid zone "/etc": must be a relative name, not a path',
    });
  });
});

describe("zoneinfo on this machine's tree (read only)", () => {
  let t: TempRoot;
  before(async () => {
    clearZoneCache();
    t = await makeRealTreeRoot();
  });
  after(async () => {
    await t.remove();
  });

  it("F04 listZones() holds areas, not posix, right, files", async () => {
    const zones = await listZones(t.paths);
    for (const zone of ["Africa", "America", "Asia", "Etc", "Europe"]) {
      assert.ok(zones.includes(zone), zone);
    }
    for (const name of ["posix", "right", "UTC", "Japan", "zone.tab"]) {
      assert.ok(!zones.includes(name), name);
    }
  });

  it("F01 listCountries(America) holds nested zones", async () => {
    const countries = await listCountries(t.paths, "America");
    for (const name of [
      "Argentina/Buenos_Aires",
      "Indiana/Indianapolis",
      "Kentucky/Louisville",
      "North_Dakota/Center",
      "New_York",
    ]) {
      assert.ok(countries.includes(name), name);
    }
    for (const folder of ["Argentina", "Indiana", "Kentucky", "North_Dakota"]) {
      assert.ok(!countries.includes(folder), folder);
    }
  });

  it("every listed entry of every zone resolves (F01)", async () => {
    let count = 0;
    for (const zone of await listZones(t.paths)) {
      for (const country of await listCountries(t.paths, zone)) {
        assert.equal(
          await resolveZone(t.paths, zone, country),
          `${zone}/${country}`,
        );
        count++;
      }
    }
    assert.ok(count > 300, `only ${count} zones`);
  });

  it("F03 canonicalName() maps UTC, Japan, Navajo", async () => {
    assert.equal(await canonicalName(t.paths, "UTC"), "Etc/UTC");
    assert.equal(await canonicalName(t.paths, "Japan"), "Asia/Tokyo");
    assert.equal(await canonicalName(t.paths, "Navajo"), "America/Denver");
  });
});

describe("isTzifHeader", () => {
  const real = readFileSync("/usr/share/zoneinfo/Asia/Tokyo");

  it("accepts a real zone file", () => {
    assert.equal(isTzifHeader(real.subarray(0, 44), real.length), true);
  });

  it("refuses a file that only starts with TZif", () => {
    const fake = Buffer.alloc(44);
    fake.write("TZif2 not really", 0, "latin1");
    assert.equal(isTzifHeader(fake, 44), false);
  });

  it("refuses an unknown version, no types, or a truncated file", () => {
    const version = Buffer.from(real.subarray(0, 44));
    version[4] = 0x39;
    assert.equal(isTzifHeader(version, real.length), false);
    const noTypes = Buffer.from(real.subarray(0, 44));
    noTypes.writeUInt32BE(0, 36);
    assert.equal(isTzifHeader(noTypes, real.length), false);
    assert.equal(isTzifHeader(real.subarray(0, 44), 60), false);
  });
});
