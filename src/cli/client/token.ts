/** `timeplane token rotate`: a new API token; the old one stops working. */
import type { Command } from "commander";
import { clientCommand, groupCommand, handle } from "./command.ts";
import { keyValues } from "./format.ts";

interface Rotated {
  token: string;
}

export function registerToken(program: Command): void {
  const group = groupCommand(program, "token", "Rotate the API token");
  handle(
    clientCommand(
      group,
      "rotate",
      "Make a new API token; the old one stops working",
    ),
    () => ({
      request: (api) => api.post<Rotated>("/v1/auth/token/rotate", {}),
      render: (data: Rotated) =>
        `${keyValues([["Token", data.token]])}\n` +
        "The controller's api-token file holds it too; update the token in " +
        "your CLI config (--token, TIMEPLANE_API_TOKEN or cli.json)",
    }),
  );
}
