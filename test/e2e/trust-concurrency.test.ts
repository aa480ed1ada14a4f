/**
 * Scenario: concurrent writes to one cluster lose nothing. 200 writers at
 * once: 100 each add a source of their own (127.0.2.1-100, force: true,
 * nothing answers there) then delete it, and 100 set sync_period. The
 * cluster holds at most 32 sources, so some adds are refused while others
 * are in. The outcome must be that of one serial order: the successful
 * writes have the versions initial+1..initial+n, each reply's servers is
 * the replay of the writes before it in version order, the final state is
 * the replay of them all, the audit log says the same, and SQLite's
 * integrity_check says "ok". Then 50 concurrent time zone saves: the one
 * with the highest version is the zone of the host.
 */
import assert from "node:assert/strict";
import { readFileSync, readlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { type Controller, startController } from "../api/controller-fixture.ts";
import { checkEnvelope, type Exchange, send } from "../api/envelope-check.ts";
import { get, post } from "../helpers/api.ts";

/** The upstream chronyd (127.0.0.91 is the fuzz test's, so both can run). */
const LIVE = "127.0.0.92";
const CHAINS = 100;
const PERIOD_WRITERS = 100;
const PERIODS = Array.from({ length: 14 }, (_, i) => 2 ** (i + 4));

interface Write {
  kind: "add" | "delete" | "period";
  addr: string;
  period: number | null;
  reply: Exchange;
}

interface WriteData {
  servers: string[] | null;
  version: number;
  status: { addr: string; error: string | null }[];
}

/** True when the write was saved: success, or saved but failed on nodes. */
function saved(w: Write): boolean {
  return [0, 2001, 2002].includes(w.reply.body.scode);
}

function dataOf(w: Write): WriteData {
  return w.reply.body.data as unknown as WriteData;
}

describe("200 concurrent writes to one cluster", () => {
  let c: Controller;
  let v0: number;
  const writes: Write[] = [];

  before(async () => {
    c = await startController({ upstream: LIVE, zone: "Asia/Tokyo" });
    const r = await post(c.url, "/v1/ntp/server/add", {
      addrs: [LIVE],
      sync_period: 64,
    });
    assert.equal(r.body.scode, 0, JSON.stringify(r.body));
    v0 = (r.body.data as { version: number }).version;
  });

  after(async () => {
    await c?.stop();
  });

  async function write(body: object, p = "/v1/ntp/server/add") {
    const r = await send(c.url, {
      method: "POST",
      path: p,
      query: "",
      contentType: "application/json",
      body: JSON.stringify(body),
    });
    assert.ok(r, "fetch refused the request");
    checkEnvelope(r, { request: JSON.stringify(body), secrets: [c.dir] });
    return r;
  }

  async function chain(i: number): Promise<void> {
    const addr = `127.0.2.${i}`;
    const add = await write({ addrs: [addr], force: true });
    writes.push({ kind: "add", addr, period: null, reply: add });
    const del = await write({ addrs: [addr] }, "/v1/ntp/server/delete");
    writes.push({ kind: "delete", addr, period: null, reply: del });
  }

  async function setPeriod(j: number): Promise<void> {
    const period = PERIODS[j % PERIODS.length] as number;
    const r = await write({ addrs: [LIVE], sync_period: period, force: true });
    writes.push({ kind: "period", addr: LIVE, period, reply: r });
  }

  it("answers every write with a well-formed reply", async () => {
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < Math.max(CHAINS, PERIOD_WRITERS); i++) {
      if (i < CHAINS) jobs.push(chain(i + 1));
      if (i < PERIOD_WRITERS) jobs.push(setPeriod(i));
    }
    await Promise.all(jobs);
    assert.equal(writes.length, 2 * CHAINS + PERIOD_WRITERS);
    const tally = new Map<string, number>();
    for (const w of writes) {
      const key = `${w.kind} ${w.reply.body.scode}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    console.log(`replies: ${JSON.stringify([...tally].sort())}`);

    for (const w of writes) {
      const b = w.reply.body;
      if (saved(w)) {
        const d = dataOf(w);
        assert.ok(Number.isInteger(d.version), JSON.stringify(b));
        assert.equal(d.status.length, 1, JSON.stringify(b));
        continue;
      }
      if (w.kind === "add") {
        assert.equal(b.scode, 1001, JSON.stringify(b));
        assert.match(
          b.message,
          /: the cluster would have 33 sources; the limit is 32$/,
        );
      } else {
        assert.equal(w.kind, "delete", JSON.stringify(b));
        assert.equal(b.scode, 1202, JSON.stringify(b));
        assert.equal(
          b.message,
          `Source ${w.addr} is not configured in cluster ${c.uuid}`,
        );
      }
    }
  });

  it("gives the saved writes the versions initial+1..initial+n", () => {
    const versions = writes
      .filter(saved)
      .map((w) => dataOf(w).version)
      .sort((a, b) => a - b);
    const expected = versions.map((_, k) => v0 + k + 1);
    assert.deepEqual(versions, expected);
    assert.ok(versions.length > PERIOD_WRITERS, `${versions.length} saved`);
  });

  it("saves every period write, and a delete iff its add was saved", () => {
    const periods = writes.filter((w) => w.kind === "period");
    assert.equal(periods.filter(saved).length, PERIOD_WRITERS);
    for (let i = 1; i <= CHAINS; i++) {
      const addr = `127.0.2.${i}`;
      const mine = writes.filter((w) => w.addr === addr);
      const add = mine.find((w) => w.kind === "add");
      const del = mine.find((w) => w.kind === "delete");
      assert.ok(add && del, addr);
      assert.equal(saved(del), saved(add), addr);
      if (saved(add)) {
        assert.ok(dataOf(add).version < dataOf(del).version, addr);
      }
    }
  });

  it("replies with the replay of the writes before, in version order", () => {
    const ordered = writes
      .filter(saved)
      .sort((a, b) => dataOf(a).version - dataOf(b).version);
    let servers = [LIVE];
    let full = false;
    for (const w of ordered) {
      if (w.kind === "delete") servers = servers.filter((s) => s !== w.addr);
      else servers = [...new Set([...servers, w.addr])];
      full ||= servers.length === 32;
      assert.ok(servers.length <= 32, `${servers.length} sources`);
      assert.deepEqual(
        dataOf(w).servers,
        servers,
        `version ${dataOf(w).version}`,
      );
    }
    assert.deepEqual(servers, [LIVE]);
    const refused = writes.some((w) => w.kind === "add" && !saved(w));
    assert.ok(!refused || full, "an add was refused but never 32 sources");
  });

  it("ends in the state of the last writes", async () => {
    const ordered = writes
      .filter((w) => saved(w) && w.kind === "period")
      .sort((a, b) => dataOf(b).version - dataOf(a).version);
    const last = ordered[0];
    assert.ok(last);
    const n = writes.filter(saved).length;

    const list = await get(c.url, "/v1/ntp/server/list");
    assert.deepEqual(list.body.data.addrs, [LIVE]);
    assert.equal(list.body.data.sync_period, last.period);
    const nodes = await get(c.url, "/v1/node/list");
    assert.equal(nodes.body.data.desired_version, v0 + n);

    const log2 = Math.log2(last.period as number);
    const file = path.join(c.sourcesDir, "timeplane.sources");
    const lines = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("server "));
    assert.deepEqual(lines, [
      `server ${LIVE} iburst minpoll ${log2} maxpoll ${log2}`,
    ]);
  });

  it("writes one audit entry per saved write, as the replies say", () => {
    const db = new Database(c.dbFile, { readonly: true, fileMustExist: true });
    try {
      const rows = db
        .prepare(
          "SELECT action, version, detail_json FROM audit_log " +
            "WHERE version > ? ORDER BY version",
        )
        .all(v0) as { action: string; version: number; detail_json: string }[];
      const ordered = writes
        .filter(saved)
        .sort((a, b) => dataOf(a).version - dataOf(b).version);
      assert.equal(rows.length, ordered.length);
      ordered.forEach((w, k) => {
        const row = rows[k];
        assert.ok(row);
        assert.equal(row.version, dataOf(w).version);
        const action = w.kind === "delete" ? "server.delete" : "server.add";
        assert.equal(row.action, action);
        const detail = JSON.parse(row.detail_json) as { addrs: string[] };
        assert.deepEqual(detail.addrs, [w.addr]);
      });
      const check = db.pragma("integrity_check") as {
        integrity_check: string;
      }[];
      assert.deepEqual(check, [{ integrity_check: "ok" }]);
    } finally {
      db.close();
    }
  });

  it("50 concurrent zone saves: the highest version wins", async () => {
    writeFileSync(path.join(c.root, "etc/timezone"), "Asia/Tokyo\n");
    const list = await get<{ list: string[] }>(
      c.url,
      "/v1/ntp/zone/country/list?zone=America",
    );
    const countries = list.body.data.list.slice(0, 50);
    assert.equal(countries.length, 50);

    const replies = await Promise.all(
      countries.map(async (country) => ({
        country,
        reply: await write(
          { zone: "America", country },
          "/v1/ntp/zone/country/save",
        ),
      })),
    );
    for (const { reply } of replies) {
      assert.equal(reply.body.scode, 0, reply.text.slice(0, 300));
    }
    const byVersion = replies
      .map(({ country, reply }) => ({
        country,
        version: (reply.body.data as unknown as WriteData).version,
      }))
      .sort((a, b) => a.version - b.version);
    const before = (await get(c.url, "/v1/node/list")).body.data
      .desired_version as number;
    const first = byVersion[0]?.version ?? 0;
    assert.deepEqual(
      byVersion.map((z) => z.version),
      countries.map((_, k) => first + k),
    );
    assert.equal(before, first + 49);

    const winner = byVersion[49]?.country;
    assert.equal(
      readlinkSync(path.join(c.root, "etc/localtime")),
      `/usr/share/zoneinfo/America/${winner}`,
    );
    assert.equal(
      readFileSync(path.join(c.root, "etc/timezone"), "utf8"),
      `America/${winner}\n`,
    );
    const current = await get(c.url, "/v1/ntp/zone/country/current");
    assert.equal(current.body.data.zone, "America");
    assert.equal(current.body.data.country, winner);
    assert.equal(current.body.data.mismatch, null);

    const db = new Database(c.dbFile, { readonly: true, fileMustExist: true });
    try {
      const check = db.pragma("integrity_check") as {
        integrity_check: string;
      }[];
      assert.deepEqual(check, [{ integrity_check: "ok" }]);
    } finally {
      db.close();
    }
  });
});
