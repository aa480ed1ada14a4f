/**
 * ChronyHost in supervised mode against a real upstream chronyd running
 * 5 s ahead under faketime on 127.0.0.41, with 127.0.0.42 as a dead source.
 */
import assert from "node:assert/strict";
import { existsSync, promises as fs } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { ChronySource } from "../../../src/agent/types.ts";
import { Chronyc } from "../../../src/host/chrony/chronyc.ts";
import { forceSync } from "../../../src/host/chrony/force-sync.ts";
import { ChronyHost } from "../../../src/host/chrony/index.ts";
import { systemClockOffset } from "../../../src/host/chrony/status.ts";
import { HostPaths } from "../../../src/host/paths.ts";
import {
  isAlive,
  removeDir,
  startUpstream,
  tempDir,
  type Upstream,
  waitFor,
} from "./helpers.ts";

const UP = "127.0.0.41";
const DEAD = "127.0.0.42";
const HEADER = "# Managed by timeplane; changes here are overwritten";
const line = (addr: string) => `server ${addr} iburst minpoll 4 maxpoll 4`;

describe("ChronyHost, supervised, with a +5 s upstream", () => {
  let dir = "";
  let upstream: Upstream | null = null;
  let host: ChronyHost;
  let breakNext: ((text: string) => string) | null = null;

  before(async () => {
    dir = await tempDir("host");
    upstream = await startUpstream({
      addr: UP,
      dir: path.join(dir, "up"),
      fakeOffset: "+5s",
    });
    host = new ChronyHost({
      mode: "supervised",
      paths: new HostPaths({ root: path.join(dir, "root") }),
      stateDir: path.join(dir, "state"),
      testHooks: {
        editSources: (text) => (breakNext === null ? text : breakNext(text)),
      },
    });
    await host.start();
  });

  after(async () => {
    await host?.stop();
    await upstream?.stop();
    await removeDir(dir);
  });

  it("applies sources and is pending right after the reload (F17)", async () => {
    const outcome = await host.applySources({
      servers: [UP, DEAD],
      poll_log2: 4,
    });
    assert.deepEqual(outcome, { rolled_back: false, error: null });

    const status = await host.syncStatus();
    assert.equal(status.phase, "pending");
    assert.equal(status.synchronised, false);
    assert.equal(
      status.detail,
      "waiting for first samples: sources changed 0 s ago",
    );

    assert.equal(
      await fs.readFile(host.sourcesFile, "utf8"),
      `${HEADER}\n${line(UP)}\n${line(DEAD)}\n`,
    );
  });

  it("lists both sources and selects the upstream, 5 s ahead", async () => {
    const sources = await waitFor(async () => {
      const list = await host.chronyc.sources();
      assert.equal(list.find((s) => s.addr === UP)?.state, "selected");
      return list;
    }, 20_000);
    assert.deepEqual(sources.map((s) => s.addr).sort(), [UP, DEAD]);

    const up = sources.find((s) => s.addr === UP) as ChronySource;
    assert.equal(up.kind, "server");
    assert.equal(up.stratum, 3);
    assert.equal(up.poll_log2, 4);
    assert.ok(up.samples >= 3, `samples ${up.samples}`);
    const tracking = await host.chronyc.tracking();
    assertNear(systemClockOffset(up.offset_s ?? 0, tracking), -5, 0.05);

    const dead = sources.find((s) => s.addr === DEAD) as ChronySource;
    assert.equal(dead.state, "unreachable");
    assert.equal(dead.reach, 0);
    assert.equal(dead.offset_s, null);
  });

  it("reports the node synchronised to the upstream", async () => {
    const status = await host.syncStatus();
    assert.equal(status.synchronised, true);
    assert.equal(status.phase, "synchronised");
    assert.equal(status.detail, null);
    assert.equal(status.tracking?.ref_id, "7F000029");
    assert.equal(status.tracking?.ref_name, UP);
    assert.equal(status.tracking?.stratum, 4);
    assert.equal(status.tracking?.leap_status, "Normal");
    assertNear(status.sources.find((s) => s.addr === UP)?.offset_s, -5, 0.05);
    assert.deepEqual(status.state, {
      loaded: "loaded",
      status: "active",
      mode: "supervised",
      detail: null,
    });
  });

  it("forceSync measures -5 s, then reports makestep's 500 Failure", async () => {
    const result = await host.forceSync();
    assert.equal(result.ok, false);
    assert.equal(result.reference, UP);
    assertNear(result.offset_before_s, -5, 0.05);
    assert.equal(result.offset_after_s, null);
    assert.equal(
      result.error,
      'chronyc makestep answered "500 Failure": chronyd runs without ' +
        "clock control (-x), as this agent started it",
    );
  });

  it("forceSync says how far off the clock still is after a step (F20)", async () => {
    // makestep cannot succeed under -x, so only it is replaced: the burst
    // and both measurements are real.
    class StepSaysOk extends Chronyc {
      override makestep(): Promise<string> {
        return Promise.resolve("200 OK");
      }
    }
    const socket = host.chronyc.socket;
    const result = await forceSync({
      chronyc: new StepSaysOk({ socket }),
      thresholdS: 0.1,
      startedWithoutClockControl: true,
    });
    assert.equal(result.ok, false);
    assertNear(result.offset_before_s, -5, 0.05);
    assertNear(result.offset_after_s, -5, 0.05);
    assert.match(
      result.error ?? "",
      /^still off by -5\.\d{6} s from 127\.0\.0\.41: the threshold is 0\.1 s$/,
    );
  });

  it("still reports -5 s once chronyd took the error into its timescale", async () => {
    // Two bursts used up `makestep 1 3`: chronyd now slews, which under -x
    // only moves its own timescale, never the clock.
    const status = await host.syncStatus();
    assert.equal(status.synchronised, true);
    const tracking = status.tracking;
    assert.ok(tracking !== null);
    assertNear(tracking.system_time_s, 5, 0.05);
    assertNear(status.sources.find((s) => s.addr === UP)?.offset_s, -5, 0.05);
  });

  it("rolls back a file chronyd refuses and keeps running (F11)", async () => {
    const before = await fs.readFile(host.sourcesFile);
    const pid = host.supervisor?.pid as number;
    breakNext = (text) => `${text}server ${UP} iburst bogus 4\n`;
    let outcome: Awaited<ReturnType<ChronyHost["applySources"]>>;
    try {
      outcome = await host.applySources({ servers: [UP], poll_log2: 4 });
    } finally {
      breakNext = null;
    }
    assert.equal(outcome.rolled_back, true);
    const candidate = path.join(dir, "state/check/candidate.sources");
    assert.equal(
      outcome.error,
      "chronyd refused the new sources: Could not parse server directive " +
        `at line 3 in file ${candidate}`,
    );
    assert.deepEqual(await fs.readFile(host.sourcesFile), before);
    assert.equal(host.supervisor?.pid, pid);
    assert.equal(isAlive(pid), true);
    const addrs = (await host.chronyc.sources()).map((s) => s.addr).sort();
    assert.deepEqual(addrs, [UP, DEAD]);
  });

  it("refuses a directive other than server in a sources file", async () => {
    const before = await fs.readFile(host.sourcesFile);
    breakNext = (text) => `${text}allow all\n`;
    let outcome: Awaited<ReturnType<ChronyHost["applySources"]>>;
    try {
      outcome = await host.applySources({ servers: [UP], poll_log2: 4 });
    } finally {
      breakNext = null;
    }
    assert.deepEqual(outcome, {
      rolled_back: true,
      error:
        "chronyd refused the new sources: line 3 is not a server, pool or " +
        'peer directive: "allow all"',
    });
    assert.deepEqual(await fs.readFile(host.sourcesFile), before);
  });

  it("writes only the header for an empty list and chronyd drops all", async () => {
    const outcome = await host.applySources({ servers: [], poll_log2: 6 });
    assert.deepEqual(outcome, { rolled_back: false, error: null });
    assert.equal(await fs.readFile(host.sourcesFile, "utf8"), `${HEADER}\n`);
    assert.deepEqual(await host.chronyc.sources(), []);
    const status = await host.syncStatus();
    assert.equal(status.synchronised, false);
    assert.equal(status.phase, "unsynchronised");
    assert.equal(status.detail, "no sources configured");
  });

  it("rolls back when chronyd cannot take the reload", async () => {
    const before = await fs.readFile(host.sourcesFile);
    const pid = host.supervisor?.pid as number;
    await host.stop();
    assert.equal(isAlive(pid), false);

    const outcome = await host.applySources({ servers: [UP], poll_log2: 4 });
    assert.equal(outcome.rolled_back, true);
    assert.equal(
      outcome.error,
      "chronyd did not take the new sources: chrony unavailable: " +
        `reload sources: command socket "${host.chronyc.socket}" ` +
        "does not exist",
    );
    assert.deepEqual(await fs.readFile(host.sourcesFile), before);
    assert.equal((await host.syncStatus()).phase, "unknown");
  });
});

