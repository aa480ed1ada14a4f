/**
 * Time leaders (issue 4 item 5) with real chronyd: two leaders serving NTP
 * on 127.0.0.81 and 127.0.0.82, each polling the other, one follower
 * polling both, all three supervised by their own ChronyHost, and a real
 * upstream chronyd on 127.0.0.83 at stratum 3. First the cluster follows
 * the upstream; then the upstream is deleted from every node and the
 * cluster keeps one time through chrony's orphan mode.
 */
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { ServeSpec, SourcesSpec } from "../../../src/agent/types.ts";
import { ChronyHost } from "../../../src/host/chrony/index.ts";
import { HostPaths } from "../../../src/host/paths.ts";
import { probeOnce } from "../../../src/ntp/sntp.ts";
import {
  isAlive,
  removeDir,
  startUpstream,
  tempDir,
  type Upstream,
  waitFor,
} from "./helpers.ts";

const L1 = "127.0.0.81";
const L2 = "127.0.0.82";
const UP = "127.0.0.83";
const L1_REF = "7F000051";
const UP_REF = "7F000053";
const LOCAL_REF = "7F7F0101";
const HEADER = "# Managed by timeplane; changes here are overwritten";
const ORPHAN_TIMEOUT_MS = 90_000;

function serve(addr: string): ServeSpec {
  return { bind_address: addr, allow: ["127.0.0.0/8"], local_stratum: 10 };
}

