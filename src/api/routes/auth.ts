/** Rotating the controller's API token. */
import type { App } from "../app.ts";
import { success } from "../envelope.ts";

export async function authRoutes(
  app: App,
  opts: { rotate: () => Promise<string> },
): Promise<void> {
  app.post("/v1/auth/token/rotate", async () => {
    const token = await opts.rotate();
    app.log.info("api token rotated");
    return success({ token });
  });
}
