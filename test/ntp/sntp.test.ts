import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { probeOnce } from "../../src/ntp/sntp.ts";
import type { ProbeResult } from "../../src/ntp/types.ts";
import {
  type FakeServer,
  serverReply,
  startFakeServer,
} from "./fake-server.ts";

const UPSTREAM = "127.0.0.31";
const NOBODY = "127.0.0.32";
const FAKE = "127.0.0.33";

/** A chronyd upstream, local stratum 3, its clock 5 s ahead via faketime. */
interface Upstream {
  dir: string;
  faketime: ChildProcess;
}

async function startUpstream(): Promise<Upstream> {
  const dir = await mkdtemp(path.join(tmpdir(), "timeplane-ntp-"));
  const conf = path.join(dir, "up.conf");
  await writeFile(
    conf,
    [
      "local stratum 3",
      "allow 127.0.0.0/8",
      `bindaddress ${UPSTREAM}`,
      "cmdport 0",
      `bindcmdaddress ${dir}/up.sock`,
      `pidfile ${dir}/up.pid`,
      `driftfile ${dir}/up.drift`,
      "",
    ].join("\n"),
  );
  const faketime = spawn(
    "faketime",
    ["-f", "+5s", "chronyd", "-x", "-d", "-u", "root", "-f", conf],
    { stdio: "ignore" },
  );
  return { dir, faketime };
}

/** faketime forks chronyd as its child: stop the child, then faketime. */
async function stopUpstream(up: Upstream): Promise<void> {
  const pid = up.faketime.pid;
  const pids = new Set<number>();
  if (pid !== undefined) {
    const children = await readFile(
      `/proc/${pid}/task/${pid}/children`,
      "utf8",
    ).catch(() => "");
    for (const child of children.split(/\s+/).filter(Boolean)) {
      pids.add(Number(child));
    }
  }
  const fromFile = await readFile(path.join(up.dir, "up.pid"), "utf8").catch(
    () => "",
  );
  if (/^\d+\s*$/.test(fromFile)) pids.add(Number(fromFile));
  for (const child of pids) killQuietly(child);
  if (up.faketime.exitCode === null && up.faketime.signalCode === null) {
    const exited = once(up.faketime, "exit");
    killQuietly(pid);
    await exited;
  }
  await rm(up.dir, { recursive: true, force: true });
}

function killQuietly(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    // Already gone.
  }
}

/** Probes until the upstream answers usable, for up to 15 s. */
async function probeUntilUsable(addr: string): Promise<ProbeResult> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const result = await probeOnce(addr, { timeoutMs: 500 });
    if (result.usable || Date.now() > deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const NOT_PROBED = {
  usable: false,
  stratum: null,
  leap: null,
  kiss_code: null,
  offset_ms: null,
  delay_ms: null,
  refid: null,
  cached: false,
};

describe("probeOnce against a real chronyd 5 s ahead", () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await stopUpstream(upstream);
  });

  it("is usable, stratum 3, offset about +5000 ms", async () => {
    const before = Date.now();
    const r = await probeUntilUsable(UPSTREAM);

    assert.equal(r.reason, "ok", JSON.stringify(r));
    assert.equal(r.usable, true);
    assert.equal(r.addr, UPSTREAM);
    assert.equal(r.stratum, 3);
    assert.equal(r.leap, 0);
    assert.equal(r.refid, "127.127.1.1");
    assert.equal(r.kiss_code, null);
    assert.equal(r.detail, null);
    assert.equal(r.cached, false);
    assert.ok(Math.abs((r.offset_ms ?? 0) - 5000) < 50, `${r.offset_ms}`);
    assert.ok((r.delay_ms ?? -1) >= 0, `${r.delay_ms}`);
    assert.ok(r.probed_at_ms >= before && r.probed_at_ms <= Date.now());
  });
});

describe("probeOnce where nothing listens", () => {
  it("says unreachable (or timeout), with no measurement", async () => {
    const r = await probeOnce(NOBODY, { timeoutMs: 1000 });

    assert.ok(["unreachable", "timeout"].includes(r.reason), r.reason);
    assert.deepEqual(
      { ...r, reason: null, detail: null, probed_at_ms: 0 },
      {
        ...NOT_PROBED,
        addr: NOBODY,
        reason: null,
        detail: null,
        probed_at_ms: 0,
      },
    );
  });
});

