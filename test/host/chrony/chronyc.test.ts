import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import { after, before, describe, it } from "node:test";
import {
  Chronyc,
  ChronycError,
  mergeSources,
  parseSourceRow,
  parseStatsRow,
  parseTracking,
} from "../../../src/host/chrony/chronyc.ts";
import { renderSources } from "../../../src/host/chrony/config.ts";
import { SupervisedChronyd } from "../../../src/host/chrony/supervisor.ts";
import { removeDir, tempDir } from "./helpers.ts";

// Rows as chrony 4.3 printed them for a client of a +5 s upstream.
const TRACKING =
  "7F000029,127.0.0.41,4,1796312675.933747221,0.000000846,-5.000015736," +
  "5.000015736,-0.334,-0.000,73.536,0.000047347,0.000265075,2.0,Normal";
const SOURCE_41 =
  "^,*,127.0.0.41,3,4,17,3,-5.000020027,-5.000010967,0.000023876";
const SOURCE_42 =
  "^,?,127.0.0.42,0,4,0,4294967295,0.000000000,0.000000000,0.000000000";
const STATS_41 = "127.0.0.41,4,4,6,-0.000,73.534,-5.000015736,0.000006904";

describe("chronyc CSV parsing", () => {
  it("maps every tracking field", () => {
    assert.deepEqual(parseTracking(TRACKING.split(",")), {
      ref_id: "7F000029",
      ref_name: "127.0.0.41",
      stratum: 4,
      ref_time_s: 1796312675.9337473,
      system_time_s: 0.000000846,
      last_offset_s: -5.000015736,
      rms_offset_s: 5.000015736,
      freq_ppm: -0.334,
      residual_freq_ppm: -0,
      skew_ppm: 73.536,
      root_delay_s: 0.000047347,
      root_dispersion_s: 0.000265075,
      update_interval_s: 2,
      leap_status: "Normal",
    });
  });

  it("refuses a tracking row with the wrong field count", () => {
    assert.throws(
      () => parseTracking(["7F000029", "x"]),
      (err: unknown) =>
        err instanceof ChronycError && err.kind === "bad_output",
    );
  });

  it("parses a selected source with its octal reach", () => {
    assert.deepEqual(parseSourceRow(SOURCE_41.split(",")), {
      addr: "127.0.0.41",
      kind: "server",
      state: "selected",
      stratum: 3,
      poll_log2: 4,
      reach: 15,
      last_rx_s: 3,
      offset_s: -5.000020027,
      error_s: 0.000023876,
      samples: 0,
    });
  });

  it("gives null sample fields for a source never heard from", () => {
    const row = parseSourceRow(SOURCE_42.split(","));
    assert.equal(row.state, "unreachable");
    assert.equal(row.reach, 0);
    assert.equal(row.last_rx_s, null);
    assert.equal(row.offset_s, null);
    assert.equal(row.error_s, null);
  });

  it("maps every state and mode character", () => {
    const states: Record<string, string> = {
      "*": "selected",
      "+": "combined",
      "-": "not_combined",
      x: "falseticker",
      "~": "jittery",
      "?": "unusable",
    };
    // SOURCE_41 has reach 17 (octal): a "?" that got replies is unusable;
    // a "?" with reach 0 is unreachable (the test above).
    for (const [ch, state] of Object.entries(states)) {
      const row = SOURCE_41.replace("^,*", `=,${ch}`).split(",");
      assert.equal(parseSourceRow(row).state, state);
      assert.equal(parseSourceRow(row).kind, "peer");
    }
    const refclock = SOURCE_41.replace("^,*", "#,*").split(",");
    assert.equal(parseSourceRow(refclock).kind, "refclock");
  });

  it("merges the sample count from sourcestats by address", () => {
    const merged = mergeSources(
      [
        parseSourceRow(SOURCE_41.split(",")),
        parseSourceRow(SOURCE_42.split(",")),
      ],
      [parseStatsRow(STATS_41.split(","))],
    );
    assert.deepEqual(
      merged.map((s) => [s.addr, s.samples]),
      [
        ["127.0.0.41", 4],
        ["127.0.0.42", 0],
      ],
    );
  });
});

describe("Chronyc against a real chronyd without sources", () => {
  let dir = "";
  let daemon: SupervisedChronyd;
  let chronyc: Chronyc;

  before(async () => {
    dir = await tempDir("cc");
    daemon = new SupervisedChronyd({ stateDir: dir });
    await daemon.start();
    chronyc = new Chronyc({ socket: daemon.layout.socket });
  });
  after(async () => {
    await daemon?.stop();
    await removeDir(dir);
  });

  it("reads tracking with no reference", async () => {
    const t = await chronyc.tracking();
    assert.equal(t.ref_id, "00000000");
    assert.equal(t.ref_name, "");
    assert.equal(t.stratum, 0);
    assert.equal(t.leap_status, "Not synchronised");
  });

  it("reads an empty source list", async () => {
    assert.deepEqual(await chronyc.sources(), []);
  });

  it("reloads sources with 200 OK", async () => {
    assert.equal(await chronyc.reloadSources(), "200 OK");
  });

  it("reports 503 No such source for a burst as refused", async () => {
    await assert.rejects(chronyc.burst(), (err: unknown) => {
      assert.ok(err instanceof ChronycError);
      assert.equal(err.kind, "refused");
      assert.equal(err.reply, "503 No such source");
      assert.equal(err.code, "HOST_OPERATION_FAILED");
      return true;
    });
  });

  it("reports makestep under -x as 500 Failure", async () => {
    await assert.rejects(chronyc.makestep(), (err: unknown) => {
      assert.ok(err instanceof ChronycError);
      assert.equal(err.kind, "refused");
      assert.equal(err.reply, "500 Failure");
      assert.equal(
        err.message,
        'Host operation chronyc makestep failed: chronyd answered "500 Failure"',
      );
      return true;
    });
  });

  it("reads sources while they are reloaded without failing (F17)", async () => {
    const two = renderSources({
      servers: ["127.0.0.46", "127.0.0.47"],
      poll_log2: 10,
    });
    const none = renderSources({ servers: [], poll_log2: 10 });
    for (let i = 0; i < 20; i++) {
      await fs.writeFile(daemon.layout.sourcesFile, i % 2 === 0 ? two : none);
      const [reply, list] = await Promise.all([
        chronyc.reloadSources(),
        chronyc.sources(),
      ]);
      assert.equal(reply, "200 OK");
      for (const source of list) {
        assert.ok(["127.0.0.46", "127.0.0.47"].includes(source.addr));
      }
    }
    await fs.writeFile(daemon.layout.sourcesFile, none);
    await chronyc.reloadSources();
    assert.deepEqual(await chronyc.sources(), []);
  });

  it("reports a missing socket as no_daemon", async () => {
    const missing = new Chronyc({ socket: `${dir}/missing.sock` });
    await assert.rejects(missing.tracking(), (err: unknown) => {
      assert.ok(err instanceof ChronycError);
      assert.equal(err.kind, "no_daemon");
      assert.equal(err.code, "CHRONY_UNAVAILABLE");
      assert.match(err.message, /missing\.sock" does not exist/);
      return true;
    });
  });

  it("reports a chronyc binary that is not installed", async () => {
    const absent = new Chronyc({
      socket: daemon.layout.socket,
      bin: `${dir}/no-chronyc`,
    });
    await assert.rejects(
      absent.tracking(),
      (err: unknown) =>
        err instanceof ChronycError && err.kind === "not_installed",
    );
  });
});
