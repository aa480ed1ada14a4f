/**
 * A supervised chronyd switched into serving NTP and back through
 * ChronyHost.applySources: every change of serve restarts chronyd with a
 * new main conf, an unchanged serve does not, a serve chronyd cannot bind
 * is rolled back, and a new ChronyHost on the same state folder (an agent
 * restart) starts chronyd serving as last applied. 127.0.0.85 is the
 * serving address; 127.0.0.84 is held by a plain UDP socket of the test.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { existsSync, promises as fs } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { ServeSpec, SourcesSpec } from "../../../src/agent/types.ts";
import { TimeplaneError } from "../../../src/errors.ts";
import { ChronyHost } from "../../../src/host/chrony/index.ts";
import { HostPaths } from "../../../src/host/paths.ts";
import { probeOnce } from "../../../src/ntp/sntp.ts";
import { isAlive, removeDir, tempDir } from "./helpers.ts";

const SERVE_ADDR = "127.0.0.85";
const HELD_ADDR = "127.0.0.84";
const HEADER = "# Managed by timeplane; changes here are overwritten";
const SERVE: ServeSpec = {
  bind_address: SERVE_ADDR,
  allow: ["127.0.0.0/8"],
  local_stratum: 10,
};

function spec(serve: ServeSpec | null | undefined): SourcesSpec {
  return { servers: [], poll_log2: 4, serve };
}

function confText(state: string, serve: ServeSpec | null): string {
  const serving =
    serve === null
      ? ["port 0"]
      : [
          `bindaddress ${serve.bind_address}`,
          `bindacqaddress ${serve.bind_address}`,
          ...serve.allow.map((net) => `allow ${net}`),
          `local stratum ${serve.local_stratum} orphan`,
        ];
  const lines = [
    HEADER,
    `sourcedir ${state}/sources.d`,
    ...serving,
    "cmdport 0",
    `bindcmdaddress ${state}/chronyd.sock`,
    `pidfile ${state}/chronyd.pid`,
    `driftfile ${state}/drift`,
    "makestep 1 3",
  ];
  return `${lines.join("\n")}\n`;
}

describe("ChronyHost serving NTP, supervised", () => {
  let dir = "";
  let state = "";
  let host: ChronyHost | null = null;
  let holder: dgram.Socket | null = null;
  const pids: number[] = [];

  before(async () => {
    dir = await tempDir("serve");
    state = path.join(dir, "state");
  });

  after(async () => {
    await host?.stop();
    holder?.close();
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid}`);
    await removeDir(dir);
  });

  function newHost(): ChronyHost {
    return new ChronyHost({
      mode: "supervised",
      paths: new HostPaths({ root: path.join(dir, "root") }),
      stateDir: state,
    });
  }

  function pid(): number {
    const value = host?.supervisor?.pid ?? null;
    assert.ok(value !== null, "chronyd is not running");
    pids.push(value);
    return value;
  }

  async function assertNotServing(): Promise<void> {
    const reply = await probeOnce(SERVE_ADDR, { timeoutMs: 1000 });
    assert.equal(reply.usable, false);
    assert.equal(reply.reason, "unreachable");
  }

  async function conf(): Promise<string> {
    return fs.readFile(path.join(state, "chrony.conf"), "utf8");
  }

  async function remembered(): Promise<unknown> {
    return JSON.parse(
      await fs.readFile(path.join(state, "serve.json"), "utf8"),
    );
  }

  it("starts as a client only and does not answer NTP", async () => {
    host = newHost();
    await host.start();
    pid();
    assert.equal(await conf(), confText(state, null));
    assert.equal(host.serving, null);
    assert.equal(existsSync(path.join(state, "serve.json")), false);
    await assertNotServing();
  });

  it("switching serve on restarts chronyd with a serving conf", async () => {
    const h = host as ChronyHost;
    const before = pid();
    assert.deepEqual(await h.applySources(spec(SERVE)), {
      rolled_back: false,
      error: null,
    });
    const after = pid();
    assert.notEqual(after, before);
    assert.equal(isAlive(before), false);
    assert.equal(await conf(), confText(state, SERVE));
    assert.deepEqual(await remembered(), { serve: SERVE });
    assert.deepEqual(h.serving, SERVE);

    const reply = await probeOnce(SERVE_ADDR, { timeoutMs: 2000 });
    assert.equal(reply.usable, true, reply.detail ?? reply.reason);
    assert.equal(reply.stratum, 10);
  });

  it("applying the same serve again, or none, does not restart", async () => {
    const h = host as ChronyHost;
    const before = pid();
    const same = { ...SERVE, allow: [...SERVE.allow] };
    assert.deepEqual(await h.applySources(spec(same)), {
      rolled_back: false,
      error: null,
    });
    assert.equal(pid(), before);
    assert.deepEqual(await h.applySources(spec(undefined)), {
      rolled_back: false,
      error: null,
    });
    assert.equal(pid(), before);
    assert.equal(await conf(), confText(state, SERVE));
  });

  it("refuses a bad serve before changing anything", async () => {
    const h = host as ChronyHost;
    const before = pid();
    const confBefore = await conf();
    const bad = { ...SERVE, local_stratum: 16 };
    await assert.rejects(
      h.applySources(spec(bad)),
      (err: unknown) =>
        err instanceof TimeplaneError &&
        err.code === "INVALID_FIELD" &&
        err.message ===
          "Invalid serve.local_stratum 16: must be an integer from 1 to 15",
    );
    assert.equal(pid(), before);
    assert.equal(await conf(), confBefore);
  });

  it("rolls back a serve chronyd cannot bind, and keeps serving", async () => {
    const h = host as ChronyHost;
    holder = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      holder?.once("error", reject);
      holder?.bind(123, HELD_ADDR, () => resolve());
    });
    const before = pid();
    const confBefore = await conf();
    const held = { ...SERVE, bind_address: HELD_ADDR };

    assert.deepEqual(await h.applySources(spec(held)), {
      rolled_back: true,
      error:
        "chronyd could not start with the new serve settings: " +
        `Could not open NTP socket on ${HELD_ADDR}:123`,
    });
    assert.equal(await conf(), confBefore);
    assert.deepEqual(await remembered(), { serve: SERVE });
    assert.deepEqual(h.serving, SERVE);
    assert.equal(isAlive(before), false);
    const now = pid();
    assert.notEqual(now, before);
    assert.deepEqual(await h.daemonState(), {
      loaded: "loaded",
      status: "active",
      mode: "supervised",
      detail: null,
    });
    const reply = await probeOnce(SERVE_ADDR, { timeoutMs: 2000 });
    assert.equal(reply.usable, true, reply.detail ?? reply.reason);
  });

  it("a restarted agent starts chronyd serving as last applied", async () => {
    await host?.stop();
    host = newHost();
    await host.start();
    const first = pid();
    assert.equal(await conf(), confText(state, SERVE));
    assert.deepEqual(host.serving, SERVE);
    assert.deepEqual(await host.applySources(spec(SERVE)), {
      rolled_back: false,
      error: null,
    });
    assert.equal(pid(), first);
  });

  it("switching serve off restarts chronyd with port 0", async () => {
    const h = host as ChronyHost;
    const before = pid();
    assert.deepEqual(await h.applySources(spec(null)), {
      rolled_back: false,
      error: null,
    });
    assert.notEqual(pid(), before);
    assert.equal(await conf(), confText(state, null));
    assert.deepEqual(await remembered(), { serve: null });
    assert.equal(h.serving, null);
    await assertNotServing();
  });
});
