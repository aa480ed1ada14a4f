/**
 * OpenAPI 3, generated from the route schemas: /openapi.json, and Swagger
 * UI at /docs (its assets ship inside the package, so it works offline).
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { VERSION } from "../version.ts";
import type { App } from "./app.ts";

export async function registerOpenApi(app: App): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "timeplane",
        version: VERSION,
        description:
          "Control plane for time on a cluster of Linux servers. Every " +
          "reply is the envelope {scode, desc, message, message_cn, stack, " +
          "data}; scode 0 is success. Error codes: docs/errors.md.",
      },
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer" },
        },
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, () => app.swagger());
}
