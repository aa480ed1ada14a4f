/**
 * Scenario: a machine without chrony. The node reports loaded "not-found",
 * a source write is saved but reported as failed on the node, and the time
 * zone and time endpoints keep working.
 */
import assert from "node:assert/strict";
import { mkdirSync, readlinkSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { get, post } from "../helpers/api.ts";
import {
  removeDir,
  type Server,
  startServer,
  tempDir,
} from "../helpers/processes.ts";

describe("a node without chrony", () => {
  let server: Server;
  let dir: string;
  let root: string;

  before(async () => {
    dir = tempDir();
    root = path.join(dir, "root");
    mkdirSync(path.join(root, "etc"), { recursive: true });
    const missing = path.join(dir, "not-installed");
    server = await startServer(
      [
        "--listen",
        "127.0.0.1:0",
        "--data",
        path.join(dir, "data"),
        "--host-root",
        root,
      ],
      {
        TIMEPLANE_CHRONYD_BIN: path.join(missing, "chronyd"),
        TIMEPLANE_CHRONYC_BIN: path.join(missing, "chronyc"),
      },
    );
  });

  after(async () => {
    await server?.stop();
    removeDir(dir);
  });

  it("server/add saves the sources but reports the node as failed", async () => {
    const r = await post(server.url, "/v1/ntp/server/add", {
      addrs: ["127.0.0.54"],
      force: true,
    });
    assert.equal(r.http, 503);
    assert.equal(r.body.scode, 2002);
    const status = r.body.data.status as Record<string, unknown>[];
    assert.equal(status[0]?.loaded, "not-found");
    assert.match(String(status[0]?.error), /chrony is not installed/);
    assert.deepEqual(r.body.data.servers, ["127.0.0.54"]);

    const list = await get(server.url, "/v1/ntp/server/list");
    assert.deepEqual(list.body.data.addrs, ["127.0.0.54"]);
  });

  it("zones and time keep working", async () => {
    const zones = await get(server.url, "/v1/ntp/zone/list");
    assert.equal(zones.body.scode, 0);
    assert.ok((zones.body.data.list as string[]).includes("Europe"));

    const save = await post(server.url, "/v1/ntp/zone/country/save", {
      zone: "Europe",
      country: "Berlin",
    });
    assert.equal(save.body.scode, 0, JSON.stringify(save.body));
    assert.equal(
      readlinkSync(path.join(root, "etc/localtime")),
      "/usr/share/zoneinfo/Europe/Berlin",
    );

    const time = await get(server.url, "/v1/ntp/system/current/time");
    assert.equal(time.body.scode, 0);
    assert.equal(time.body.data.timezone, "Europe/Berlin");
  });
});
