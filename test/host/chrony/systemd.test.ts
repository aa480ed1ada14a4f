/**
 * The systemd mode's host files under temporary roots (F13), with a fake
 * systemctl: systemd is not PID 1 on the test machines. Debian's real
 * /etc/chrony/chrony.conf is read and copied, never written.
 */
import assert from "node:assert/strict";
import { existsSync, promises as fs, statSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { ChronyHost } from "../../../src/host/chrony/index.ts";
import type { RunCommand, RunResult } from "../../../src/host/chrony/run.ts";
import { SupervisedChronyd } from "../../../src/host/chrony/supervisor.ts";
import {
  DEBIAN_LAYOUT,
  detectLayout,
  editMainConf,
  prepareMainConf,
  RHEL_LAYOUT,
  restoreMainConf,
  systemctlRestart,
  systemctlShow,
} from "../../../src/host/chrony/systemd.ts";
import { HostPaths } from "../../../src/host/paths.ts";
import { removeDir, tempDir } from "./helpers.ts";

const DEBIAN_CONF = "/etc/chrony/chrony.conf";

// The shape of a RHEL 9 chrony.conf, written for this test.
const RHEL_CONF = `# Use public servers from the pool.ntp.org project.
pool 2.rhel.pool.ntp.org iburst

# Use NTP servers from DHCP.
sourcedir /run/chrony-dhcp

# Record the rate at which the system clock gains/losses time.
driftfile /var/lib/chrony/drift

# Allow the system clock to be stepped in the first three updates
makestep 1.0 3

# Enable kernel synchronization of the real-time clock (RTC).
rtcsync

#server ntp.example.com iburst
keyfile /etc/chrony.keys
ntsdumpdir /var/lib/chrony
leapsectz right/UTC
logdir /var/log/chrony
`;

async function writeHostFile(
  root: string,
  hostPath: string,
  content: string | Buffer,
): Promise<string> {
  const file = path.join(root, hostPath);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content, { mode: 0o644 });
  return file;
}

describe("detectLayout", () => {
  let root = "";
  beforeEach(async () => {
    root = await tempDir("layout");
  });
  afterEach(async () => {
    await removeDir(root);
  });

  it("finds Debian by /etc/chrony/chrony.conf (F13)", async () => {
    await writeHostFile(root, DEBIAN_CONF, "pool x iburst\n");
    const layout = detectLayout(new HostPaths({ root }));
    assert.deepEqual(layout, {
      distro: "debian",
      conf: "/etc/chrony/chrony.conf",
      unit: "chrony.service",
      sourceDir: "/etc/chrony/sources.d",
      socket: "/run/chrony/chronyd.sock",
    });
  });

  it("finds RHEL by /etc/chrony.conf (F13)", async () => {
    await writeHostFile(root, "/etc/chrony.conf", RHEL_CONF);
    const layout = detectLayout(new HostPaths({ root }));
    assert.equal(layout.distro, "rhel");
    assert.equal(layout.conf, "/etc/chrony.conf");
    assert.equal(layout.unit, "chronyd.service");
    assert.equal(layout.sourceDir, "/etc/chrony/timeplane.d");
  });

  it("lets fields be overridden", async () => {
    await writeHostFile(root, "/etc/chrony.conf", RHEL_CONF);
    const layout = detectLayout(new HostPaths({ root }), {
      unit: "chrony-custom.service",
    });
    assert.deepEqual(layout, { ...RHEL_LAYOUT, unit: "chrony-custom.service" });
  });

  it("defaults to Debian when neither file exists", () => {
    assert.deepEqual(detectLayout(new HostPaths({ root })), DEBIAN_LAYOUT);
  });
});

