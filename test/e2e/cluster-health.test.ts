/**
 * Scenario: what every clock is really doing. Three agents on
 * 127.0.0.15-17 follow a real upstream chronyd; the chronyd of 127.0.0.16
 * runs 3 s ahead (libfaketime preloaded into it). The cluster status and
 * /metrics say that node is about 3 s off and the cluster is critical. A
 * node with a competing time daemon is flagged (F18). Sources that answer
 * with a Kiss-o'-Death, leap indicator 3 or stratum 16 are refused by
 * server/add and reported with their reason (F14, F15).
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { get, post } from "../helpers/api.ts";
import {
  addNode,
  controllerArgs,
  createCluster,
  startNodeAgent,
} from "../helpers/cluster.ts";
import { type Responder, startResponder } from "../helpers/ntp-responder.ts";
import {
  type AgentProc,
  removeDir,
  type Server,
  startServer,
  startUpstream,
  tempDir,
  type Upstream,
  waitFor,
} from "../helpers/processes.ts";

const UPSTREAM = "127.0.0.23";
const KOD = "127.0.0.24";
const LEAP3 = "127.0.0.25";
const STRATUM16 = "127.0.0.26";
const NODES = ["127.0.0.15", "127.0.0.16", "127.0.0.17"];
const SKEWED = "127.0.0.16";
const FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

type Json = Record<string, unknown>;

describe("cluster health", () => {
  let dir: string;
  let upstream: Upstream;
  let server: Server;
  let uuid: string;
  const agents: AgentProc[] = [];
  const responders: Responder[] = [];
  const nodeDir = (addr: string) => path.join(dir, addr);

  /** A chronyd that execs itself with libfaketime: same pid, 3 s ahead. */
  function skewedChronyd(): string {
    const file = path.join(dir, "chronyd-plus-3s");
    writeFileSync(
      file,
      `#!/bin/sh\nLD_PRELOAD=${FAKETIME_LIB} FAKETIME=+3s exec /usr/sbin/chronyd "$@"\n`,
    );
    chmodSync(file, 0o755);
    return file;
  }

  before(async () => {
    dir = tempDir();
    upstream = await startUpstream(UPSTREAM);
    responders.push(
      await startResponder({ addr: KOD, stratum: 0, refid: "RATE" }),
      await startResponder({ addr: LEAP3, leap: 3, stratum: 2, refid: "GPS" }),
      await startResponder({ addr: STRATUM16, stratum: 16, refid: "INIT" }),
    );
    server = await startServer(controllerArgs(dir));
    const { uuid: created, token } = await createCluster(server.url, "db");
    uuid = created;
    for (const addr of NODES) {
      const env =
        addr === SKEWED ? { TIMEPLANE_CHRONYD_BIN: skewedChronyd() } : {};
      agents.push(await startNodeAgent(dir, addr, token, { env }));
      await addNode(server.url, uuid, addr);
    }
    mkdirSync(path.join(nodeDir(NODES[2] as string), "root/proc/4242"), {
      recursive: true,
    });
    writeFileSync(
      path.join(nodeDir(NODES[2] as string), "root/proc/4242/comm"),
      "ntpd\n",
    );

    const add = await post(server.url, "/v1/ntp/server/add", {
      cluster_uuid: uuid,
      addrs: [UPSTREAM],
      sync_period: 16,
    });
    assert.equal(add.body.scode, 0, JSON.stringify(add.body));
  });

  after(async () => {
    for (const agent of agents) {
      await agent.stop();
    }
    await server?.stop();
    for (const r of responders) await r.close();
    await upstream?.stop();
    removeDir(dir);
  });

  const status = async () =>
    (await get<Json>(server.url, `/v1/ntp/cluster/status?cluster_uuid=${uuid}`))
      .body;

  it("reports the skewed node about 3 s off and the cluster critical", async () => {
    let body = await status();
    await waitFor(
      async () => {
        body = await status();
        const nodes = body.data.nodes as Json[];
        return nodes.every((n) => n.synchronised === true);
      },
      40_000,
      () => `nodes did not synchronise: ${JSON.stringify(body.data)}`,
      1_000,
    );
    const nodes = body.data.nodes as Json[];
    const skewed = nodes.find((n) => n.addr === SKEWED) as Json;
    const offset = skewed.offset_ms as number;
    assert.ok(Math.abs(offset - 3000) < 100, `offset_ms ${offset}`);
    for (const n of nodes.filter((x) => x.addr !== SKEWED)) {
      assert.ok(
        Math.abs(n.offset_ms as number) < 50,
        `${n.addr} ${n.offset_ms}`,
      );
      assert.equal(n.reference, UPSTREAM);
      assert.equal(n.stratum, 4);
    }
    assert.equal(body.data.health, "critical");
    const skew = body.data.max_skew_ms as number;
    assert.ok(Math.abs(skew - 3000) < 100, `max_skew_ms ${skew}`);
    const reasons = body.data.reasons as string[];
    assert.match(reasons[0] ?? "", /^skew \d+ ms is over 1000 ms$/);
    assert.ok(reasons.some((r) => /node 127\.0\.0\.16 is \d+ ms off/.test(r)));
  });

  it("flags a competing time daemon (F18)", async () => {
    const body = await status();
    const node = (body.data.nodes as Json[]).find((n) => n.addr === NODES[2]);
    assert.deepEqual(node?.conflicts, ["ntpd (pid 4242)"]);
    assert.ok(
      (body.data.reasons as string[]).includes(
        "node 127.0.0.17 runs a competing time daemon: ntpd (pid 4242)",
      ),
    );
  });

  it("exports the same in /metrics", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const line = text
      .split("\n")
      .find((l) =>
        l.startsWith(
          `timeplane_node_offset_seconds{cluster="${uuid}",node="${SKEWED}"}`,
        ),
      );
    const value = Number(line?.split(" ").pop());
    assert.ok(Math.abs(value - 3) < 0.1, `metric line ${line} in ${text}`);
    assert.match(
      text,
      new RegExp(`timeplane_cluster_health\\{cluster="${uuid}"\\} 2`),
    );
    assert.match(
      text,
      new RegExp(
        `timeplane_source_reachable\\{cluster="${uuid}",source="${UPSTREAM}"\\} 1`,
      ),
    );
    assert.match(
      text,
      new RegExp(
        `timeplane_node_synchronised\\{cluster="${uuid}",node="${SKEWED}"\\} 1`,
      ),
    );
  });

  for (const [addr, reason, detail] of [
    [KOD, "kiss_of_death", /RATE/],
    [LEAP3, "unsynchronised", /leap indicator 3/],
    [STRATUM16, "unsynchronised", /stratum 16|INIT/],
  ] as const) {
    it(`server/add refuses ${addr}: ${reason}`, async () => {
      const r = await post(server.url, "/v1/ntp/server/add", {
        cluster_uuid: uuid,
        addrs: [addr],
      });
      assert.equal(r.http, 400, JSON.stringify(r.body));
      assert.equal(r.body.scode, 1201);
      const list = r.body.data.date_source_status as Json[];
      assert.equal(list[0]?.status, false);
      assert.equal(list[0]?.reason, reason);
      assert.match(String(list[0]?.detail), detail);
      const after = await get<Json>(
        server.url,
        `/v1/ntp/server/list?cluster_uuid=${uuid}`,
      );
      assert.deepEqual(after.body.data.addrs, [UPSTREAM]);
    });
  }

  it("backs off a source that sent a Kiss-o'-Death (F14)", async () => {
    const kod = responders[0] as Responder;
    const before = kod.requests();
    const r = await post(server.url, "/v1/ntp/server/add", {
      cluster_uuid: uuid,
      addrs: [KOD],
    });
    assert.equal(r.body.scode, 1201);
    const list = r.body.data.date_source_status as Json[];
    assert.equal(list[0]?.kiss_code, "RATE");
    assert.equal(kod.requests(), before, "no new query during the back-off");
  });
});
