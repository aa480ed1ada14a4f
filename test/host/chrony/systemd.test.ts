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
      confDir: "/etc/chrony/conf.d",
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
    assert.equal(layout.confDir, "/etc/chrony/timeplane.d");
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

  it("adds sourcedir and confdir to a RHEL conf, restores it", async () => {
    const conf = await writeHostFile(root, "/etc/chrony.conf", RHEL_CONF);
    const paths = new HostPaths({ root });

    assert.equal(await prepareMainConf(paths, RHEL_LAYOUT), true);
    const edited = await fs.readFile(conf, "utf8");
    const expected = RHEL_CONF.replace(
      "pool 2.rhel",
      "# disabled by timeplane: pool 2.rhel",
    ).concat(
      "# added by timeplane\n" +
        "sourcedir /etc/chrony/timeplane.d\n" +
        "confdir /etc/chrony/timeplane.d\n",
    );
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

  it("editMainConf adds only the directives that are missing", () => {
    const text = "confdir /etc/a /c\nsourcedir /x\n";
    assert.equal(editMainConf(text, "/x", "/c"), text);
    assert.equal(
      editMainConf(text, "/y", "/d"),
      `${text}# added by timeplane\nsourcedir /y\nconfdir /d\n`,
    );
    assert.equal(
      editMainConf("sourcedir /x", "/x", "/d"),
      "sourcedir /x\n# added by timeplane\nconfdir /d",
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

describe("ChronyHost in systemd mode, serving as a time leader", () => {
  let root = "";
  let standIn: SupervisedChronyd | null = null;
  const SERVE = {
    bind_address: "127.0.0.88",
    allow: ["127.0.0.0/8", "::1"],
    local_stratum: 10,
  };
  const DROP_IN =
    "# Managed by timeplane; changes here are overwritten\n" +
    "allow 127.0.0.0/8\n" +
    "allow ::1\n" +
    "local stratum 10 orphan\n";

  beforeEach(async () => {
    root = await tempDir("sysd-serve");
  });
  afterEach(async () => {
    await standIn?.stop();
    standIn = null;
    await removeDir(root);
  });

  function fakeSystemctl(calls: string[][], failRestarts = 0): RunCommand {
    let failed = 0;
    return async (cmd, args) => {
      calls.push([cmd, ...args]);
      const fail = args[0] === "restart" && failed < failRestarts;
      if (fail) failed += 1;
      return {
        stdout: "LoadState=loaded\nActiveState=active\nSubState=running\n",
        stderr: fail ? `Job for ${args[1]} failed.\n` : "",
        code: fail ? 1 : 0,
        spawnError: null,
      };
    };
  }

  function restarts(calls: string[][]): number {
    return calls.filter((c) => c[1] === "restart").length;
  }

  it("writes a drop-in in Debian's confdir, restarts, removes it", async () => {
    const original = await fs.readFile(DEBIAN_CONF);
    const conf = await writeHostFile(root, DEBIAN_CONF, original);
    standIn = new SupervisedChronyd({
      stateDir: path.join(root, "run/chrony"),
    });
    await standIn.start();
    const calls: string[][] = [];
    const options = {
      mode: "systemd" as const,
      paths: new HostPaths({ root }),
      stateDir: path.join(root, "agent"),
      run: fakeSystemctl(calls),
      layout: { sourceDir: "/run/chrony/sources.d" },
    };
    const host = new ChronyHost(options);
    await host.start();
    const dropIn = path.join(root, "etc/chrony/conf.d/timeplane-serve.conf");
    assert.equal(host.serveDropInFile, dropIn);
    const spec = {
      servers: ["127.0.0.86"],
      poll_log2: 6,
      cluster_servers: ["127.0.0.87"],
      serve: SERVE,
    };
    const ok = { rolled_back: false, error: null };

    assert.deepEqual(await host.applySources(spec), ok);
    assert.equal(await fs.readFile(dropIn, "utf8"), DROP_IN);
    assert.equal(restarts(calls), 1);
    // Debian's own confdir is used: only the sourcedir is added.
    const edited = await fs.readFile(conf, "utf8");
    assert.equal(edited.match(/^confdir /gm)?.length, 1);
    assert.ok(
      edited.endsWith(
        "# added by timeplane\nsourcedir /run/chrony/sources.d\n",
      ),
    );
    assert.deepEqual(
      JSON.parse(
        await fs.readFile(path.join(root, "agent/serve.json"), "utf8"),
      ),
      { serve: SERVE },
    );

    // The same serve, from an agent restarted on the same state folder:
    // the sources are reloaded, chronyd is not restarted.
    calls.length = 0;
    const again = new ChronyHost(options);
    await again.start();
    assert.deepEqual(again.serving, SERVE);
    assert.deepEqual(await again.applySources(spec), ok);
    assert.equal(restarts(calls), 0);
    const addrs = (await again.chronyc.sources()).map((s) => s.addr).sort();
    assert.deepEqual(addrs, ["127.0.0.86", "127.0.0.87"]);

    calls.length = 0;
    assert.deepEqual(await again.applySources({ ...spec, serve: null }), ok);
    assert.equal(existsSync(dropIn), false);
    assert.deepEqual(calls.at(-2), ["systemctl", "restart", "chrony.service"]);
    assert.equal(again.serving, null);

    assert.deepEqual(await again.applySources(spec), ok);
    calls.length = 0;
    await again.release();
    assert.equal(existsSync(dropIn), false);
    assert.equal(existsSync(path.join(root, "agent/serve.json")), false);
    assert.deepEqual(await fs.readFile(conf), original);
    assert.deepEqual(calls.at(-1), ["systemctl", "restart", "chrony.service"]);
  });

  it("adds a confdir to a RHEL conf for the drop-in", async () => {
    const conf = await writeHostFile(root, "/etc/chrony.conf", RHEL_CONF);
    const calls: string[][] = [];
    const host = new ChronyHost({
      mode: "systemd",
      paths: new HostPaths({ root }),
      stateDir: path.join(root, "agent"),
      run: fakeSystemctl(calls),
    });
    await host.start();
    const outcome = await host.applySources({
      servers: [],
      poll_log2: 6,
      serve: SERVE,
    });
    assert.deepEqual(outcome, { rolled_back: false, error: null });
    const dropIn = path.join(
      root,
      "etc/chrony/timeplane.d/timeplane-serve.conf",
    );
    assert.equal(await fs.readFile(dropIn, "utf8"), DROP_IN);
    const edited = await fs.readFile(conf, "utf8");
    assert.ok(
      edited.endsWith(
        "\n# added by timeplane\n" +
          "sourcedir /etc/chrony/timeplane.d\n" +
          "confdir /etc/chrony/timeplane.d\n",
      ),
    );
    assert.deepEqual(
      calls.map((c) => c.slice(0, 2).join(" ")),
      ["systemctl show", "systemctl restart", "systemctl show"],
    );

    await host.release();
    assert.equal(await fs.readFile(conf, "utf8"), RHEL_CONF);
    assert.equal(existsSync(dropIn), false);
  });

  it("removes a drop-in left without a state file", async () => {
    await writeHostFile(root, "/etc/chrony.conf", RHEL_CONF);
    const dropIn = await writeHostFile(
      root,
      "/etc/chrony/timeplane.d/timeplane-serve.conf",
      DROP_IN,
    );
    const calls: string[][] = [];
    const host = new ChronyHost({
      mode: "systemd",
      paths: new HostPaths({ root }),
      stateDir: path.join(root, "agent"),
      run: fakeSystemctl(calls),
    });
    await host.start();
    const outcome = await host.applySources({
      servers: ["127.0.0.86"],
      poll_log2: 6,
      serve: null,
    });
    assert.deepEqual(outcome, { rolled_back: false, error: null });
    assert.equal(existsSync(dropIn), false);
    assert.equal(restarts(calls), 1);
  });

  it("rolls back the drop-in when the restart fails", async () => {
    const conf = await writeHostFile(root, "/etc/chrony.conf", RHEL_CONF);
    const calls: string[][] = [];
    const host = new ChronyHost({
      mode: "systemd",
      paths: new HostPaths({ root }),
      stateDir: path.join(root, "agent"),
      run: fakeSystemctl(calls, 1),
    });
    await host.start();
    const outcome = await host.applySources({
      servers: ["127.0.0.86"],
      poll_log2: 6,
      serve: SERVE,
    });
    assert.deepEqual(outcome, {
      rolled_back: true,
      error:
        "chronyd did not take the new sources: Host operation systemctl " +
        "restart chronyd.service failed: Job for chronyd.service failed.",
    });
    assert.equal(await fs.readFile(conf, "utf8"), RHEL_CONF);
    assert.equal(existsSync(host.serveDropInFile), false);
    assert.equal(existsSync(host.sourcesFile), false);
    assert.equal(existsSync(path.join(root, "agent/serve.json")), false);
    assert.equal(host.serving, null);
    assert.equal(restarts(calls), 2);
  });
});
