/**
 * The CLI against a stand-in controller on 127.0.0.1 that gives canned
 * replies: a partial failure (exit 3), a controller without the status
 * endpoint (exit 1, "too old"), a reply that is not an envelope (exit 5),
 * and the bearer token taken from the config file.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { removeDir, tempDir } from "../../helpers/processes.ts";
import { cliEnv, runCli, stopAll } from "./run-cli.ts";

interface Canned {
  http: number;
  body: unknown;
}

const envelope = (
  scode: number,
  desc: string,
  message: string,
  data: unknown,
) => ({
  scode,
  desc,
  message,
  message_cn: "",
  stack: null,
  data,
});

const PARTIAL = envelope(
  2001,
  "PARTIAL_FAILURE",
  "1 of 2 nodes failed: 127.0.0.64 (connect ECONNREFUSED 127.0.0.64:9991)",
  {
    servers: ["127.0.0.61"],
    version: 4,
    status: [
      {
        addr: "127.0.0.1",
        loaded: "loaded",
        status: "active",
        time_stamp: 1_700_000_000,
        applied_version: 4,
        rolled_back: false,
        error: null,
      },
      {
        addr: "127.0.0.64",
        loaded: "unknown",
        status: "unreachable",
        time_stamp: 1_700_000_000,
        applied_version: 3,
        rolled_back: false,
        error: "connect ECONNREFUSED 127.0.0.64:9991",
      },
    ],
  },
);

const ROUTES: Record<string, Canned> = {
  "POST /v1/ntp/server/add": { http: 207, body: PARTIAL },
  "GET /v1/ntp/cluster/status": {
    http: 404,
    body: envelope(
      1401,
      "ROUTE_NOT_FOUND",
      "No route GET /v1/ntp/cluster/status",
      {},
    ),
  },
  "GET /v1/node/list": {
    http: 200,
    body: envelope(0, "", "success", {
      list: [],
      total_count: 0,
      desired_version: 1,
    }),
  },
};

describe("timeplane client commands against a stand-in controller", () => {
  let server: http.Server;
  let url: string;
  let dir: string;
  const seen: {
    method: string;
    url: string;
    auth: string | undefined;
    body: string;
  }[] = [];

  before(async () => {
    dir = tempDir("tp-cli-fake-");
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (b: Buffer) => {
        body += b.toString();
      });
      req.on("end", () => {
        seen.push({
          method: req.method ?? "",
          url: req.url ?? "",
          auth: req.headers.authorization,
          body,
        });
        const key = `${req.method} ${(req.url ?? "").split("?")[0]}`;
        const canned = ROUTES[key];
        if (!canned) {
          res.writeHead(200, { "content-type": "text/html" });
          res.end("<html>not timeplane</html>");
          return;
        }
        res.writeHead(canned.http, { "content-type": "application/json" });
        res.end(JSON.stringify(canned.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await stopAll();
    await new Promise((r) => server.close(r));
    removeDir(dir);
  });

  const cli = (args: string[]) => runCli(args, cliEnv(dir));

  it("a partial failure exits 3 and marks the failed node", async () => {
    const r = await cli(["servers", "add", "127.0.0.61", "--server", url]);
    assert.equal(r.code, 3);
    assert.deepEqual(r.stdout.trimEnd().split("\n"), [
      "Sources          127.0.0.61",
      "Desired version  4",
      "NODE        RESULT  APPLIED VERSION  LOADED   STATUS       ROLLED BACK  AT (UTC)              ERROR",
      "127.0.0.1   ok      4                loaded   active       no           2023-11-14T22:13:20Z  -",
      "127.0.0.64  FAILED  3                unknown  unreachable  no           2023-11-14T22:13:20Z  connect ECONNREFUSED 127.0.0.64:9991",
    ]);
    assert.deepEqual(r.stderr.split("\n"), [
      "timeplane: 1 of 2 nodes failed: 127.0.0.64 (connect ECONNREFUSED 127.0.0.64:9991)",
      "  scode 2001 (PARTIAL_FAILURE)",
      "  next: the failed nodes retry on their own; follow with `timeplane nodes`",
      "",
    ]);
    const sent = seen.find((s) => s.method === "POST");
    assert.deepEqual(JSON.parse(sent?.body ?? "null"), {
      addrs: ["127.0.0.61"],
    });
  });

  it("--json on a partial failure prints the whole envelope", async () => {
    const r = await cli([
      "servers",
      "add",
      "127.0.0.61",
      "--json",
      "--server",
      url,
    ]);
    assert.equal(r.code, 3);
    assert.deepEqual(JSON.parse(r.stdout), PARTIAL);
  });

  it("status on a controller without the endpoint says it is too old", async () => {
    const r = await cli(["status", "--server", url]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.deepEqual(r.stderr.split("\n"), [
      `timeplane: The controller at ${url} is too old for \`timeplane status\`: it has no GET /v1/ntp/cluster/status`,
      "  scode 1401 (ROUTE_NOT_FOUND)",
      "  next: upgrade the controller; meanwhile see `timeplane nodes` and `timeplane servers list`",
      "",
    ]);
  });

  it("a reply that is not an envelope exits 5", async () => {
    const r = await cli(["time", "--server", url]);
    assert.equal(r.code, 5);
    assert.match(
      r.stderr,
      new RegExp(
        `^timeplane: Cannot reach the controller at ${url}: HTTP 200 reply is not a timeplane envelope\\n`,
      ),
    );
  });

  it("sends the config file's token and cluster", async () => {
    const file = path.join(dir, "cli.json");
    const cluster = "11111111-1111-4111-8111-111111111111";
    writeFileSync(
      file,
      JSON.stringify({ server: url, token: "s3cret", cluster }),
    );
    seen.length = 0;
    const r = await cli([
      "servers",
      "add",
      "127.0.0.61",
      "--period",
      "128",
      "--force",
      "--config",
      file,
    ]);
    assert.equal(r.code, 3);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.auth, "Bearer s3cret");
    assert.deepEqual(JSON.parse(seen[0]?.body ?? "null"), {
      addrs: ["127.0.0.61"],
      sync_period: 128,
      force: true,
      cluster_uuid: cluster,
    });
  });
});