describe("probeOnce against a scripted server", () => {
  let server: FakeServer;
  before(async () => {
    server = await startFakeServer(FAKE, () => []);
  });
  after(async () => {
    await server.close();
  });

  const ask = (timeoutMs = 1000, addr = FAKE) =>
    probeOnce(addr, { port: server.port, timeoutMs });

  it("measures the offset and delay of a good reply", async () => {
    server.respond = (req) => [serverReply(req, { clockOffsetMs: -3000 })];
    const r = await ask();

    assert.equal(r.reason, "ok");
    assert.equal(r.usable, true);
    assert.equal(r.stratum, 2);
    assert.equal(r.refid, "127.0.0.34");
    assert.ok(Math.abs((r.offset_ms ?? 0) + 3000) < 50, `${r.offset_ms}`);
    assert.ok((r.delay_ms ?? -1) >= 0);
  });

  it("reads a Kiss-o'-Death RATE", async () => {
    server.respond = (req) => [
      serverReply(req, { leap: 3, stratum: 0, refid: "RATE" }),
    ];
    const r = await ask();

    assert.equal(r.usable, false);
    assert.equal(r.reason, "kiss_of_death");
    assert.equal(r.kiss_code, "RATE");
    assert.equal(r.detail, "kiss code RATE");
    assert.equal(r.stratum, 0);
    assert.equal(r.refid, "RATE");
    assert.equal(r.offset_ms, null);
  });

  it("reads DENY and RSTR as Kiss-o'-Death too", async () => {
    for (const code of ["DENY", "RSTR"]) {
      server.respond = (req) => [serverReply(req, { stratum: 0, refid: code })];
      const r = await ask();
      assert.equal(r.reason, "kiss_of_death");
      assert.equal(r.kiss_code, code);
    }
  });

  it("says unsynchronised for leap indicator 3", async () => {
    server.respond = (req) => [serverReply(req, { leap: 3 })];
    const r = await ask();

    assert.equal(r.usable, false);
    assert.equal(r.reason, "unsynchronised");
    assert.equal(r.detail, "leap indicator 3 (clock not synchronised)");
    assert.equal(r.leap, 3);
    assert.equal(r.kiss_code, null);
    assert.equal(r.offset_ms, null);
  });

  it("says unsynchronised for stratum 16", async () => {
    server.respond = (req) => [serverReply(req, { stratum: 16 })];
    const r = await ask();

    assert.equal(r.usable, false);
    assert.equal(r.reason, "unsynchronised");
    assert.equal(r.detail, "stratum 16");
    assert.equal(r.stratum, 16);
  });

  it("says unsynchronised for stratum 0 without a kiss code", async () => {
    server.respond = (req) => [
      serverReply(req, { leap: 3, stratum: 0, refid: 0 }),
    ];
    const r = await ask();

    assert.equal(r.reason, "unsynchronised");
    assert.equal(r.detail, "leap indicator 3 (clock not synchronised)");
    assert.equal(r.kiss_code, null);
  });

  it("says unsynchronised for kiss code INIT", async () => {
    server.respond = (req) => [
      serverReply(req, { leap: 3, stratum: 0, refid: "INIT" }),
    ];
    const r = await ask();

    assert.equal(r.reason, "unsynchronised");
    assert.equal(r.detail, "kiss code INIT (no time yet)");
    assert.equal(r.kiss_code, "INIT");
  });

  it("ignores a wrong origin timestamp and times out", async () => {
    server.respond = (req) => [
      serverReply(req, { origin: { seconds: 1, fraction: 2 } }),
    ];
    const before = server.packets;
    const r = await ask(400);

    assert.equal(server.packets, before + 1);
    assert.deepEqual(r, {
      ...NOT_PROBED,
      addr: FAKE,
      reason: "timeout",
      detail:
        "no valid reply within 400 ms: ignored replies with a wrong " +
        "origin timestamp",
      probed_at_ms: r.probed_at_ms,
    });
  });

  it("keeps waiting past a bogus reply for the real one", async () => {
    server.respond = (req) => [
      serverReply(req, { origin: { seconds: 1, fraction: 2 }, stratum: 9 }),
      Buffer.alloc(20),
      serverReply(req, { stratum: 4 }),
    ];
    const r = await ask();

    assert.equal(r.reason, "ok");
    assert.equal(r.stratum, 4);
  });

  it("refuses a mode 3 reply as bad", async () => {
    server.respond = (req) => [serverReply(req, { mode: 3 })];
    const r = await ask();

    assert.equal(r.usable, false);
    assert.equal(r.reason, "bad_reply");
    assert.equal(r.detail, "mode 3 (expected 4, server)");
  });

  it("refuses version 0 and 5 as bad", async () => {
    for (const version of [0, 5]) {
      server.respond = (req) => [serverReply(req, { version })];
      const r = await ask();
      assert.equal(r.reason, "bad_reply");
      assert.equal(r.detail, `version ${version} (expected 1 to 4)`);
    }
  });

  it("refuses a zero transmit timestamp as bad", async () => {
    server.respond = (req) => [serverReply(req, { transmitZero: true })];
    const r = await ask();

    assert.equal(r.reason, "bad_reply");
    assert.equal(r.detail, "transmit timestamp 0");
  });

  it("times out with a plain detail when nothing comes back", async () => {
    server.respond = () => [];
    const r = await ask(300);

    assert.equal(r.reason, "timeout");
    assert.equal(r.detail, "no reply within 300 ms");
  });

  it("resolves a host name with the lookup given", async () => {
    server.respond = (req) => [serverReply(req, { clockOffsetMs: 1500 })];
    const r = await probeOnce("ntp-a.test", {
      port: server.port,
      lookup: async () => ({ address: FAKE, family: 4 }),
    });

    assert.equal(r.addr, "ntp-a.test");
    assert.equal(r.reason, "ok");
    assert.ok(Math.abs((r.offset_ms ?? 0) - 1500) < 50, `${r.offset_ms}`);
  });

  it("says dns_failed when the lookup fails", async () => {
    const before = server.packets;
    const r = await probeOnce("nowhere.test", {
      port: server.port,
      lookup: async () => {
        throw Object.assign(new Error("getaddrinfo ENOTFOUND"), {
          code: "ENOTFOUND",
        });
      },
    });

    assert.equal(server.packets, before);
    assert.deepEqual(r, {
      ...NOT_PROBED,
      addr: "nowhere.test",
      reason: "dns_failed",
      detail: "host name lookup failed: ENOTFOUND",
      probed_at_ms: r.probed_at_ms,
    });
  });

  it("refuses a port out of range", async () => {
    await assert.rejects(probeOnce(FAKE, { port: 70000 }), {
      message: "Invalid port 70000: must be an integer from 1 to 65535",
    });
  });
});
