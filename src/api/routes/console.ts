/**
 * The web console: the files Vite builds from web/ into web/dist, served at
 * `/` with @fastify/static. API routes keep precedence (a route of its own
 * always wins over the wildcard, and nothing under /v1/ is ever read from
 * the folder). When the console was not built, `/` answers a plain-text 503
 * that says how to build it. The folder is looked at on every request, so a
 * rebuild needs no restart.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyReply } from "fastify";
import type { App } from "../app.ts";

export interface ConsoleOptions {
  /** The built console; web/dist of this repository by default. */
  distDir?: string;
}

export const DEFAULT_DIST_DIR = path.resolve(
  import.meta.dirname,
  "../../../web/dist",
);

const NOT_BUILT =
  "The web console is not built: run `npm run build:web`, then reload\n";

/** Same-origin only: the console loads nothing from the network. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; " +
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; " +
    "base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

export async function consoleRoutes(
  app: App,
  opts: ConsoleOptions,
): Promise<void> {
  const dist = opts.distDir ?? DEFAULT_DIST_DIR;
  const index = path.join(dist, "index.html");

  app.get("/", { schema: { hide: true } }, (_req, reply) =>
    sendIndex(reply, index),
  );

  await app.register(fastifyStatic, {
    root: dist,
    prefix: "/",
    wildcard: true,
    index: false,
    decorateReply: false,
    dotfiles: "ignore",
    suppressWarning: true,
    cacheControl: false,
    allowedPath: (pathName) => !isApiPath(pathName),
    setHeaders: (reply, file) => {
      reply.headers(SECURITY_HEADERS);
      // Vite names every asset by its content hash; index.html is not.
      const immutable = file.includes(`${path.sep}assets${path.sep}`);
      reply.header(
        "cache-control",
        immutable ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  });
}

function isApiPath(pathName: string): boolean {
  const p = pathName.startsWith("/") ? pathName : `/${pathName}`;
  return p === "/v1" || p.startsWith("/v1/");
}

async function sendIndex(
  reply: FastifyReply,
  index: string,
): Promise<FastifyReply> {
  if (!existsSync(index)) {
    return reply
      .status(503)
      .type("text/plain; charset=utf-8")
      .header("cache-control", "no-store")
      .send(NOT_BUILT);
  }
  const html = await readFile(index, "utf8");
  return reply
    .headers({ ...SECURITY_HEADERS, "cache-control": "no-cache" })
    .type("text/html; charset=utf-8")
    .send(html);
}
