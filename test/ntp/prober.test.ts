import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { Prober, type ProberOptions } from "../../src/ntp/prober.ts";
import type { ResolvedAddress } from "../../src/ntp/sntp.ts";
import {
  type FakeServer,
  serverReply,
  startFakeServer,
} from "./fake-server.ts";

const FAKE = "127.0.0.33";
const QUIET = "127.0.0.34";
const T0_MS = 1_000_000;

/** Host names for tests: ok-N.test answers, quiet-N.test never does. */
async function lookup(host: string): Promise<ResolvedAddress> {
  const address = host.startsWith("quiet-") ? QUIET : FAKE;
  return { address, family: 4 };
}

function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}

describe("Prober", () => {
  let server: FakeServer;
  let quiet: FakeServer;
  let clockMs = T0_MS;

  before(async () => {
    server = await startFakeServer(FAKE, () => []);
    quiet = await startFakeServer(QUIET, () => [], server.port);
  });
  after(async () => {
    await server.close();
    await quiet.close();
  });
  beforeEach(() => {
    clockMs = T0_MS;
    server.respond = (req) => [serverReply(req)];
  });

  const prober = (options: ProberOptions = {}) =>
    new Prober({
      port: server.port,
      timeoutMs: 1000,
      now: () => clockMs,
      lookup,
      ...options,
    });

  it("sends one packet for two probes within 2 s", async () => {
    const p = prober();
    const start = server.packets;

    const [a, b] = await Promise.all([p.probe(FAKE), p.probe(FAKE)]);
    assert.equal(server.packets, start + 1);
    assert.equal(a.reason, "ok");
    assert.equal(b.reason, "ok");
    assert.equal(a.cached, false);

    clockMs = T0_MS + 1999;
    const c = await p.probe(FAKE);
    assert.equal(server.packets, start + 1);
    assert.equal(c.cached, true);
    assert.equal(c.reason, "ok");
    assert.equal(c.probed_at_ms, a.probed_at_ms);

    clockMs = T0_MS + 2000;
    const d = await p.probe(FAKE);
    assert.equal(server.packets, start + 2);
    assert.equal(d.cached, false);
  });

  it("treats two spellings of one host name as one source", async () => {
    const p = prober();
    const start = server.packets;

    const results = await p.probeMany(["OK-1.test.", "ok-1.test"]);
    assert.equal(server.packets, start + 1);
    assert.deepEqual(
      results.map((r) => [r.addr, r.reason]),
      [
        ["OK-1.test.", "ok"],
        ["ok-1.test", "ok"],
      ],
    );
  });

  it("backs off after a Kiss-o'-Death, doubling when repeated", async () => {
    server.respond = (req) => [
      serverReply(req, { leap: 3, stratum: 0, refid: "RATE" }),
    ];
    const p = prober();
    const start = server.packets;

    const first = await p.probe(FAKE);
    assert.equal(server.packets, start + 1);
    assert.equal(first.reason, "kiss_of_death");
    assert.equal(first.kiss_code, "RATE");
    assert.equal(first.cached, false);
    assert.equal(
      first.detail,
      `kiss code RATE: not asking again until ${isoAt(T0_MS + 64_000)} ` +
        "(in 64 s)",
    );

    clockMs = T0_MS + 63_999;
    const held = await p.probe(FAKE);
    assert.equal(server.packets, start + 1);
    assert.deepEqual(
      [held.reason, held.kiss_code, held.cached, held.usable],
      ["kiss_of_death", "RATE", true, false],
    );
    assert.equal(
      held.detail,
      `kiss code RATE: not asking again until ${isoAt(T0_MS + 64_000)} ` +
        "(in 1 s)",
    );

    clockMs = T0_MS + 64_000;
    const second = await p.probe(FAKE);
    assert.equal(server.packets, start + 2);
    assert.equal(
      second.detail,
      `kiss code RATE: not asking again until ${isoAt(T0_MS + 192_000)} ` +
        "(in 128 s)",
    );

    clockMs = T0_MS + 191_999;
    await p.probe(FAKE);
    assert.equal(server.packets, start + 2);

    server.respond = (req) => [serverReply(req)];
    clockMs = T0_MS + 192_000;
    assert.equal((await p.probe(FAKE)).reason, "ok");
    assert.equal(server.packets, start + 3);

    server.respond = (req) => [serverReply(req, { stratum: 0, refid: "DENY" })];
    clockMs = T0_MS + 194_000;
    const again = await p.probe(FAKE);
    assert.equal(server.packets, start + 4);
    assert.equal(
      again.detail,
      `kiss code DENY: not asking again until ${isoAt(T0_MS + 258_000)} ` +
        "(in 64 s)",
    );
  });

  it("caps the Kiss-o'-Death back-off at one hour", async () => {
    server.respond = (req) => [serverReply(req, { stratum: 0, refid: "RATE" })];
    const p = prober({ kodBackoffMs: 1_800_000 });
    const seen: string[] = [];
    const start = server.packets;

    for (const atMs of [T0_MS, T0_MS + 1_800_000, T0_MS + 5_400_000]) {
      clockMs = atMs;
      seen.push((await p.probe(FAKE)).detail ?? "");
    }
    assert.equal(server.packets, start + 3);
    assert.deepEqual(
      seen.map((d) => d.slice(d.indexOf("(in"))),
      ["(in 1800 s)", "(in 3600 s)", "(in 3600 s)"],
    );
    clockMs = T0_MS + 8_999_999;
    await p.probe(FAKE);
    assert.equal(server.packets, start + 3);
  });

  it("probes 20 sources, 10 silent, in about one timeout", async () => {
    server.respond = (req) => [serverReply(req, { clockOffsetMs: 700 })];
    const addrs = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0 ? `ok-${i}.test` : `quiet-${i}.test`,
    );
    const p = prober({ now: Date.now });
    const [okStart, quietStart] = [server.packets, quiet.packets];

    const startedMs = Date.now();
    const results = await p.probeMany(addrs);
    const elapsedMs = Date.now() - startedMs;

    assert.ok(elapsedMs < 3000, `took ${elapsedMs} ms`);
    assert.equal(server.packets, okStart + 10);
    assert.equal(quiet.packets, quietStart + 10);
    assert.deepEqual(
      results.map((r) => r.addr),
      addrs,
    );
    results.forEach((r, i) => {
      const expected = i % 2 === 0 ? "ok" : "timeout";
      assert.equal(r.reason, expected, `${addrs[i]}: ${r.detail}`);
      if (r.reason === "ok") {
        assert.ok(Math.abs((r.offset_ms ?? 0) - 700) < 50, `${r.offset_ms}`);
      } else {
        assert.equal(r.detail, "no reply within 1000 ms");
        assert.equal(r.offset_ms, null);
      }
    });
  });

  it("keeps at most `concurrency` queries in flight", async () => {
    const p = prober({ now: Date.now, concurrency: 2, timeoutMs: 300 });
    const start = quiet.packets;

    const results = await p.probeMany([
      "quiet-a.test",
      "quiet-b.test",
      "quiet-c.test",
      "quiet-d.test",
    ]);
    assert.deepEqual(
      results.map((r) => r.reason),
      ["timeout", "timeout", "timeout", "timeout"],
    );
    const arrivals = quiet.arrivalsMs.slice(start);
    assert.equal(arrivals.length, 4);
    const [first = 0, , third = 0, fourth = 0] = arrivals;
    assert.ok(third - first >= 250, `third query after ${third - first} ms`);
    assert.ok(fourth - first >= 250, `fourth query after ${fourth - first} ms`);
  });
});
