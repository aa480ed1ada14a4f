/**
 * The client commands as an operator runs them: the real CLI process
 * against a real controller (supervised chronyd with -x on a temporary
 * host root), a real upstream chronyd 5 s ahead on 127.0.0.61 and nothing
 * on 127.0.0.62. Checks the exit codes, the table and JSON output, the
 * errors on stderr and the files written under the host root.
 */
import assert from "node:assert/strict";
import { mkdirSync, readlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  alive,
  readPid,
  removeDir,
  type Server,
  startServer,
  startUpstream,
  tempDir,
  type Upstream,
} from "../../helpers/processes.ts";
import { cliEnv, runCli, stopAll } from "./run-cli.ts";

const LIVE = "127.0.0.61";
const DEAD = "127.0.0.62";
const NO_AGENT = "127.0.0.63";

describe("timeplane client commands against a real controller", () => {
  let upstream: Upstream;
  let server: Server;
  let dir: string;
  let root: string;
  let data: string;
  let xdg: string;

  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli([...args], cliEnv(xdg, env));
  const at = (args: string[]) => cli([...args, "--server", server.url]);
  const json = async (args: string[]) => {
    const r = await at([...args, "--json"]);
    return { ...r, data: JSON.parse(r.stdout) };
  };
  const localtime = () => readlinkSync(path.join(root, "etc/localtime"));

  before(async () => {
    dir = tempDir("tp-cli-");
    root = path.join(dir, "root");
    data = path.join(dir, "data");
    xdg = path.join(dir, "xdg");
    mkdirSync(path.join(root, "etc"), { recursive: true });
    mkdirSync(xdg);
    upstream = await startUpstream(LIVE, { offsetS: 5 });
    server = await startServer([
      "--listen",
      "127.0.0.1:0",
      "--data",
      data,
      "--host-root",
      root,
      "--chrony-mode",
      "supervised",
    ]);
  });

  after(async () => {
    await stopAll();
    const chronydPid = readPid(path.join(data, "agent/chrony/chronyd.pid"));
    await server?.stop();
    if (chronydPid && alive(chronydPid)) process.kill(chronydPid, "SIGKILL");
    await upstream?.stop();
    removeDir(dir);
  });

  it("servers add prints the per-node result and exits 0", async () => {
    const r = await at(["servers", "add", LIVE, "--period", "64"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines[0], `Sources          ${LIVE}`);
    assert.match(lines[1] ?? "", /^Desired version {2}\d+$/);
    assert.equal(
      lines[2],
      "NODE       RESULT  APPLIED VERSION  LOADED  STATUS  ROLLED BACK  AT (UTC)              ERROR",
    );
    assert.match(
      lines[3] ?? "",
      /^127\.0\.0\.1 {2}ok {6}\d+ +loaded {2}active {2}no {11}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}-$/,
    );
    assert.equal(lines.length, 4);
  });

  it("servers list prints a table with units in the header", async () => {
    const r = await at(["servers", "list"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines[0], "Sync period  64 s (poll 6)");
    assert.equal(
      lines[1],
      "SOURCE      USABLE  REASON  STRATUM  OFFSET (ms)  DELAY (ms)  DETAIL",
    );
    const cells = (lines[2] ?? "").split(/ {2,}/);
    assert.deepEqual(cells.slice(0, 4), [LIVE, "yes", "ok", "3"]);
    const offset = Number(cells[4]);
    assert.ok(Math.abs(offset - 5000) < 100, `offset ${cells[4]} ms`);
  });

  it("servers add refuses a source that does not answer, unless --force", async () => {
    const refused = await at(["servers", "add", DEAD]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, "");
    const err = refused.stderr.split("\n");
    assert.match(err[0] ?? "", /^timeplane: Source 127\.0\.0\.62 refused: /);
    assert.equal(err[1], "  scode 1201 (SOURCE_UNUSABLE)");
    assert.equal(
      err[2],
      "  next: check the source, or add it anyway with --force",
    );

    const forced = await json(["servers", "add", DEAD, "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(forced.data.servers, [LIVE, DEAD]);
    assert.equal(forced.data.status.length, 1);
    assert.equal(forced.data.status[0].addr, "127.0.0.1");
    assert.equal(forced.data.status[0].error, null);
    assert.equal(forced.data.status[0].applied_version, forced.data.version);
  });

  it("servers list --json prints the data and nothing else", async () => {
    const r = await json(["servers", "list"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.deepEqual(r.data.addrs, [LIVE, DEAD]);
    assert.equal(r.data.sync_period, 64);
    const [live, dead] = r.data.date_source_status;
    assert.equal(live.ip, LIVE);
    assert.equal(live.status, true);
    assert.equal(live.reason, "ok");
    assert.equal(live.stratum, 3);
    assert.equal(dead.ip, DEAD);
    assert.equal(dead.status, false);
    assert.match(dead.reason, /^(unreachable|timeout)$/);
  });

  it("servers delete removes one source; no address needs --all", async () => {
    const r = await json(["servers", "delete", DEAD]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.data.servers, [LIVE]);

    const bare = await at(["servers", "delete"]);
    assert.equal(bare.code, 2);
    assert.equal(
      bare.stderr.split("\n")[0],
      "timeplane: Name the sources to delete, or pass --all to delete every source",
    );

    const missing = await at(["servers", "delete", DEAD]);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /^timeplane: Source 127\.0\.0\.62 is not configured/,
    );
    assert.match(missing.stderr, /\n {2}scode 1202 \(SOURCE_NOT_FOUND\)\n/);
  });

  it("a bad address or period exits 1 and names the field", async () => {
    const addr = await at(["servers", "add", "not an address"]);
    assert.equal(addr.code, 1);
    assert.match(addr.stderr, /^timeplane: Invalid addrs "not an address": /);
    assert.match(addr.stderr, /\n {2}scode 1001 \(INVALID_FIELD\)\n/);
    assert.match(addr.stderr, /see `timeplane servers add --help`/);

    const period = await at(["servers", "add", LIVE, "--period", "60"]);
    assert.equal(period.code, 1);
    assert.match(period.stderr, /^timeplane: Invalid sync_period 60: /);
  });

  it("sync exits 4: the -x chronyd cannot step, so every node fails", async () => {
    const r = await at(["sync"]);
    assert.equal(r.code, 4, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.match(
      lines[0] ?? "",
      /^NODE {7}RESULT {2}REFERENCE +OFFSET BEFORE \(ms\) {2}OFFSET AFTER \(ms\) {2}ERROR$/,
    );
    assert.match(lines[1] ?? "", /^127\.0\.0\.1 {2}FAILED {2}/);
    assert.match(r.stderr, /^timeplane: All 1 nodes failed: 127\.0\.0\.1 /);
    assert.match(r.stderr, /\n {2}scode 2002 \(ALL_NODES_FAILED\)\n/);

    const j = await json(["sync"]);
    assert.equal(j.code, 4);
    assert.equal(j.data.scode, 2002, "the whole envelope on error");
    assert.equal(j.data.data.nodes[0].ok, false);
  });

  it("zone set takes the three spellings and writes the symlink", async () => {
    const spellings: [string[], string][] = [
      [["Asia/Shanghai"], "Asia/Shanghai"],
      [["Europe", "Paris"], "Europe/Paris"],
      [["America/Argentina/Buenos_Aires"], "America/Argentina/Buenos_Aires"],
    ];
    for (const [words, name] of spellings) {
      const r = await at(["zone", "set", ...words]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.split("\n")[0], `Time zone        ${name}`);
      assert.equal(localtime(), `/usr/share/zoneinfo/${name}`);
    }

    const bad = await at(["zone", "set", "UTC"]);
    assert.equal(bad.code, 2);
    assert.equal(
      localtime(),
      "/usr/share/zoneinfo/America/Argentina/Buenos_Aires",
    );
  });

  it("zone current reads what zone set wrote", async () => {
    const r = await at(["zone", "current"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split("\n").slice(0, 3), [
      "Time zone  America/Argentina/Buenos_Aires",
      "Zone       America",
      "Country    Argentina/Buenos_Aires",
    ]);
  });

  it("zones lists zones, then the countries of one", async () => {
    const zones = (await at(["zones"])).stdout.trimEnd().split("\n");
    assert.ok(zones.includes("America") && zones.includes("Europe"));
    assert.ok(!zones.includes("UTC") && !zones.includes("posix"));

    const r = await json(["zones", "America"]);
    assert.equal(r.code, 0);
    assert.ok(r.data.list.includes("Argentina/Buenos_Aires"));
    assert.equal(r.data.total_count, r.data.list.length);

    const unknown = await at(["zones", "Atlantis"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /\n {2}scode 1101 \(ZONE_NOT_FOUND\)\n/);
  });

  it("time prints the node's clock in RFC 3339, in its zone", async () => {
    const r = await at(["time"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.match(
      lines[0] ?? "",
      /^Time {7}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-03:00$/,
    );
    assert.equal(lines[1], "Time zone  America/Argentina/Buenos_Aires");
    assert.match(
      lines[2] ?? "",
      /^UTC {8}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    );
  });

  it("nodes and cluster list show this one-node cluster", async () => {
    const nodes = await json(["nodes"]);
    assert.equal(nodes.code, 0);
    assert.equal(nodes.data.total_count, 1);
    assert.equal(nodes.data.list[0].addr, "127.0.0.1");
    assert.equal(nodes.data.list[0].local, true);
    assert.equal(nodes.data.list[0].in_sync, true);

    const clusters = await json(["cluster", "list"]);
    assert.equal(clusters.code, 0);
    assert.equal(clusters.data.total_count, 1);
    assert.equal(clusters.data.list[0].uuid, server.clusterUuid);
  });

  it("node add of an address without an agent exits 4; delete exits 1", async () => {
    const add = await at(["node", "add", NO_AGENT, "--port", "9"]);
    assert.equal(add.code, 4);
    assert.match(
      add.stderr,
      /^timeplane: Node 127\.0\.0\.63:9 did not answer: /,
    );
    assert.match(add.stderr, /\n {2}scode 1305 \(NODE_UNREACHABLE\)\n/);

    const del = await at(["node", "delete", NO_AGENT, "--port", "9"]);
    assert.equal(del.code, 1);
    assert.match(del.stderr, /\n {2}scode 1303 \(NODE_NOT_FOUND\)\n/);
  });

  it("status prints the health and a row per node", async () => {
    const r = await at(["status"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Health +(ok|warn|critical)\n/);
    assert.match(
      r.stdout,
      /\nNODE +REACHABLE +PHASE +REFERENCE +STRATUM +OFFSET \(ms\) +ROOT DISTANCE \(ms\)/,
    );
    assert.match(r.stdout, /\n127\.0\.0\.1 +yes +/);
  });

  it("cluster create and delete; two clusters need --cluster", async () => {
    const created = await json(["cluster", "create", "second"]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.data.name, "second");
    const uuid = created.data.uuid as string;
    try {
      const ambiguous = await at(["servers", "list"]);
      assert.equal(ambiguous.code, 1);
      assert.match(ambiguous.stderr, /\n {2}scode 1302 \(CLUSTER_REQUIRED\)\n/);
      assert.match(ambiguous.stderr, /next: pass --cluster UUID/);

      const chosen = await json([
        "servers",
        "list",
        "--cluster",
        server.clusterUuid,
      ]);
      assert.equal(chosen.code, 0);
      assert.deepEqual(chosen.data.addrs, [LIVE]);
    } finally {
      const del = await at(["cluster", "delete", uuid]);
      assert.equal(del.code, 0, del.stderr);
      assert.equal(del.stdout, `Deleted cluster ${uuid}\n`);
    }
  });

  it("a controller that does not answer exits 5 with a clear message", async () => {
    const r = await cli(["servers", "list", "--server", "http://127.0.0.1:1"]);
    assert.equal(r.code, 5);
    assert.equal(r.stdout, "");
    assert.deepEqual(r.stderr.split("\n"), [
      "timeplane: Cannot reach the controller at http://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1",
      "  next: start it with `timeplane serve`, or point --server (env TIMEPLANE_URL) at it",
      "",
    ]);
    const j = await cli(["time", "--json", "--server", "http://127.0.0.1:1"]);
    assert.equal(j.code, 5);
    assert.equal(j.stdout, "");
  });

  it("takes the flag over the env, the env over the config file", async () => {
    const file = path.join(dir, "cli.json");
    const nowhere = "http://127.0.0.1:1";
    writeFileSync(file, JSON.stringify({ server: server.url }));

    const fromFile = await cli(["nodes", "--json", "--config", file]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal(JSON.parse(fromFile.stdout).total_count, 1);

    const env = { TIMEPLANE_URL: nowhere };
    const fromEnv = await cli(["nodes", "--config", file], env);
    assert.equal(fromEnv.code, 5);
    assert.match(fromEnv.stderr, /at http:\/\/127\.0\.0\.1:1: /);

    const fromFlag = await cli(
      ["nodes", "--config", file, "--server", server.url],
      env,
    );
    assert.equal(fromFlag.code, 0, fromFlag.stderr);

    writeFileSync(file, JSON.stringify({ server: nowhere }));
    const fileOverDefault = await cli(["nodes", "--config", file]);
    assert.equal(fileOverDefault.code, 5);
  });

  it("reads $XDG_CONFIG_HOME/timeplane/cli.json, cluster included", async () => {
    const other = "00000000-0000-4000-8000-000000000000";
    mkdirSync(path.join(xdg, "timeplane"), { recursive: true });
    const file = path.join(xdg, "timeplane", "cli.json");
    try {
      writeFileSync(
        file,
        JSON.stringify({ server: server.url, cluster: other }),
      );
      const r = await cli(["nodes"]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(`^timeplane: Unknown cluster_uuid ${other}\\n`),
      );
      assert.match(r.stderr, /\n {2}scode 1301 \(CLUSTER_NOT_FOUND\)\n/);
    } finally {
      removeDir(path.join(xdg, "timeplane"));
    }
  });

  it("usage errors exit 2 with a timeplane: prefix", async () => {
    const missing = await cli(["node", "add"]);
    assert.equal(missing.code, 2);
    assert.equal(
      missing.stderr,
      "timeplane: missing required argument 'addr'\n(run `timeplane node add --help` for usage)\n",
    );
    const port = await cli(["node", "add", NO_AGENT, "--port", "x"]);
    assert.equal(port.code, 2);
    const config = await cli([
      "nodes",
      "--config",
      path.join(dir, "none.json"),
    ]);
    assert.equal(config.code, 2);
    assert.match(config.stderr, /^timeplane: Cannot read config file /);
    const help = await cli(["servers", "add", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /\nExit codes:\n {2}0 {2}success\n/);
  });
});
