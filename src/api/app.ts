/**
 * The Fastify application: the envelope on every reply, errors mapped to
 * timeplane's codes, and one route module per resource.
 */
import rateLimit from "@fastify/rate-limit";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Logger } from "pino";
import type { HealthMonitor } from "../cluster/health.ts";
import type { Membership } from "../cluster/membership.ts";
import type { ClusterService } from "../cluster/service.ts";
import { TimeplaneError } from "../errors.ts";
import { type AuthOptions, authHook } from "./auth.ts";
import { failure, isTimeplaneError } from "./envelope.ts";
import { toTimeplaneError } from "./errors-map.ts";
import { type Metrics, metricsRoutes } from "./metrics.ts";
import { registerOpenApi } from "./openapi.ts";
import { agentHelloRoutes } from "./routes/agent-hello.ts";
import { authRoutes } from "./routes/auth.ts";
import { clusterRoutes } from "./routes/cluster.ts";
import { clusterStatusRoutes } from "./routes/cluster-status.ts";
import { consoleRoutes } from "./routes/console.ts";
import { ntpServerRoutes } from "./routes/ntp-server.ts";
import { ntpSystemRoutes } from "./routes/ntp-system.ts";
import { ntpZoneRoutes } from "./routes/ntp-zone.ts";

export interface AppOptions {
  service: ClusterService;
  membership: Membership;
  /** Asks the reconcile loop to retry a node at once. */
  nudge: (nodeId: number) => void;
  logger: Logger;
  /** Put stack traces in error envelopes. */
  debug?: boolean;
  /** Largest request body, in bytes. */
  bodyLimit?: number;
  auth: AuthOptions;
  /** Makes, stores and returns a new API token. */
  rotateToken: () => Promise<string>;
  /** Most requests per client per minute; 0 turns the limit off. */
  rateLimitPerMinute?: number;
  health: HealthMonitor;
  metrics: Metrics;
}

export type App = FastifyInstance<
  import("node:http").Server,
  import("node:http").IncomingMessage,
  import("node:http").ServerResponse,
  Logger,
  TypeBoxTypeProvider
>;

export async function buildApp(options: AppOptions): Promise<App> {
  const debug = options.debug ?? false;
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        allErrors: false,
      },
    },
    // A URL that cannot be decoded never reaches routing: answer it here,
    // in the envelope, as an unknown route.
    frameworkErrors: (err, request, reply) => {
      const req = request as unknown as FastifyRequest;
      const known = mapSafely(err, req) ?? internal(req);
      (reply as unknown as FastifyReply)
        .status(known.http)
        .send(failure(known, debug));
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  // JSON only: a text/plain body is refused with 415, not parsed as a string.
  app.removeContentTypeParser("text/plain");

  app.setErrorHandler((err: FastifyError, request, reply) =>
    sendError(err, request, reply, debug),
  );
  app.setNotFoundHandler((request, reply) =>
    notFound(app, request, reply, debug),
  );

  const perMinute = options.rateLimitPerMinute ?? 1200;
  if (perMinute > 0) {
    await app.register(rateLimit, {
      max: perMinute,
      timeWindow: 60_000,
      errorResponseBuilder: (_req, context) =>
        new TimeplaneError("RATE_LIMITED", {
          retry_after_s: Math.ceil(context.ttl / 1000),
        }),
    });
  }
  app.addHook("onRequest", authHook(options.auth));
  await registerOpenApi(app);

  await app.register(ntpServerRoutes, {
    service: options.service,
    health: options.health,
  });
  await app.register(ntpZoneRoutes, { service: options.service });
  await app.register(ntpSystemRoutes, { service: options.service });
  await app.register(clusterRoutes, {
    service: options.service,
    membership: options.membership,
  });
  await app.register(agentHelloRoutes, {
    service: options.service,
    nudge: options.nudge,
  });
  await app.register(authRoutes, { rotate: options.rotateToken });
  await app.register(clusterStatusRoutes, {
    service: options.service,
    health: options.health,
  });
  await app.register(metricsRoutes, { metrics: options.metrics });
  await app.register(consoleRoutes);
  return app;
}

function sendError(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  debug: boolean,
): FastifyReply {
  const known = isTimeplaneError(err) ? err : mapSafely(err, request);
  if (known) {
    if (known.http >= 500) request.log.error({ err: known }, "request failed");
    else
      request.log.info(
        { scode: known.scode, msg: known.message },
        "request refused",
      );
    return reply.status(known.http).send(failure(known, debug));
  }

  request.log.error({ err }, "internal error");
  const internal = new TimeplaneError("INTERNAL", { request_id: request.id });
  const body = failure(internal, debug);
  if (debug) body.stack = err.stack ?? null;
  return reply.status(500).send(body);
}

function internal(request: FastifyRequest): TimeplaneError {
  return new TimeplaneError("INTERNAL", { request_id: request.id });
}

/** Maps a framework error; a mapping that itself fails is an internal error. */
function mapSafely(
  err: FastifyError,
  request: FastifyRequest,
): TimeplaneError | null {
  try {
    return toTimeplaneError(err, request);
  } catch (mapErr) {
    request.log.error({ err: mapErr }, "error mapping failed");
    return null;
  }
}

function notFound(
  app: App,
  request: FastifyRequest,
  reply: FastifyReply,
  debug: boolean,
): FastifyReply {
  const url = request.url.split("?")[0] ?? "";
  const allowed = (["GET", "POST", "PUT", "DELETE", "PATCH"] as const).filter(
    (method) => hasRoute(app, url, method),
  );
  const err =
    allowed.length > 0
      ? new TimeplaneError("METHOD_NOT_ALLOWED", {
          method: request.method,
          value: url,
          allowed: allowed.join(", "),
        })
      : new TimeplaneError("ROUTE_NOT_FOUND", {
          method: request.method,
          value: url.slice(0, 200),
        });
  if (allowed.length > 0) reply.header("allow", allowed.join(", "));
  return reply.status(err.http).send(failure(err, debug));
}

/** hasRoute reads its url as a pattern; a url with `*` or `:(` throws. */
function hasRoute(
  app: App,
  url: string,
  method: "GET" | "POST" | "PUT" | "DELETE" | "PATCH",
): boolean {
  try {
    return app.hasRoute({ url, method });
  } catch {
    return false;
  }
}
