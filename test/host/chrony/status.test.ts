import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type {
  ChronySource,
  DaemonState,
  Tracking,
} from "../../../src/agent/types.ts";
import {
  evaluateSync,
  systemClockOffset,
} from "../../../src/host/chrony/status.ts";

const STATE: DaemonState = {
  loaded: "loaded",
  status: "active",
  mode: "supervised",
  detail: null,
};

const TRACKING: Tracking = {
  ref_id: "7F000029",
  ref_name: "127.0.0.41",
  stratum: 4,
  ref_time_s: 1796312675.5,
  system_time_s: 0,
  last_offset_s: 0,
  rms_offset_s: 0,
  freq_ppm: 0,
  skew_ppm: 0,
  root_delay_s: 0,
  root_dispersion_s: 0,
  update_interval_s: 2,
  leap_status: "Normal",
};

function source(state: string): ChronySource {
  return {
    addr: "127.0.0.41",
    kind: "server",
    state,
    stratum: 3,
    poll_log2: 4,
    reach: 255,
    last_rx_s: 1,
    offset_s: 0.001,
    error_s: 0.0001,
    samples: 8,
  };
}

function evaluate(tracking: Tracking, sources: ChronySource[], since = 100) {
  return evaluateSync({
    state: STATE,
    tracking,
    sources,
    sinceChangeS: since,
    pendingWindowS: 30,
    expectsSources: true,
  });
}

describe("evaluateSync", () => {
  it("is synchronised with a real reference and a selected source", () => {
    const status = evaluate(TRACKING, [source("selected")]);
    assert.equal(status.synchronised, true);
    assert.equal(status.phase, "synchronised");
  });

  it("is not synchronised while chronyd says Not synchronised", () => {
    const tracking = { ...TRACKING, leap_status: "Not synchronised" };
    const status = evaluate(tracking, [source("selected")]);
    assert.equal(status.synchronised, false);
    assert.equal(status.phase, "unsynchronised");
  });

  it("is not synchronised on the local reference even with a source (F16)", () => {
    const tracking = { ...TRACKING, ref_id: "7F7F0101", ref_name: "" };
    const status = evaluate(tracking, [source("combined")]);
    assert.equal(status.synchronised, false);
    assert.equal(
      status.detail,
      "chronyd follows only its local clock (stratum 4): offset unknown",
    );
  });

  it("is not synchronised on a stale reference with no selected source", () => {
    const status = evaluate(TRACKING, [source("unreachable")]);
    assert.equal(status.synchronised, false);
    assert.equal(status.detail, "no source selected: 127.0.0.41 unreachable");
  });

  it("is pending inside the window, even with an empty list (F17)", () => {
    const status = evaluate(TRACKING, [], 3.4);
    assert.equal(status.phase, "pending");
    assert.equal(
      status.detail,
      "waiting for first samples: sources changed 3 s ago",
    );
  });
});

describe("systemClockOffset", () => {
  it("takes off the correction chronyd has not applied to the clock", () => {
    const tracking = { ...TRACKING, system_time_s: 5.000015259 };
    assert.equal(systemClockOffset(0.000000914, tracking), -5.000014345);
  });
});