describe("time leaders, supervised, with an upstream on 127.0.0.83", () => {
  let dir = "";
  let upstream: Upstream | null = null;
  const hosts: ChronyHost[] = [];
  const pids = new Set<number>();
  let leader1: ChronyHost;
  let leader2: ChronyHost;
  let follower: ChronyHost;

  function specs(servers: string[]): [ChronyHost, SourcesSpec][] {
    const poll_log2 = 4;
    return [
      [
        follower,
        { servers, poll_log2, cluster_servers: [L1, L2], serve: null },
      ],
      [
        leader1,
        { servers, poll_log2, cluster_servers: [L2], serve: serve(L1) },
      ],
      [
        leader2,
        { servers, poll_log2, cluster_servers: [L1], serve: serve(L2) },
      ],
    ];
  }

  function pidOf(host: ChronyHost): number {
    const pid = host.supervisor?.pid ?? null;
    assert.ok(pid !== null, "chronyd is not running");
    pids.add(pid);
    return pid;
  }

  before(async () => {
    dir = await tempDir("leaders");
    upstream = await startUpstream({
      addr: UP,
      dir: path.join(dir, "up"),
      stratum: 3,
    });
    for (const name of ["f", "l81", "l82"]) {
      const host = new ChronyHost({
        mode: "supervised",
        paths: new HostPaths({ root: path.join(dir, "root") }),
        stateDir: path.join(dir, name),
      });
      hosts.push(host);
      await host.start();
    }
    [follower, leader1, leader2] = hosts as [
      ChronyHost,
      ChronyHost,
      ChronyHost,
    ];
  });

  after(async () => {
    for (const host of hosts) await host.stop();
    await upstream?.stop();
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid}`);
    await removeDir(dir);
  });

  it("applies upstream, leaders and serving to the three nodes", async () => {
    for (const [host, spec] of specs([UP])) {
      assert.deepEqual(await host.applySources(spec), {
        rolled_back: false,
        error: null,
      });
      pidOf(host);
    }
    const line = (addr: string) => `server ${addr} iburst minpoll 4 maxpoll 4`;
    assert.equal(
      await fs.readFile(follower.sourcesFile, "utf8"),
      `${HEADER}\n${line(UP)}\n${line(L1)}\n${line(L2)}\n`,
    );
    assert.equal(
      await fs.readFile(leader1.sourcesFile, "utf8"),
      `${HEADER}\n${line(UP)}\n${line(L2)} minstratum 10\n`,
    );
    const conf = await fs.readFile(path.join(dir, "l81/chrony.conf"), "utf8");
    assert.ok(
      conf.includes(
        "\nbindaddress 127.0.0.81\n" +
          "bindacqaddress 127.0.0.81\n" +
          "allow 127.0.0.0/8\n" +
          "local stratum 10 orphan\n",
      ),
    );
    assert.equal(follower.supervisor?.serve, undefined);
  });

  it("the follower lists all three and selects the upstream", async () => {
    const sources = await waitFor(async () => {
      const list = await follower.chronyc.sources();
      assert.equal(list.find((s) => s.addr === UP)?.state, "selected");
      return list;
    }, 30_000);
    // chronyd lists the sources of a sourcedir in address order.
    assert.deepEqual(
      sources.map((s) => s.addr),
      [L1, L2, UP],
    );
    const status = await follower.syncStatus();
    assert.equal(status.synchronised, true);
    assert.equal(status.tracking?.ref_id, UP_REF);
    assert.equal(status.tracking?.stratum, 4);
  });

  it("both leaders follow the upstream and answer SNTP", async () => {
    for (const leader of [leader1, leader2]) {
      const tracking = await waitFor(async () => {
        const t = await leader.chronyc.tracking();
        assert.equal(t.ref_id, UP_REF);
        return t;
      }, 30_000);
      assert.equal(tracking.stratum, 4);
    }
    const reply = await probeOnce(L1, { timeoutMs: 2000 });
    assert.equal(reply.usable, true, reply.detail ?? reply.reason);
    assert.equal(reply.reason, "ok");
    assert.equal(reply.stratum, 4);
    assert.equal(reply.refid, UP);
  });

  it("without upstream all follow leaders that agree", async () => {
    const before = hosts.map(pidOf);
    for (const [host, spec] of specs([])) {
      assert.deepEqual(await host.applySources(spec), {
        rolled_back: false,
        error: null,
      });
    }
    // serve did not change: no chronyd was restarted.
    assert.deepEqual(hosts.map(pidOf), before);

    // What chrony 4.3 does here, observed and explained by chrony.conf(5),
    // `local ... orphan`: each leader polls the other with minstratum 10,
    // so a leader is always seen at the local stratum and the orphan rule
    // holds: a leader follows another only when it has nothing else and
    // that one's reference id is smaller. So 127.0.0.82 follows
    // 127.0.0.81 (7F000051 < 7F000052) and 127.0.0.81 follows nobody: it
    // holds over on the upstream it last used (its tracking still names
    // 7F000053) until its root distance passes `local`'s 1 s threshold,
    // then serves its local reference (7F7F0101). Each leader polls from
    // its bind address (bindacqaddress), which is what chrony derives
    // the local reference id of the comparison from.
    const seen = await waitFor(
      async () => {
        const f = await follower.syncStatus();
        assert.equal(f.synchronised, true, f.detail ?? f.phase);
        assert.ok([L1, L2].includes(f.tracking?.ref_name ?? ""));
        const t2 = await leader2.chronyc.tracking();
        assert.equal(t2.ref_id, L1_REF);
        const t1 = await leader1.chronyc.tracking();
        assert.ok([UP_REF, LOCAL_REF].includes(t1.ref_id), t1.ref_id);
        return { f, t1, t2 };
      },
      ORPHAN_TIMEOUT_MS,
      1000,
    );
    assert.equal(seen.f.phase, "synchronised");
    assert.deepEqual(
      seen.f.sources.map((s) => s.addr),
      [L1, L2],
    );
    assert.equal(seen.t2.ref_name, L1);
    // 127.0.0.81 counts as stratum 10 (minstratum), so its follower is 11.
    assert.equal(seen.t2.stratum, 11);
    const l1Sources = await leader1.chronyc.sources();
    assert.deepEqual(
      l1Sources.map((s) => s.addr),
      [L2],
    );
    assert.notEqual(l1Sources[0]?.state, "selected");

    const reply = await probeOnce(L2, { timeoutMs: 2000 });
    assert.equal(reply.usable, true, reply.detail ?? reply.reason);
    assert.equal(reply.refid, L1);
  });
});
