/**
 * The agent's HTTP protocol, shared by its server and the controller's
 * client: paths, and how an error travels so that the client can raise the
 * same TimeplaneError the agent raised.
 */
import { ERRORS, type ErrorCode, TimeplaneError } from "../errors.ts";

export const AGENT_PATHS = {
  info: "/agent/v1/info",
  apply: "/agent/v1/apply",
  daemon: "/agent/v1/daemon",
  syncStatus: "/agent/v1/sync-status",
  forceSync: "/agent/v1/force-sync",
  probe: "/agent/v1/probe",
  zones: "/agent/v1/zones",
  countries: "/agent/v1/countries",
  zone: "/agent/v1/zone",
  clock: "/agent/v1/clock",
} as const;

export interface WireError {
  code: string;
  message: string;
  params: Record<string, string | number | boolean | null>;
}

export function toWire(err: unknown): { status: number; error: WireError } {
  if (err instanceof TimeplaneError) {
    return {
      status: err.http,
      error: { code: err.code, message: err.message, params: err.params },
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, error: { code: "AGENT_ERROR", message, params: {} } };
}

export function fromWire(error: WireError): Error {
  if (error.code in ERRORS) {
    return new TimeplaneError(error.code as ErrorCode, error.params);
  }
  return new Error(error.message);
}
