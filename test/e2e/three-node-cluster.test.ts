/**
 * Scenario: a cluster of three nodes. Three real agents on 127.0.0.11-13,
 * each supervising its own chronyd (-x) in its own temporary root, a real
 * upstream chronyd, and the controller. Writes reach every node; a node
 * that is down is reported failed and converges when it comes back, without
 * another call; the controller's restart loses nothing; a wrong token is
 * refused.
 */
import assert from "node:assert/strict";
import { readlinkSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { get, post } from "../helpers/api.ts";
import {
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

const UPSTREAM = "127.0.0.21";
const SECOND = "127.0.0.22";
const NODES = ["127.0.0.11", "127.0.0.12", "127.0.0.13"];
const STRANGER = "127.0.0.14";

describe("three-node cluster", () => {
  let dir: string;
  let upstream: Upstream;
  let server: Server;
  let uuid: string;
  let token: string;
  const agents = new Map<string, AgentProc>();

  const nodeDir = (addr: string) => path.join(dir, addr);
  const socket = (addr: string) => nodeSocket(dir, addr);
  const serverArgs = () => controllerArgs(dir, ["--reconcile-interval", "2"]);

  async function startNode(
    addr: string,
    withToken = token,
  ): Promise<AgentProc> {
    const agent = await startNodeAgent(dir, addr, withToken, {
      controller: { url: server.url, uuid },
    });
    agents.set(addr, agent);
    return agent;
  }

  async function stopNode(addr: string): Promise<void> {
    await agents.get(addr)?.stop();
    agents.delete(addr);
  }

  /** Upstream sources, then the other nodes: all three are time leaders. */
  const expected = (addr: string, upstream: string[]) =>
    [...upstream, ...NODES.filter((n) => n !== addr)].sort();
  const sourcesOf = async (addr: string) =>
    (await chronyc(socket(addr), "sources")).map((r) => r[2]).sort();

  before(async () => {
    dir = tempDir();
    upstream = await startUpstream(UPSTREAM);
    server = await startServer(serverArgs());
    ({ uuid, token } = await createCluster(server.url, "storage"));
    for (const addr of NODES) await startNode(addr);
  });

  after(async () => {
    for (const addr of [...agents.keys()]) await stopNode(addr);
    await server?.stop();
    await upstream?.stop();
    removeDir(dir);
  });

  it("node/add checks each agent and lists it", async () => {
    for (const addr of NODES) {
      const r = await post(server.url, "/v1/node/add", {
        cluster_uuid: uuid,
        addr,
      });
      assert.equal(r.http, 200, JSON.stringify(r.body));
      assert.equal(r.body.scode, 0);
    }
    const list = await get(server.url, `/v1/node/list?cluster_uuid=${uuid}`);
    assert.equal(list.body.data.total_count, 3);
    const nodes = list.body.data.list as Record<string, unknown>[];
    assert.deepEqual(
      nodes.map((n) => n.addr),
      NODES,
    );
    for (const n of nodes) {
      assert.equal(n.port, 9991);
      assert.equal(n.loaded, "loaded");
      assert.equal(n.status, "active");
    }
  });

  it("server/add reaches every node's chronyd", async () => {
    const r = await post(server.url, "/v1/ntp/server/add", {
      cluster_uuid: uuid,
      addrs: [UPSTREAM],
      sync_period: 16,
    });
    assert.equal(r.http, 200, JSON.stringify(r.body));
    const status = r.body.data.status as Record<string, unknown>[];
    assert.deepEqual(
      status.map((s) => s.addr),
      NODES,
    );
    for (const s of status) {
      assert.equal(s.status, "active");
      assert.equal(s.error, null);
    }
    for (const addr of NODES)
      assert.deepEqual(await sourcesOf(addr), expected(addr, [UPSTREAM]));
  });

  it("zone/country/save reaches every node's files", async () => {
    const r = await post(server.url, "/v1/ntp/zone/country/save", {
      cluster_uuid: uuid,
      zone: "Asia",
      country: "Tokyo",
    });
    assert.equal(r.body.scode, 0, JSON.stringify(r.body));
    for (const addr of NODES) {
      const link = readlinkSync(path.join(nodeDir(addr), "root/etc/localtime"));
      assert.equal(link, "/usr/share/zoneinfo/Asia/Tokyo");
    }
  });

  it("force sync answers for every node", async () => {
    const r = await post(server.url, "/v1/ntp/force/time/sync", {
      cluster_uuid: uuid,
    });
    assert.equal(r.http, 503, JSON.stringify(r.body));
    const nodes = r.body.data.nodes as Record<string, unknown>[];
    assert.deepEqual(
      nodes.map((n) => n.addr),
      NODES,
    );
    for (const n of nodes) {
      assert.equal(n.ok, false);
      assert.match(String(n.error), /500 Failure|no usable source/);
    }
  });

  it("a node that is down is reported failed; the others apply", async () => {
    const down = NODES[1] as string;
    await stopNode(down);
    const r = await post(server.url, "/v1/ntp/server/add", {
      cluster_uuid: uuid,
      addrs: [SECOND],
      force: true,
    });
    assert.equal(r.http, 207, JSON.stringify(r.body));
    assert.equal(r.body.scode, 2001);
    assert.match(r.body.message, /1 of 3 nodes failed: 127\.0\.0\.12/);
    const status = r.body.data.status as Record<string, unknown>[];
    const byAddr = new Map(status.map((s) => [s.addr, s]));
    assert.equal(byAddr.get(down)?.status, "unreachable");
    assert.match(String(byAddr.get(down)?.error), /unreachable/);
    for (const addr of [NODES[0], NODES[2]] as string[]) {
      assert.equal(byAddr.get(addr)?.error, null);
      assert.deepEqual(
        await sourcesOf(addr),
        expected(addr, [UPSTREAM, SECOND]),
      );
    }
    const list = await get(server.url, `/v1/node/list?cluster_uuid=${uuid}`);
    const node = (list.body.data.list as Record<string, unknown>[])[1];
    assert.equal(node?.in_sync, false);
    assert.match(String(node?.last_error), /unreachable/);
  });

  it("the node converges when it comes back, without another call", async () => {
    const back = NODES[1] as string;
    await startNode(back);
    await waitFor(
      async () => {
        const list = await get(
          server.url,
          `/v1/node/list?cluster_uuid=${uuid}`,
        );
        const nodes = list.body.data.list as Record<string, unknown>[];
        return nodes.every((n) => n.in_sync === true);
      },
      20_000,
      () => "node 127.0.0.12 did not converge",
    );
    assert.deepEqual(await sourcesOf(back), expected(back, [UPSTREAM, SECOND]));
  });

  it("a restart of the controller loses nothing", async () => {
    const before = await get(server.url, `/v1/node/list?cluster_uuid=${uuid}`);
    await server.stop();
    server = await startServer(serverArgs());

    const after = await get(server.url, `/v1/node/list?cluster_uuid=${uuid}`);
    assert.deepEqual(after.body.data, before.body.data);
    const list = await get(
      server.url,
      `/v1/ntp/server/list?cluster_uuid=${uuid}`,
    );
    assert.deepEqual(list.body.data.addrs, [UPSTREAM, SECOND]);
    assert.equal(list.body.data.sync_period, 16);
  });

  it("a wrong token is refused, by the agent and at node/add", async () => {
    const agent = agents.get(NODES[0] as string) as AgentProc;
    const res = await fetch(`${agent.url}/agent/v1/info`, {
      headers: { authorization: "Bearer not-the-token" },
    });
    assert.equal(res.status, 401);
    const none = await fetch(`${agent.url}/agent/v1/info`);
    assert.equal(none.status, 401);

    await startNode(STRANGER, "another-clusters-token");
    const r = await post(server.url, "/v1/node/add", {
      cluster_uuid: uuid,
      addr: STRANGER,
    });
    assert.equal(r.http, 502);
    assert.equal(r.body.scode, 1306);
    const list = await get(server.url, `/v1/node/list?cluster_uuid=${uuid}`);
    assert.equal(list.body.data.total_count, 3);
  });
});
