import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError } from "../../../src/cli/client/config.ts";
import { splitZone } from "../../../src/cli/client/zones.ts";

describe("splitZone", () => {
  it("splits a whole name at its first slash", () => {
    assert.deepEqual(splitZone(["Asia/Shanghai"]), {
      zone: "Asia",
      country: "Shanghai",
    });
    assert.deepEqual(splitZone(["America/Argentina/Buenos_Aires"]), {
      zone: "America",
      country: "Argentina/Buenos_Aires",
    });
  });

  it("takes the first word as the zone and the rest as the country", () => {
    assert.deepEqual(splitZone(["Asia", "Shanghai"]), {
      zone: "Asia",
      country: "Shanghai",
    });
    assert.deepEqual(splitZone(["America", "Argentina/Buenos_Aires"]), {
      zone: "America",
      country: "Argentina/Buenos_Aires",
    });
  });

  it("refuses a name without a country", () => {
    assert.throws(
      () => splitZone(["UTC"]),
      (err: Error) =>
        err instanceof UsageError &&
        err.message ===
          'Invalid time zone "UTC": give a zone and a country, such as Asia/Shanghai',
    );
    assert.throws(() => splitZone(["Asia/"]), UsageError);
  });
});