describe("ChronyHost without chrony installed", () => {
  let dir = "";
  before(async () => {
    dir = await tempDir("nochrony");
  });
  after(async () => {
    await removeDir(dir);
  });

  it("writes nothing and says chrony is not installed", async () => {
    const host = new ChronyHost({
      mode: "supervised",
      paths: new HostPaths({ root: dir }),
      stateDir: path.join(dir, "state"),
      chronydBin: path.join(dir, "no-chronyd"),
    });
    await host.start();
    const outcome = await host.applySources({
      servers: [UP],
      poll_log2: 6,
    });
    assert.deepEqual(outcome, {
      rolled_back: false,
      error: `chrony is not installed: chronyd not found: "${path.join(dir, "no-chronyd")}"`,
    });
    assert.equal(existsSync(host.sourcesFile), false);
    const state = await host.daemonState();
    assert.equal(state.loaded, "not-found");
    const status = await host.syncStatus();
    assert.equal(status.phase, "unknown");
    assert.equal(status.synchronised, false);
    await host.stop();
  });

  it("auto mode picks supervised under a host root that is not /", async () => {
    const host = new ChronyHost({
      mode: "auto",
      paths: new HostPaths({ root: dir }),
      stateDir: path.join(dir, "state"),
      chronydBin: path.join(dir, "no-chronyd"),
    });
    assert.equal(host.mode, "auto");
    await host.start();
    assert.equal(host.mode, "supervised");
    await host.stop();
  });
});

function assertNear(
  actual: number | null | undefined,
  expected: number,
  tolerance: number,
): void {
  assert.ok(
    typeof actual === "number" && Math.abs(actual - expected) <= tolerance,
    `${actual} is not within ${tolerance} of ${expected}`,
  );
}
