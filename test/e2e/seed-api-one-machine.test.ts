/**
 * Scenario: the seed API end to end on one machine. A real timeplane
 * process manages a temporary host root; its supervised chronyd (-x) follows
 * a real upstream chronyd that runs 5 s ahead under faketime, and a second
 * source where nothing answers. Every seed request is replayed with loopback
 * addresses, then the server is restarted and the state must survive.
 */
import assert from "node:assert/strict";
import { mkdirSync, readlinkSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ENVELOPE_KEYS, get, post } from "../helpers/api.ts";
import {
  chronyc,
  removeDir,
  type Server,
  startServer,
  startUpstream,
  tempDir,
  type Upstream,
  waitFor,
} from "../helpers/processes.ts";

const LIVE = "127.0.0.51";
const DEAD = "127.0.0.52";

describe("seed API on one machine", () => {
  let upstream: Upstream;
  let server: Server;
  let dir: string;
  let root: string;
  let data: string;
  let uuid: string;

  const args = () => [
    "--listen",
    "127.0.0.1:0",
    "--data",
    data,
    "--host-root",
    root,
    "--chrony-mode",
    "supervised",
  ];
  const socket = () => path.join(data, "agent/chrony/chronyd.sock");

  before(async () => {
    dir = tempDir();
    root = path.join(dir, "root");
    data = path.join(dir, "data");
    mkdirSync(path.join(root, "etc"), { recursive: true });
    upstream = await startUpstream(LIVE, { offsetS: 5 });
    server = await startServer(args());
    uuid = server.clusterUuid;
  });

  after(async () => {
    await server?.stop();
    await upstream?.stop();
    removeDir(dir);
  });

  it("server/add refuses a source that does not answer", async () => {
    const r = await post(server.url, "/v1/ntp/server/add", {
      addrs: [LIVE, DEAD],
      sync_period: 64,
      cluster_uuid: uuid,
    });
    assert.equal(r.http, 400, JSON.stringify(r.body));
    assert.equal(r.body.scode, 1201);
    assert.match(
      r.body.message,
      /^Source 127\.0\.0\.52 refused: 127\.0\.0\.52: (unreachable|timeout)/,
    );
    assert.match(r.body.message, /force: true/);
    assert.deepEqual(await chronyc(socket(), "sources"), []);
  });

  it("server/add applies the sources to the node's chronyd", async () => {
    const seed = await post(server.url, "/v1/ntp/server/add", {
      addrs: [LIVE],
      sync_period: 64,
      cluster_uuid: uuid,
    });
    assert.equal(seed.http, 200, JSON.stringify(seed.body));
    assert.deepEqual(seed.body.data.servers, [LIVE]);

    const r = await post(server.url, "/v1/ntp/server/add", {
      addrs: [DEAD],
      cluster_uuid: uuid,
      force: true,
    });
    assert.equal(r.http, 200, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body).sort(), ENVELOPE_KEYS);
    assert.equal(r.body.scode, 0);
    assert.equal(r.body.message, "success");
    assert.equal(r.body.message_cn, "成功");
    assert.equal(r.body.stack, null);
    assert.deepEqual(r.body.data.servers, [LIVE, DEAD]);

    const status = r.body.data.status as Record<string, unknown>[];
    assert.equal(status.length, 1);
    assert.equal(status[0]?.addr, "127.0.0.1");
    assert.equal(status[0]?.loaded, "loaded");
    assert.equal(status[0]?.status, "active");
    assert.equal(status[0]?.error, null);
    const ts = status[0]?.time_stamp as number;
    assert.ok(Math.abs(ts - Date.now() / 1000) < 60, `time_stamp ${ts}`);

    const rows = await chronyc(socket(), "sources");
    assert.deepEqual(rows.map((row) => row[2]).sort(), [LIVE, DEAD]);
    for (const row of rows) assert.equal(row[4], "6", "poll is log2 of 64 s");
  });

  it("server/list says which source is usable and how far off", async () => {
    const r = await get(server.url, `/v1/ntp/server/list?cluster_uuid=${uuid}`);
    assert.equal(r.http, 200);
    assert.equal(r.body.scode, 0);
    assert.deepEqual(r.body.data.addrs, [LIVE, DEAD]);
    assert.equal(r.body.data.sync_period, 64);

    const list = r.body.data.date_source_status as Record<string, unknown>[];
    const live = list.find((s) => s.ip === LIVE);
    const dead = list.find((s) => s.ip === DEAD);
    assert.equal(live?.status, true);
    assert.equal(live?.stratum, 3);
    const offset = live?.offset_ms as number;
    assert.ok(Math.abs(offset - 5000) < 50, `offset_ms ${offset}`);
    assert.equal(dead?.status, false);
    assert.match(String(dead?.reason), /^(unreachable|timeout)$/);
  });

  it("zone/list lists zone folders only, sorted", async () => {
    const r = await get(server.url, `/v1/ntp/zone/list?cluster_uuid=${uuid}`);
    const list = r.body.data.list as string[];
    assert.equal(r.body.scode, 0);
    assert.equal(r.body.data.total_count, list.length);
    assert.ok(list.includes("America") && list.includes("Atlantic"));
    for (const bad of ["posix", "right", "UTC", "zone.tab", "posixrules"]) {
      assert.ok(!list.includes(bad), `${bad} is not a zone`);
    }
    assert.deepEqual(list, [...list].sort());
  });

  it("zone/country/list gives nested names (F01)", async () => {
    const q = `/v1/ntp/zone/country/list?zone=America&cluster_uuid=${uuid}`;
    const r = await get(server.url, q);
    const list = r.body.data.list as string[];
    for (const name of [
      "Argentina/Buenos_Aires",
      "Indiana/Indianapolis",
      "Kentucky/Louisville",
      "North_Dakota/Center",
    ]) {
      assert.ok(list.includes(name), name);
    }
    assert.ok(!list.includes("Argentina"));
    assert.equal(r.body.data.total_count, list.length);

    const atlantic = await get(
      server.url,
      "/v1/ntp/zone/country/list?zone=Atlantic",
    );
    assert.ok((atlantic.body.data.list as string[]).includes("Azores"));
  });

  it("zone/country/list of an unknown zone is 404", async () => {
    const r = await get(server.url, "/v1/ntp/zone/country/list?zone=Atlantis");
    assert.equal(r.http, 404);
    assert.equal(r.body.scode, 1101);
    assert.deepEqual(Object.keys(r.body).sort(), ENVELOPE_KEYS);
  });

  it("zone/country/save writes the symlink and current reads it", async () => {
    const r = await post(server.url, "/v1/ntp/zone/country/save", {
      zone: "America",
      country: "Argentina/Buenos_Aires",
      cluster_uuid: uuid,
    });
    assert.equal(r.http, 200, JSON.stringify(r.body));
    assert.equal(r.body.scode, 0);
    assert.equal(
      readlinkSync(path.join(root, "etc/localtime")),
      "/usr/share/zoneinfo/America/Argentina/Buenos_Aires",
    );

    const cur = await get(
      server.url,
      `/v1/ntp/zone/country/current?cluster_uuid=${uuid}`,
    );
    assert.equal(cur.body.data.zone, "America");
    assert.equal(cur.body.data.country, "Argentina/Buenos_Aires");
  });

  it("system/current/time gives unix seconds and RFC 3339 in the zone", async () => {
    const r = await get(
      server.url,
      `/v1/ntp/system/current/time?cluster_uuid=${uuid}`,
    );
    const time = r.body.data.time as number;
    assert.ok(Number.isInteger(time));
    assert.ok(Math.abs(time - Date.now() / 1000) < 5, `time ${time}`);
    assert.equal(r.body.data.timezone, "America/Argentina/Buenos_Aires");
    assert.match(
      String(r.body.data.iso),
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-03:00$/,
    );
  });

  it("force/time/sync reports the -x chronyd as failed, with the reason", async () => {
    await waitFor(
      async () =>
        (await chronyc(socket(), "sources")).some((r) => r[1] === "*"),
      30_000,
      () => "the node's chronyd never selected the live upstream",
    );
    type OnNode = { node: string; state: string; reach: number | null };
    const list = await get(server.url, "/v1/ntp/server/list");
    const entries = list.body.data.date_source_status as {
      ip: string;
      chrony: OnNode[];
    }[];
    const live = entries.find((e) => e.ip === LIVE)?.chrony ?? [];
    assert.equal(live.length, 1);
    assert.equal(live[0]?.node, "127.0.0.1");
    assert.equal(live[0]?.state, "selected");
    assert.ok((live[0]?.reach ?? 0) > 0, `reach ${live[0]?.reach}`);
    const dead = entries.find((e) => e.ip === DEAD)?.chrony ?? [];
    assert.equal(dead[0]?.state, "unreachable");
    assert.equal(dead[0]?.reach, 0);

    const r = await post(server.url, "/v1/ntp/force/time/sync", {
      cluster_uuid: uuid,
    });
    assert.equal(r.http, 503, JSON.stringify(r.body));
    assert.equal(r.body.scode, 2002);
    const nodes = r.body.data.nodes as Record<string, unknown>[];
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0]?.ok, false);
    assert.match(String(nodes[0]?.error), /500 Failure/);
    assert.match(String(nodes[0]?.error), /-x/);
    const before = nodes[0]?.offset_before_s as number;
    assert.ok(Math.abs(before + 5) < 0.05, `offset_before_s ${before}`);
  });

  it("an unknown cluster_uuid is 404 in the envelope", async () => {
    const other = "00000000-0000-4000-8000-000000000000";
    const r = await get(
      server.url,
      `/v1/ntp/server/list?cluster_uuid=${other}`,
    );
    assert.equal(r.http, 404);
    assert.equal(r.body.scode, 1301);
    assert.deepEqual(Object.keys(r.body).sort(), ENVELOPE_KEYS);
    assert.equal(r.body.stack, null);
    assert.match(r.body.message, /00000000-0000-4000-8000-000000000000/);
  });

  it("state survives a restart of the server", async () => {
    await server.stop();
    server = await startServer(args());
    assert.equal(server.clusterUuid, uuid);

    const list = await get(server.url, "/v1/ntp/server/list");
    assert.deepEqual(list.body.data.addrs, [LIVE, DEAD]);
    assert.equal(list.body.data.sync_period, 64);
    const cur = await get(server.url, "/v1/ntp/zone/country/current");
    assert.equal(cur.body.data.zone, "America");
    assert.equal(cur.body.data.country, "Argentina/Buenos_Aires");
    const rows = await chronyc(socket(), "sources");
    assert.deepEqual(rows.map((row) => row[2]).sort(), [LIVE, DEAD]);
  });

  it("server/delete of one source, then of all", async () => {
    const one = await post(server.url, "/v1/ntp/server/delete", {
      addrs: [DEAD],
      cluster_uuid: uuid,
    });
    assert.equal(one.body.scode, 0, JSON.stringify(one.body));
    assert.deepEqual(one.body.data.servers, [LIVE]);
    assert.deepEqual(
      (await chronyc(socket(), "sources")).map((r) => r[2]),
      [LIVE],
    );

    const all = await post(server.url, "/v1/ntp/server/delete", {
      cluster_uuid: uuid,
    });
    assert.equal(all.body.scode, 0);
    assert.equal(all.body.data.servers, null);
    const status = all.body.data.status as Record<string, unknown>[];
    assert.equal(status[0]?.status, "active");
    assert.deepEqual(await chronyc(socket(), "sources"), []);
  });
});