describe("prepareMainConf and restoreMainConf", () => {
  let root = "";
  beforeEach(async () => {
    root = await tempDir("mainconf");
  });
  afterEach(async () => {
    await removeDir(root);
  });

  it("disables Debian's pool and keeps its sourcedir", async () => {
    const original = await fs.readFile(DEBIAN_CONF);
    const conf = await writeHostFile(root, DEBIAN_CONF, original);
    const paths = new HostPaths({ root });

    assert.equal(await prepareMainConf(paths, DEBIAN_LAYOUT), true);
    const edited = await fs.readFile(conf, "utf8");
    assert.match(
      edited,
      /^# disabled by timeplane: pool 2\.debian\.pool\.ntp\.org iburst$/m,
    );
    assert.doesNotMatch(edited, /^\s*(pool|server)\s/m);
    assert.match(edited, /^sourcedir \/etc\/chrony\/sources\.d$/m);
    assert.doesNotMatch(edited, /added by timeplane/);
    const expected = original
      .toString("utf8")
      .replace(/^pool /m, "# disabled by timeplane: pool ");
    assert.equal(edited, expected);
    assert.deepEqual(await fs.readFile(`${conf}.timeplane-orig`), original);
    assert.equal(statSync(conf).mode & 0o777, 0o644);

    assert.equal(await prepareMainConf(paths, DEBIAN_LAYOUT), false);
    assert.equal(await restoreMainConf(paths, DEBIAN_LAYOUT), true);
    assert.deepEqual(await fs.readFile(conf), original);
    assert.equal(existsSync(`${conf}.timeplane-orig`), false);
    assert.equal(await restoreMainConf(paths, DEBIAN_LAYOUT), false);
  });

  it("adds a sourcedir to a RHEL conf and restores its bytes", async () => {
    const conf = await writeHostFile(root, "/etc/chrony.conf", RHEL_CONF);
    const paths = new HostPaths({ root });

    assert.equal(await prepareMainConf(paths, RHEL_LAYOUT), true);
    const edited = await fs.readFile(conf, "utf8");
    const expected = RHEL_CONF.replace(
      "pool 2.rhel",
      "# disabled by timeplane: pool 2.rhel",
    ).concat("# added by timeplane\nsourcedir /etc/chrony/timeplane.d\n");
    assert.equal(edited, expected);
    assert.match(edited, /^#server ntp\.example\.com iburst$/m);

    await restoreMainConf(paths, RHEL_LAYOUT);
    assert.equal(await fs.readFile(conf, "utf8"), RHEL_CONF);
  });

  it("keeps the first backup when prepared again after an edit", async () => {
    const conf = await writeHostFile(root, "/etc/chrony.conf", RHEL_CONF);
    const paths = new HostPaths({ root });
    await prepareMainConf(paths, RHEL_LAYOUT);
    await fs.appendFile(conf, "server 127.0.0.44 iburst\n");
    assert.equal(await prepareMainConf(paths, RHEL_LAYOUT), true);
    assert.match(
      await fs.readFile(conf, "utf8"),
      /^# disabled by timeplane: server 127\.0\.0\.44 iburst$/m,
    );
    assert.equal(
      await fs.readFile(`${conf}.timeplane-orig`, "utf8"),
      RHEL_CONF,
    );
  });

  it("editMainConf comments server and pool lines with any indent", () => {
    const text = "  server a.example iburst\n\tPOOL b.example\nsourcedir /x\n";
    assert.equal(
      editMainConf(text, "/x"),
      "# disabled by timeplane:   server a.example iburst\n" +
        "# disabled by timeplane: \tPOOL b.example\n" +
        "sourcedir /x\n",
    );
  });
});

describe("systemctl through an injected run", () => {
  function fakeRun(
    result: Partial<RunResult>,
    calls: string[][] = [],
  ): RunCommand {
    return async (cmd, args) => {
      calls.push([cmd, ...args]);
      return {
        stdout: "",
        stderr: "",
        code: 0,
        spawnError: null,
        ...result,
      };
    };
  }

  it("parses an active unit", async () => {
    const calls: string[][] = [];
    const run = fakeRun(
      { stdout: "LoadState=loaded\nActiveState=active\nSubState=running\n" },
      calls,
    );
    assert.deepEqual(await systemctlShow("chrony.service", run), {
      loaded: "loaded",
      status: "active",
      mode: "systemd",
      detail: null,
    });
    assert.deepEqual(calls, [
      [
        "systemctl",
        "show",
        "-p",
        "LoadState,ActiveState,SubState",
        "chrony.service",
      ],
    ]);
  });

  it("parses a failed unit with its sub-state as detail", async () => {
    const run = fakeRun({
      stdout: "LoadState=loaded\nActiveState=failed\nSubState=failed\n",
    });
    assert.deepEqual(await systemctlShow("chronyd.service", run), {
      loaded: "loaded",
      status: "failed",
      mode: "systemd",
      detail: "failed",
    });
  });

  it("parses a unit that is not installed", async () => {
    const run = fakeRun({
      stdout: "LoadState=not-found\nActiveState=inactive\nSubState=dead\n",
    });
    assert.deepEqual(await systemctlShow("chrony.service", run), {
      loaded: "not-found",
      status: "inactive",
      mode: "systemd",
      detail: "dead",
    });
  });

  it("reports a systemctl that cannot talk to systemd", async () => {
    const run = fakeRun({
      code: 1,
      stderr:
        "System has not been booted with systemd as init system (PID 1).\n",
    });
    assert.deepEqual(await systemctlShow("chrony.service", run), {
      loaded: "error",
      status: "unknown",
      mode: "systemd",
      detail: "System has not been booted with systemd as init system (PID 1).",
    });
  });

  it("restart throws with systemctl's words", async () => {
    const run = fakeRun({
      code: 5,
      stderr: "Unit chrony.service not found.\n",
    });
    await assert.rejects(systemctlRestart("chrony.service", run), {
      name: "TimeplaneError",
      code: "HOST_OPERATION_FAILED",
      message:
        "Host operation systemctl restart chrony.service failed: " +
        "Unit chrony.service not found.",
    });
  });
});

describe("ChronyHost in systemd mode, at the systemctl boundary", () => {
  let root = "";
  let standIn: SupervisedChronyd | null = null;

  beforeEach(async () => {
    root = await tempDir("sysd");
  });
  afterEach(async () => {
    await standIn?.stop();
    standIn = null;
    await removeDir(root);
  });

  it("prepares the main conf once, then reloads; release restores", async () => {
    const original = await fs.readFile(DEBIAN_CONF);
    const conf = await writeHostFile(root, DEBIAN_CONF, original);
    // A real chronyd stands in for the host's: its command socket and
    // sources folder are where the layout points.
    standIn = new SupervisedChronyd({
      stateDir: path.join(root, "run/chrony"),
    });
    await standIn.start();

    const calls: string[][] = [];
    const run: RunCommand = async (cmd, args) => {
      calls.push([cmd, ...args]);
      const stdout =
        args[0] === "show"
          ? "LoadState=loaded\nActiveState=active\nSubState=running\n"
          : "";
      return { stdout, stderr: "", code: 0, spawnError: null };
    };
    const host = new ChronyHost({
      mode: "systemd",
      paths: new HostPaths({ root }),
      stateDir: path.join(root, "agent"),
      run,
      layout: { sourceDir: "/run/chrony/sources.d" },
    });
    await host.start();
    assert.equal(host.mode, "systemd");
    assert.equal(
      host.sourcesFile,
      path.join(root, "run/chrony/sources.d/timeplane.sources"),
    );

    const spec = { servers: ["127.0.0.44"], poll_log2: 6 };
    assert.deepEqual(await host.applySources(spec), {
      rolled_back: false,
      error: null,
    });
    assert.ok(
      calls.some((c) => c.join(" ") === "systemctl restart chrony.service"),
    );
    assert.match(
      await fs.readFile(conf, "utf8"),
      /^# added by timeplane\nsourcedir \/run\/chrony\/sources\.d$/m,
    );

    calls.length = 0;
    const spec2 = { servers: ["127.0.0.44", "127.0.0.45"], poll_log2: 6 };
    assert.deepEqual(await host.applySources(spec2), {
      rolled_back: false,
      error: null,
    });
    assert.equal(
      calls.some((c) => c[1] === "restart"),
      false,
    );
    const addrs = (await host.chronyc.sources()).map((s) => s.addr).sort();
    assert.deepEqual(addrs, ["127.0.0.44", "127.0.0.45"]);
    assert.deepEqual(await host.daemonState(), {
      loaded: "loaded",
      status: "active",
      mode: "systemd",
      detail: null,
    });

    calls.length = 0;
    await host.release();
    assert.deepEqual(await fs.readFile(conf), original);
    assert.equal(existsSync(host.sourcesFile), false);
    assert.deepEqual(calls.at(-1), ["systemctl", "restart", "chrony.service"]);
    await host.stop();
    assert.equal(standIn.running, true);
  });

  it("rolls back the main conf and drop-in when the restart fails", async () => {
    const original = await fs.readFile(DEBIAN_CONF);
    const conf = await writeHostFile(root, DEBIAN_CONF, original);
    const calls: string[][] = [];
    const run: RunCommand = async (cmd, args) => {
      calls.push([cmd, ...args]);
      const failRestart = args[0] === "restart" && calls.length < 3;
      return {
        stdout: "LoadState=loaded\nActiveState=active\nSubState=running\n",
        stderr: failRestart ? "Job for chrony.service failed.\n" : "",
        code: failRestart ? 1 : 0,
        spawnError: null,
      };
    };
    const host = new ChronyHost({
      mode: "systemd",
      paths: new HostPaths({ root }),
      stateDir: path.join(root, "agent"),
      run,
    });
    await host.start();
    const outcome = await host.applySources({
      servers: ["127.0.0.44"],
      poll_log2: 6,
    });
    assert.deepEqual(outcome, {
      rolled_back: true,
      error:
        "chronyd did not take the new sources: Host operation systemctl " +
        "restart chrony.service failed: Job for chrony.service failed.",
    });
    assert.deepEqual(await fs.readFile(conf), original);
    assert.equal(existsSync(host.sourcesFile), false);
    assert.deepEqual(
      calls.map((c) => c.slice(0, 2).join(" ")),
      ["systemctl show", "systemctl restart", "systemctl restart"],
    );
  });
});
