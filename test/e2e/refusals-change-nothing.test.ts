/**
 * Scenario: bad input through the API (field cases F08, F09, F10, F12 and
 * malformed requests). Each is refused with the status, scode and a message
 * naming the field; chrony's files, /etc/localtime, /etc/timezone and the
 * stored state are byte-identical afterwards.
 */
import assert from "node:assert/strict";
import {
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ENVELOPE_KEYS, get, post } from "../helpers/api.ts";
import {
  removeDir,
  type Server,
  startServer,
  tempDir,
} from "../helpers/processes.ts";

const SOURCE = "127.0.0.53";

interface Case {
  name: string;
  send: () => Promise<{
    http: number;
    body: { scode: number; message: string };
  }>;
  http: number;
  scode: number;
  /** What the English message must contain. */
  says: RegExp;
}

describe("refused requests change nothing", () => {
  let server: Server;
  let dir: string;
  let root: string;
  let data: string;

  const snapshot = () => ({
    sources: readFileSync(
      path.join(data, "agent/chrony/sources.d/timeplane.sources"),
      "utf8",
    ),
    localtime: readlinkSync(path.join(root, "etc/localtime")),
    timezone: readFileSync(path.join(root, "etc/timezone"), "utf8"),
  });

  before(async () => {
    dir = tempDir();
    root = path.join(dir, "root");
    data = path.join(dir, "data");
    mkdirSync(path.join(root, "etc"), { recursive: true });
    symlinkSync(
      "/usr/share/zoneinfo/Asia/Tokyo",
      path.join(root, "etc/localtime"),
    );
    writeFileSync(path.join(root, "etc/timezone"), "Asia/Tokyo\n");
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
    const r = await post(server.url, "/v1/ntp/server/add", {
      addrs: [SOURCE],
      sync_period: 32,
      force: true,
    });
    assert.equal(r.body.scode, 0, JSON.stringify(r.body));
  });

  after(async () => {
    await server?.stop();
    removeDir(dir);
  });

  const add = (body: unknown) => post(server.url, "/v1/ntp/server/add", body);
  const save = (body: unknown) =>
    post(server.url, "/v1/ntp/zone/country/save", body);
  const raw = (body: string, type: string) =>
    fetch(`${server.url}/v1/ntp/server/add`, {
      method: "POST",
      headers: { "content-type": type },
      body,
    }).then(async (res) => ({ http: res.status, body: await res.json() }));

  const cases: Case[] = [
    {
      name: "the node's own address as a source",
      send: () => add({ addrs: ["127.0.0.1"], force: true }),
      http: 400,
      scode: 1001,
      says: /^Invalid addrs "127\.0\.0\.1": is a node of this cluster/,
    },

    {
      name: "F09 newline",
      send: () => add({ addrs: ["127.0.0.21\ncmdallow all"] }),
      http: 400,
      scode: 1001,
      says: /^Invalid addrs\[0\]|^Invalid addrs /,
    },
    {
      name: "F09 CRLF",
      send: () => add({ addrs: ["127.0.0.21 iburst\r\nallow 0/0"] }),
      http: 400,
      scode: 1001,
      says: /addrs/,
    },
    {
      name: "F09 tab",
      send: () => add({ addrs: ["127.0.0.21\tkey 1"] }),
      http: 400,
      scode: 1001,
      says: /addrs/,
    },
    {
      name: "F10 string",
      send: () => add({ addrs: "ntp1.example.com" }),
      http: 400,
      scode: 1001,
      says: /^Invalid addrs "ntp1\.example\.com": must be a list/,
    },
    {
      name: "F10 nested list",
      send: () => add({ addrs: [["x"]] }),
      http: 400,
      scode: 1001,
      says: /addrs\[0\]/,
    },
    {
      name: "F10 dash",
      send: () => add({ addrs: ["-"] }),
      http: 400,
      scode: 1001,
      says: /addrs/,
    },
    {
      name: "empty list",
      send: () => add({ addrs: [] }),
      http: 400,
      scode: 1001,
      says: /addrs/,
    },
    {
      name: "33 sources",
      send: () =>
        add({ addrs: Array.from({ length: 33 }, (_, i) => `127.0.1.${i}`) }),
      http: 400,
      scode: 1001,
      says: /at most 32/,
    },
    {
      name: "sync_period 60",
      send: () => add({ addrs: [SOURCE], sync_period: 60 }),
      http: 400,
      scode: 1001,
      says: /^Invalid sync_period 60: must be a power of two from 16 to 131072 seconds$/,
    },
    {
      name: "sync_period 8",
      send: () => add({ addrs: [SOURCE], sync_period: 8 }),
      http: 400,
      scode: 1001,
      says: /sync_period 8/,
    },
    {
      name: "sync_period 262144",
      send: () => add({ addrs: [SOURCE], sync_period: 262144 }),
      http: 400,
      scode: 1001,
      says: /sync_period 262144/,
    },
    {
      name: "sync_period string",
      send: () => add({ addrs: [SOURCE], sync_period: "64" }),
      http: 400,
      scode: 1001,
      says: /sync_period "64"/,
    },
    {
      name: "unknown field",
      send: () => add({ addrs: [SOURCE], iburst: false }),
      http: 400,
      scode: 1003,
      says: /iburst/,
    },
    {
      name: "missing addrs",
      send: () => add({ sync_period: 64 }),
      http: 400,
      scode: 1002,
      says: /^Missing addrs/,
    },
    {
      name: "malformed JSON",
      send: () => raw("{", "application/json"),
      http: 400,
      scode: 1004,
      says: /JSON/,
    },
    {
      name: "text/plain",
      send: () => raw("127.0.0.1", "text/plain"),
      http: 415,
      scode: 1005,
      says: /text\/plain/,
    },
    {
      name: "F08 traversal",
      send: () => save({ zone: "Europe", country: "../../../../etc/passwd" }),
      http: 400,
      scode: 1001,
      says: /country/,
    },
    {
      name: "F08 newline",
      send: () => save({ zone: "Europe", country: "Berlin\n/../../tmp/x" }),
      http: 400,
      scode: 1001,
      says: /country/,
    },
    {
      name: "F08 zone ..",
      send: () => save({ zone: "..", country: "Tokyo" }),
      http: 400,
      scode: 1001,
      says: /zone/,
    },
    {
      name: "F08 zone /etc",
      send: () => save({ zone: "/etc", country: "passwd" }),
      http: 400,
      scode: 1001,
      says: /zone/,
    },
    {
      name: "F04 right/",
      send: () => save({ zone: "right", country: "Asia/Tokyo" }),
      http: 400,
      scode: 1102,
      says: /leap seconds/,
    },
    {
      name: "F02 slash in zone",
      send: () => save({ zone: "America/Kentucky", country: "Louisville" }),
      http: 400,
      scode: 1001,
      says: /zone/,
    },
    {
      name: "F02 query slash",
      send: () =>
        get(server.url, "/v1/ntp/zone/country/list?zone=America%2FKentucky"),
      http: 400,
      scode: 1001,
      says: /zone/,
    },
    {
      name: "unknown country",
      send: () => save({ zone: "Europe", country: "Atlantis" }),
      http: 404,
      scode: 1101,
      says: /Europe\/Atlantis/,
    },
    {
      name: "wrong method",
      send: () => get(server.url, "/v1/ntp/server/add"),
      http: 405,
      scode: 1402,
      says: /POST/,
    },
    {
      name: "unknown route",
      send: () => get(server.url, "/v1/ntp/nothing"),
      http: 404,
      scode: 1401,
      says: /\/v1\/ntp\/nothing/,
    },
    {
      name: "delete unknown source",
      send: () =>
        post(server.url, "/v1/ntp/server/delete", { addrs: ["127.0.0.99"] }),
      http: 404,
      scode: 1202,
      says: /127\.0\.0\.99/,
    },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.http} scode ${c.scode}, nothing changed`, async () => {
      const before = snapshot();
      const listBefore = await get(server.url, "/v1/ntp/server/list");
      const r = await c.send();
      assert.equal(r.http, c.http, JSON.stringify(r.body));
      assert.deepEqual(Object.keys(r.body).sort(), ENVELOPE_KEYS);
      assert.equal(r.body.scode, c.scode, r.body.message);
      assert.match(r.body.message, c.says);
      assert.doesNotMatch(r.body.message, /root:x:0/);
      assert.deepEqual(snapshot(), before);
      const listAfter = await get(server.url, "/v1/ntp/server/list");
      assert.deepEqual(listAfter.body.data.addrs, listBefore.body.data.addrs);
      assert.equal(listAfter.body.data.sync_period, 32);
    });
  }

  it("F12 one source per server after normalisation", async () => {
    const r = await add({
      force: true,
      addrs: [
        "::1",
        "0:0:0:0:0:0:0:1",
        "LocalHost",
        "localhost.",
        SOURCE,
        SOURCE,
      ],
    });
    assert.equal(r.body.scode, 0, JSON.stringify(r.body));
    assert.deepEqual(r.body.data.servers, [SOURCE, "::1", "localhost"]);
    const lines = snapshot()
      .sources.split("\n")
      .filter((l) => l.startsWith("server "));
    assert.equal(lines.length, 3);
  });
});
