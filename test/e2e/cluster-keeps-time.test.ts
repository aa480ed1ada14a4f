/**
 * Scenario: the cluster serves itself. Four agents on 127.0.4.11-14, each
 * supervising its own chronyd (-x); the first three are time leaders and
 * serve NTP to the cluster, the fourth follows them and the upstream.
 * After every upstream source is deleted, the follower's chronyd selects a
 * leader and the cluster keeps one time.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { probeOnce } from "../../src/ntp/sntp.ts";
import { post } from "../helpers/api.ts";
import {
  addNode,
  controllerArgs,
  createCluster,
  nodeSocket,
  startNodeAgent,
} from "../helpers/cluster.ts";
import {
  type AgentProc,
  chronyc,
  removeDir,
  type Server,
  startServer,
  startUpstream,
  tempDir,
  type Upstream,
  waitFor,
} from "../helpers/processes.ts";

const UPSTREAM = "127.0.4.21";
const LEADERS = ["127.0.4.11", "127.0.4.12", "127.0.4.13"];
const FOLLOWER = "127.0.4.14";
const NODES = [...LEADERS, FOLLOWER];

describe("a cluster that serves itself", () => {
  let dir: string;
  let upstream: Upstream;
  let server: Server;
  let uuid: string;
  const agents: AgentProc[] = [];
  const socket = (addr: string) => nodeSocket(dir, addr);

  before(async () => {
    dir = tempDir();
    upstream = await startUpstream(UPSTREAM);
    server = await startServer(controllerArgs(dir));
    const { uuid: created, token } = await createCluster(server.url, "hci");
    uuid = created;
    for (const addr of NODES) {
      agents.push(await startNodeAgent(dir, addr, token));
      await addNode(server.url, uuid, addr);
    }
  });

  after(async () => {
    for (const agent of agents) {
      await agent.stop();
    }
    await server?.stop();
    await upstream?.stop();
    removeDir(dir);
  });

  it("leaders serve NTP and everyone lists them beside the upstream", async () => {
    const r = await post(server.url, "/v1/ntp/server/add", {
      cluster_uuid: uuid,
      addrs: [UPSTREAM],
      sync_period: 16,
    });
    assert.equal(r.body.scode, 0, JSON.stringify(r.body));

    const follower = (await chronyc(socket(FOLLOWER), "sources")).map(
      (s) => s[2],
    );
    assert.deepEqual(follower.sort(), [...LEADERS, UPSTREAM].sort());
    const leader = (await chronyc(socket(LEADERS[0] as string), "sources")).map(
      (s) => s[2],
    );
    assert.deepEqual(leader.sort(), [LEADERS[1], LEADERS[2], UPSTREAM].sort());

    await waitFor(
      async () => (await probeOnce(LEADERS[0] as string)).stratum === 4,
      30_000,
      async () =>
        `leader 127.0.4.11 does not serve NTP: ${JSON.stringify(await probeOnce(LEADERS[0] as string))}`,
      500,
    );
    const probe = await probeOnce(LEADERS[0] as string);
    assert.equal(probe.usable, true);
    assert.equal(probe.refid, UPSTREAM);
  });

  it("with no upstream source left, the follower selects a leader", async () => {
    const r = await post(server.url, "/v1/ntp/server/delete", {
      cluster_uuid: uuid,
    });
    assert.equal(r.body.scode, 0, JSON.stringify(r.body));
    assert.equal(r.body.data.servers, null);

    let reference = "";
    await waitFor(
      async () => {
        const tracking = (await chronyc(socket(FOLLOWER), "tracking"))[0] ?? [];
        reference = tracking[1] ?? "";
        return (
          LEADERS.includes(reference) && tracking[13] !== "Not synchronised"
        );
      },
      90_000,
      () => `follower tracks ${JSON.stringify(reference)}, not a leader`,
      1_000,
    );
    const sources = await chronyc(socket(FOLLOWER), "sources");
    assert.deepEqual(sources.map((s) => s[2]).sort(), [...LEADERS].sort());
    assert.ok(
      sources.some((s) => s[1] === "*" && LEADERS.includes(s[2] ?? "")),
    );
  });
});
