/**
 * The agent's own HTTP server: the agent interface over HTTP for the
 * controller. Every request must carry the cluster token; the comparison is
 * constant time.
 */
import Fastify, { type FastifyError } from "fastify";
import type { Logger } from "pino";
import { AGENT_PATHS, toWire } from "./protocol.ts";
import { tokenOf, tokensEqual } from "./token.ts";
import type { Agent, DesiredSpec } from "./types.ts";

export interface AgentServerOptions {
  agent: Agent;
  logger: Logger;
  /** The cluster token, required on every request. */
  token: string;
}

export function buildAgentServer(options: AgentServerOptions) {
  const { agent, token } = options;
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: 64 * 1024,
  });

  app.addHook("onRequest", async (req, reply) => {
    const given = tokenOf(req.headers.authorization);
    if (given === null || !tokensEqual(given, token)) {
      req.log.warn({ remote: req.ip }, "agent request with a wrong token");
      return reply.status(401).send({
        error: {
          code: "UNAUTHORIZED",
          message:
            "Missing or invalid token: the agent needs the cluster token",
          params: { why: "the agent needs the cluster token" },
        },
      });
    }
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const wire = toWire(err);
    const status =
      err.statusCode && err.statusCode < 500 ? err.statusCode : wire.status;
    if (status >= 500) req.log.error({ err }, "agent operation failed");
    return reply.status(status).send({ error: wire.error });
  });

  app.get(AGENT_PATHS.info, () => agent.info());
  app.post<{ Body: DesiredSpec }>(AGENT_PATHS.apply, (req) =>
    agent.apply(req.body),
  );
  app.get(AGENT_PATHS.daemon, () => agent.daemonState());
  app.get(AGENT_PATHS.syncStatus, () => agent.syncStatus());
  app.post(AGENT_PATHS.forceSync, () => agent.forceSync());
  app.post<{ Body: { addrs: string[] } }>(AGENT_PATHS.probe, (req) =>
    agent.probe(req.body.addrs),
  );
  app.get(AGENT_PATHS.zones, () => agent.listZones());
  app.get<{ Querystring: { zone: string } }>(AGENT_PATHS.countries, (req) =>
    agent.listCountries(req.query.zone),
  );
  app.get(AGENT_PATHS.zone, () => agent.readZone());
  app.get(AGENT_PATHS.clock, () => agent.readClock());
  return app;
}
