/**
 * Who may call the API. The controller runs without a token only when it
 * listens on loopback; anywhere else every /v1 request must carry the API
 * token as `Authorization: <token>` (as the seed's product does) or
 * `Authorization: Bearer <token>`. Agents' hello uses the cluster token
 * instead, checked by its own route.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { tokenOf, tokensEqual } from "../agent/token.ts";
import { TimeplaneError } from "../errors.ts";

export interface AuthOptions {
  /** The current API token; read on every request, so rotation is live. */
  token: () => string | null;
  /** Require the token on every /v1 request and /metrics. */
  required: boolean;
}

/** Paths that never need the API token. */
const OPEN_PATHS = [
  /^\/v1\/agent\/hello$/,
  /^\/openapi\.json$/,
  /^\/docs(\/|$)/,
];

export function needsToken(url: string): boolean {
  const path = url.split("?")[0] ?? "";
  if (OPEN_PATHS.some((p) => p.test(path))) return false;
  return path.startsWith("/v1/") || path === "/metrics";
}

export function authHook(options: AuthOptions) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    if (!options.required || !needsToken(request.url)) return;
    const expected = options.token();
    const given = tokenOf(request.headers.authorization);
    if (given === null) {
      throw new TimeplaneError("UNAUTHORIZED", {
        why: "send Authorization: Bearer <token>",
      });
    }
    if (!expected || !tokensEqual(given, expected)) {
      request.log.warn({ remote: request.ip }, "request with a wrong token");
      throw new TimeplaneError("UNAUTHORIZED", {
        why: "the token does not match",
      });
    }
  };
}
