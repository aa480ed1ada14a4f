/**
 * Scenario: what a failure tells the client. With --debug an error reply
 * carries the stack; without it `stack` is null. A real internal error
 * (the API token file replaced by a folder, so that a rotation cannot
 * write it) answers INTERNAL with a generic message whose request id is in
 * the controller's log. A node that cannot apply a write (its chrony
 * sources folder replaced by a file) answers ALL_NODES_FAILED with the
 * node's reason. A host failure on a read and a missing zoneinfo tree are
 * refused without naming host paths.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { type Controller, startController } from "../api/controller-fixture.ts";
import { checkEnvelope, type Exchange, send } from "../api/envelope-check.ts";
import { waitFor } from "../helpers/processes.ts";

/** A source where nothing answers; 127.0.0.91 and .92 are other tests'. */
const DEAD = "127.0.0.93";

async function call(
  c: Controller,
  method: string,
  p: string,
  body?: unknown,
): Promise<Exchange> {
  const r = await send(c.url, {
    method,
    path: p,
    query: "",
    contentType: body === undefined ? null : "application/json",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(r, "fetch refused the request");
  return r;
}

/** Asserts the stack rule: a string naming the error class, or null. */
function assertStack(r: Exchange, debug: boolean, name: string): void {
  if (!debug) {
    assert.equal(r.body.stack, null, r.text.slice(0, 300));
    return;
  }
  assert.equal(typeof r.body.stack, "string", r.text.slice(0, 300));
  assert.match(r.body.stack ?? "", new RegExp(`^${name}: `));
  assert.match(r.body.stack ?? "", /\n {4}at /);
}

/** Asserts that nothing of the host's paths reached the client. */
function assertNoHostPath(r: Exchange, c: Controller): void {
  const shown = JSON.stringify({
    message: r.body.message,
    message_cn: r.body.message_cn,
    data: r.body.data,
  });
  assert.ok(!shown.includes(c.dir), `names ${c.dir}: ${shown}`);
  assert.doesNotMatch(shown, /\/(tmp|etc|usr|var|work|root)\//, shown);
}

for (const debug of [true, false]) {
  describe(`error replies ${debug ? "with" : "without"} --debug`, () => {
    let c: Controller;
    const options = (request: string) => ({
      debug,
      request,
      secrets: debug ? [] : [c.dir],
    });

    before(async () => {
      c = await startController({
        zone: "Asia/Tokyo",
        args: debug ? ["--debug"] : [],
      });
    });

    after(async () => {
      await c?.stop();
    });

    it(`a refused request: stack ${debug ? "given" : "null"}`, async () => {
      const r = await call(c, "POST", "/v1/ntp/server/add", { addrs: "x" });
      assert.equal(r.http, 400);
      checkEnvelope(r, options('{"addrs":"x"}'));
      assert.equal(r.body.scode, 1001);
      assertStack(r, debug, "TimeplaneError");
    });

    it(`an unknown route: stack ${debug ? "given" : "null"}`, async () => {
      const r = await call(c, "GET", "/v1/ntp/nothing");
      assert.equal(r.http, 404);
      checkEnvelope(r, options("/v1/ntp/nothing"));
      assert.equal(r.body.scode, 1401);
      assertStack(r, debug, "TimeplaneError");
    });

    it("an internal error answers a generic message", async () => {
      const tokenFile = path.join(c.data, "api-token");
      rmSync(tokenFile, { force: true });
      mkdirSync(path.join(tokenFile, "in-the-way"), { recursive: true });
      try {
        const r = await call(c, "POST", "/v1/auth/token/rotate", {});
        assert.equal(r.http, 500, r.text);
        checkEnvelope(r, options("{}"));
        assert.equal(r.body.scode, 5000);
        assert.equal(r.body.desc, "INTERNAL");
        assert.deepEqual(r.body.data, {});
        const id =
          /^Internal error: see the controller log, request (\S+)$/.exec(
            r.body.message,
          )?.[1];
        assert.ok(id, r.body.message);
        assert.equal(
          r.body.message_cn,
          `内部错误：请查看控制器日志，请求 ${id}`,
        );
        // The log line reaches this process through a pipe, maybe after
        // the reply: wait for it.
        await waitFor(
          () => c.server.output().includes(`"reqId":"${id}"`),
          5_000,
          () => `request ${id} is not in the controller log`,
        );
        assertStack(r, debug, "Error");
        if (!debug) assertNoHostPath(r, c);
      } finally {
        rmSync(tokenFile, { recursive: true, force: true });
      }
    });

    it("a node that cannot apply a write: 503 with its reason", async () => {
      const dir = c.sourcesDir;
      rmSync(dir, { recursive: true, force: true });
      writeFileSync(dir, "not a folder\n");
      try {
        const body = { addrs: [DEAD], force: true };
        const r = await call(c, "POST", "/v1/ntp/server/add", body);
        assert.equal(r.http, 503, r.text);
        checkEnvelope(r, options(JSON.stringify(body)));
        assert.equal(r.body.scode, 2002);
        assert.equal(r.body.desc, "ALL_NODES_FAILED");
        const data = r.body.data as {
          servers: string[];
          status: { addr: string; error: string | null }[];
        };
        assert.deepEqual(data.servers, [DEAD]);
        assert.equal(data.status.length, 1);
        const error = data.status[0]?.error ?? "";
        assert.match(error, /sources\.d/);
        assert.equal(
          r.body.message,
          `All 1 nodes failed: ${data.status[0]?.addr} (${error})`,
        );
        assertStack(r, debug, "TimeplaneError");
        assertNoHostPath(r, c);
      } finally {
        rmSync(dir, { force: true });
        mkdirSync(dir);
      }
    });

    it("a host failure on a read names no host path", async () => {
      const etc = path.join(c.root, "etc");
      rmSync(etc, { recursive: true, force: true });
      writeFileSync(etc, "not a folder\n");
      try {
        const r = await call(c, "GET", "/v1/ntp/zone/country/current");
        assert.ok(r.http >= 500, r.text);
        assert.equal(r.body.scode, 3003, r.text);
        assertStack(r, debug, "TimeplaneError");
        assertNoHostPath(r, c);
      } finally {
        rmSync(etc, { force: true });
        mkdirSync(etc);
      }
    });
  });
}

describe("a missing zoneinfo tree", () => {
  let c: Controller;

  before(async () => {
    c = await startController({
      args: ["--zoneinfo", "/nonexistent-timeplane-zoneinfo"],
    });
  });

  after(async () => {
    await c?.stop();
  });

  for (const p of [
    "/v1/ntp/zone/list",
    "/v1/ntp/zone/country/list?zone=Asia",
  ]) {
    it(`GET ${p}: 503 ZONEINFO_UNAVAILABLE without the path`, async () => {
      const r = await call(c, "GET", p);
      assert.equal(r.http, 503, r.text);
      assert.equal(r.body.scode, 1103, r.text);
      assert.equal(r.body.stack, null);
      assert.ok(
        !r.text.includes("nonexistent-timeplane-zoneinfo"),
        `the reply names the zoneinfo path: ${r.body.message}`,
      );
      assertNoHostPath(r, c);
    });
  }
});
