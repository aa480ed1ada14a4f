/**
 * The console plugin on its own Fastify app: a plain-text 503 while the
 * console is not built, the built files once they are (picked up without a
 * restart), API routes first, and nothing under /v1/ or any dotfile ever
 * read from the folder.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import Fastify from "fastify";
import type { App } from "../../src/api/app.ts";
import { consoleRoutes } from "../../src/api/routes/console.ts";
import { removeDir, tempDir } from "../helpers/processes.ts";

const INDEX = "<!doctype html><title>t</title><div id=app></div>\n";
const SCRIPT = "console.log('console asset');\n";

async function appFor(distDir: string): Promise<App> {
  const app = Fastify() as unknown as App;
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ scode: 1401, message: `No route ${req.url}` }),
  );
  app.get("/v1/ping", () => ({ scode: 0, data: "pong" }));
  await app.register(consoleRoutes, { distDir });
  await app.ready();
  return app;
}

describe("console plugin", () => {
  let dir: string;
  let dist: string;
  let app: App;

  before(async () => {
    dir = tempDir("tp-web-");
    dist = path.join(dir, "dist");
    app = await appFor(dist);
  });

  after(async () => {
    await app?.close();
    removeDir(dir);
  });

  it("answers / with a plain-text 503 while web/dist is missing", async () => {
    const r = await app.inject({ method: "GET", url: "/" });
    assert.equal(r.statusCode, 503);
    assert.equal(r.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(
      r.body,
      "The web console is not built: run `npm run build:web`, then reload\n",
    );
  });

  it("leaves API routes alone while web/dist is missing", async () => {
    const r = await app.inject({ method: "GET", url: "/v1/ping" });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { scode: 0, data: "pong" });

    const missing = await app.inject({ method: "GET", url: "/app.js" });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), {
      scode: 1401,
      message: "No route /app.js",
    });
  });

  it("serves index.html at / once built, with no restart", async () => {
    mkdirSync(path.join(dist, "assets"), { recursive: true });
    mkdirSync(path.join(dist, "v1"), { recursive: true });
    writeFileSync(path.join(dist, "index.html"), INDEX);
    writeFileSync(path.join(dist, "assets/index-abc123.js"), SCRIPT);
    writeFileSync(path.join(dist, "v1/ping"), "from the folder");
    writeFileSync(path.join(dist, "v1/secret.txt"), "from the folder");
    writeFileSync(path.join(dist, ".env"), "TOKEN=x");

    const r = await app.inject({ method: "GET", url: "/" });
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, INDEX);
    assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(r.headers["cache-control"], "no-cache");
    assert.match(
      String(r.headers["content-security-policy"]),
      /^default-src 'self'; .*script-src 'self'; connect-src 'self'/,
    );

    const head = await app.inject({ method: "HEAD", url: "/" });
    assert.equal(head.statusCode, 200);
  });

  it("serves hashed assets as immutable", async () => {
    const r = await app.inject({
      method: "GET",
      url: "/assets/index-abc123.js",
    });
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, SCRIPT);
    assert.equal(
      r.headers["content-type"],
      "application/javascript; charset=utf-8",
    );
    assert.equal(
      r.headers["cache-control"],
      "public, max-age=31536000, immutable",
    );
    assert.equal(r.headers["x-content-type-options"], "nosniff");
  });

  it("never serves /v1/ from the folder: the route or a 404", async () => {
    const ping = await app.inject({ method: "GET", url: "/v1/ping" });
    assert.deepEqual(ping.json(), { scode: 0, data: "pong" });

    const secret = await app.inject({ method: "GET", url: "/v1/secret.txt" });
    assert.equal(secret.statusCode, 404);
    assert.deepEqual(secret.json(), {
      scode: 1401,
      message: "No route /v1/secret.txt",
    });
  });

  it("does not serve dotfiles", async () => {
    const r = await app.inject({ method: "GET", url: "/.env" });
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().scode, 1401);
  });
});
