/**
 * Scenario: who may call the controller. Bound to a non-loopback address
 * (0.0.0.0; the test still connects over 127.0.0.1), every /v1 request
 * needs the API token, as `Authorization: <token>` or `Bearer <token>`;
 * the token file is mode 0600, survives a restart and can be rotated. On
 * loopback no token is needed. The API is rate-limited.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ENVELOPE_KEYS, get, post } from "../helpers/api.ts";
import {
  removeDir,
  type Server,
  startServer,
  tempDir,
} from "../helpers/processes.ts";

describe("authentication and rate limits", () => {
  let dir: string;
  let server: Server;
  let base: string;
  const data = () => path.join(dir, "data");
  const tokenFile = () => path.join(data(), "api-token");
  const token = () => readFileSync(tokenFile(), "utf8").trim();

  const args = (listen: string, extra: string[] = []) => [
    "--listen",
    listen,
    "--data",
    data(),
    "--host-root",
    path.join(dir, "root"),
    "--chrony-mode",
    "supervised",
    ...extra,
  ];

  async function stopServer(): Promise<void> {
    await server?.stop();
  }

  async function restart(listen: string, extra: string[] = []): Promise<void> {
    await stopServer();
    server = await startServer(args(listen, extra));
    base = server.url.replace("0.0.0.0", "127.0.0.1");
  }

  before(async () => {
    dir = tempDir();
    mkdirSync(path.join(dir, "root/etc"), { recursive: true });
    server = await startServer(args("0.0.0.0:0"));
    base = server.url.replace("0.0.0.0", "127.0.0.1");
  });

  after(async () => {
    await stopServer();
    removeDir(dir);
  });

  it("refuses a request without a token, in the envelope", async () => {
    const r = await get(base, "/v1/ntp/zone/list");
    assert.equal(r.http, 401);
    assert.deepEqual(Object.keys(r.body).sort(), ENVELOPE_KEYS);
    assert.equal(r.body.scode, 1501);
    assert.equal(r.body.desc, "UNAUTHORIZED");
    assert.equal(r.body.data && Object.keys(r.body.data).length, 0);
  });

  it("refuses a wrong token", async () => {
    const r = await get(base, "/v1/ntp/zone/list", {
      authorization: "Bearer nope",
    });
    assert.equal(r.http, 401);
    assert.match(r.body.message, /does not match/);
  });

  it("takes the token bare or as Bearer", async () => {
    const bare = await get(base, "/v1/ntp/zone/list", {
      authorization: token(),
    });
    assert.equal(bare.http, 200);
    const bearer = await get(base, "/v1/ntp/zone/list", {
      authorization: `Bearer ${token()}`,
    });
    assert.equal(bearer.http, 200);
    assert.equal(bearer.body.scode, 0);
  });

  it("keeps the token file private and across restarts", async () => {
    assert.equal(statSync(tokenFile()).mode & 0o777, 0o600);
    const before = token();
    await restart("0.0.0.0:0");
    assert.equal(token(), before);
    const r = await get(base, "/v1/ntp/zone/list", {
      authorization: `Bearer ${before}`,
    });
    assert.equal(r.http, 200);
  });

  it("rotates the token: the old one stops working", async () => {
    const old = token();
    const r = await post(
      base,
      "/v1/auth/token/rotate",
      {},
      { authorization: `Bearer ${old}` },
    );
    assert.equal(r.http, 200, JSON.stringify(r.body));
    const fresh = r.body.data.token as string;
    assert.notEqual(fresh, old);
    assert.equal(token(), fresh);
    const stale = await get(base, "/v1/ntp/zone/list", {
      authorization: `Bearer ${old}`,
    });
    assert.equal(stale.http, 401);
    const ok = await get(base, "/v1/ntp/zone/list", {
      authorization: `Bearer ${fresh}`,
    });
    assert.equal(ok.http, 200);
  });

  it("leaves the API description open", async () => {
    const res = await fetch(`${base}/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    assert.match(doc.openapi, /^3\./);
    assert.ok("/v1/ntp/server/add" in doc.paths);
  });

  it("needs no token on loopback", async () => {
    await restart("127.0.0.1:0");
    const r = await get(base, "/v1/ntp/zone/list");
    assert.equal(r.http, 200);
  });

  it("answers 429 in the envelope past the rate limit", async () => {
    await restart("127.0.0.1:0", ["--rate-limit", "5"]);
    const codes: number[] = [];
    for (let i = 0; i < 7; i++)
      codes.push((await get(base, "/v1/ntp/zone/list")).http);
    assert.deepEqual(codes, [200, 200, 200, 200, 200, 429, 429]);
    const r = await get(base, "/v1/ntp/zone/list");
    assert.equal(r.body.scode, 1503);
    assert.deepEqual(Object.keys(r.body).sort(), ENVELOPE_KEYS);
    assert.match(r.body.message, /^Too many requests: retry after \d+ s$/);
  });
});
