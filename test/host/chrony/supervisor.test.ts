import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { promises as fs, statSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { TimeplaneError } from "../../../src/errors.ts";
import { ChronycError } from "../../../src/host/chrony/chronyc.ts";
import { renderSupervisedConf } from "../../../src/host/chrony/config.ts";
import {
  SupervisedChronyd,
  stateLayout,
} from "../../../src/host/chrony/supervisor.ts";
import {
  isAlive,
  killAndWait,
  removeDir,
  sleep,
  tempDir,
  waitFor,
} from "./helpers.ts";

describe("SupervisedChronyd", () => {
  let dir = "";
  let daemon: SupervisedChronyd | null = null;
  const strays: number[] = [];

  beforeEach(async () => {
    dir = await tempDir("sup");
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = null;
    for (const pid of strays.splice(0)) await killAndWait(pid);
    await removeDir(dir);
  });

  it("starts chronyd with -x in a 0700 state folder and stops it", async () => {
    daemon = new SupervisedChronyd({ stateDir: path.join(dir, "state") });
    await daemon.start();
    const pid = daemon.pid;
    assert.ok(pid !== null && isAlive(pid));
    assert.equal(daemon.running, true);

    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, "utf8");
    const layout = daemon.layout;
    assert.deepEqual(cmdline.split("\0").slice(1, -1), [
      "-d",
      "-u",
      "root",
      "-f",
      layout.conf,
      "-x",
    ]);
    assert.equal(statSync(layout.stateDir).mode & 0o777, 0o700);
    assert.equal(
      await fs.readFile(layout.conf, "utf8"),
      renderSupervisedConf({
        stateDir: layout.stateDir,
        sourcesDir: layout.sourcesDir,
        socket: layout.socket,
      }),
    );
    assert.equal(await fs.readFile(layout.sourcesFile, "utf8"), "");
    assert.deepEqual(daemon.state(), {
      loaded: "loaded",
      status: "active",
      mode: "supervised",
      detail: null,
    });
    assert.ok(
      daemon
        .recentLog()
        .some((l) => l.includes("Disabled control of system clock")),
    );

    await daemon.stop();
    assert.equal(isAlive(pid), false);
    assert.equal(daemon.running, false);
    assert.equal(daemon.state().status, "inactive");
  });

  it("restart() gives a new chronyd and leaves the old one gone", async () => {
    daemon = new SupervisedChronyd({ stateDir: dir });
    await daemon.start();
    const first = daemon.pid as number;
    await daemon.restart();
    const second = daemon.pid as number;
    assert.notEqual(first, second);
    assert.equal(isAlive(first), false);
    assert.equal(isAlive(second), true);
  });

  it("kills a stale chronyd left by a crashed agent before starting", async () => {
    const layout = stateLayout(dir);
    await fs.mkdir(layout.sourcesDir, { recursive: true });
    await fs.writeFile(
      layout.conf,
      renderSupervisedConf({
        stateDir: layout.stateDir,
        sourcesDir: layout.sourcesDir,
        socket: layout.socket,
      }),
    );
    const stale = spawn(
      "chronyd",
      ["-d", "-u", "root", "-f", layout.conf, "-x"],
      { stdio: "ignore" },
    );
    const stalePid = stale.pid as number;
    strays.push(stalePid);
    await waitFor(async () => {
      const text = await fs.readFile(layout.pidfile, "utf8");
      assert.equal(Number(text.trim()), stalePid);
    }, 10_000);

    daemon = new SupervisedChronyd({ stateDir: dir });
    await daemon.start();
    assert.equal(isAlive(stalePid), false);
    assert.notEqual(daemon.pid, stalePid);
    assert.equal(
      Number((await fs.readFile(layout.pidfile, "utf8")).trim()),
      daemon.pid,
    );
  });

  it("does not kill a process that is not our chronyd", async () => {
    const layout = stateLayout(dir);
    await fs.mkdir(dir, { recursive: true });
    // A live process that is not chronyd holds the pidfile: chronyd itself
    // refuses to start, and start() fails with chronyd's words.
    await fs.writeFile(layout.pidfile, `${process.pid}\n`);
    daemon = new SupervisedChronyd({ stateDir: dir });
    await assert.rejects(daemon.start(), (err: unknown) => {
      assert.ok(err instanceof TimeplaneError);
      assert.equal(err.code, "CHRONY_UNAVAILABLE");
      assert.match(err.message, /exited with code 1/);
      assert.match(err.message, /Another chronyd may already be running/);
      return true;
    });
    assert.equal(daemon.running, false);
    const state = daemon.state();
    assert.equal(state.status, "failed");
    assert.match(state.detail ?? "", /Another chronyd may already be running/);
  });

  it("restarts a chronyd that died, with backoff", async () => {
    daemon = new SupervisedChronyd({ stateDir: dir });
    await daemon.start();
    const first = daemon.pid as number;
    process.kill(first, "SIGKILL");
    await waitFor(
      async () => {
        assert.equal(daemon?.state().status, "failed");
      },
      5000,
      20,
    );
    assert.match(daemon.state().detail ?? "", /signal SIGKILL/);
    assert.equal(daemon.running, false);
    assert.equal(daemon.pid, null);
    await assert.rejects(
      daemon.chronyc.tracking(),
      (err: unknown) => err instanceof ChronycError && err.kind === "no_daemon",
    );

    await waitFor(async () => {
      assert.equal(daemon?.state().status, "active");
    }, 15_000);
    assert.notEqual(daemon.pid, first);
    assert.equal((await daemon.chronyc.tracking()).ref_id, "00000000");
  });

  it("does not restart after stop()", async () => {
    daemon = new SupervisedChronyd({ stateDir: dir });
    await daemon.start();
    const pid = daemon.pid as number;
    await daemon.stop();
    await sleep(1500);
    assert.equal(isAlive(pid), false);
    assert.equal(daemon.running, false);
    assert.equal(daemon.pid, null);
  });

  it("reports not-found when chronyd is not installed", async () => {
    daemon = new SupervisedChronyd({
      stateDir: dir,
      chronydBin: path.join(dir, "no-chronyd"),
    });
    assert.deepEqual(daemon.state(), {
      loaded: "not-found",
      status: "inactive",
      mode: "supervised",
      detail: `chronyd not found: "${path.join(dir, "no-chronyd")}"`,
    });
    await assert.rejects(
      daemon.start(),
      /chrony unavailable: chronyd not found/,
    );
  });

  it("refuses a state folder whose socket path is too long", () => {
    const long = path.join(dir, "x".repeat(90));
    assert.throws(
      () => new SupervisedChronyd({ stateDir: long }),
      /chrony unavailable: command socket path ".*" is \d+ bytes, the limit is 99/,
    );
  });
});
