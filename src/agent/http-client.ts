/**
 * The agent interface over HTTP: what the controller holds for a remote
 * node. Each call has a deadline; a node that does not answer is an error
 * the caller reports as that node's failure.
 */
import { AGENT_PATHS, fromWire, type WireError } from "./protocol.ts";
import type {
  Agent,
  AgentInfo,
  ApplyResult,
  ClockReading,
  DaemonState,
  DesiredSpec,
  ForceSyncResult,
  ProbeResult,
  SyncStatus,
  ZoneReading,
} from "./types.ts";

export interface HttpAgentOptions {
  /** Base URL of the agent, such as http://127.0.0.11:9991. */
  url: string;
  token: string | null;
  /** Deadline of one request, in milliseconds. */
  timeoutMs?: number;
}

export class HttpAgent implements Agent {
  constructor(private readonly options: HttpAgentOptions) {}

  get url(): string {
    return this.options.url;
  }

  info(): Promise<AgentInfo> {
    return this.call("GET", AGENT_PATHS.info);
  }

  apply(desired: DesiredSpec): Promise<ApplyResult> {
    return this.call("POST", AGENT_PATHS.apply, desired);
  }

  daemonState(): Promise<DaemonState> {
    return this.call("GET", AGENT_PATHS.daemon);
  }

  syncStatus(): Promise<SyncStatus> {
    return this.call("GET", AGENT_PATHS.syncStatus);
  }

  forceSync(): Promise<ForceSyncResult> {
    return this.call("POST", AGENT_PATHS.forceSync, {}, 60_000);
  }

  probe(addrs: string[]): Promise<ProbeResult[]> {
    return this.call("POST", AGENT_PATHS.probe, { addrs });
  }

  listZones(): Promise<string[]> {
    return this.call("GET", AGENT_PATHS.zones);
  }

  listCountries(zone: string): Promise<string[]> {
    const q = new URLSearchParams({ zone }).toString();
    return this.call("GET", `${AGENT_PATHS.countries}?${q}`);
  }

  readZone(): Promise<ZoneReading> {
    return this.call("GET", AGENT_PATHS.zone);
  }

  readClock(): Promise<ClockReading> {
    return this.call("GET", AGENT_PATHS.clock);
  }

  async close(): Promise<void> {}

  private async call<T>(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    timeoutMs = this.options.timeoutMs ?? 15_000,
  ): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.options.token) {
      headers.authorization = `Bearer ${this.options.token}`;
    }
    if (body !== undefined) headers["content-type"] = "application/json";

    let res: Response;
    try {
      res = await fetch(`${this.options.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new Error(`agent ${this.options.url} unreachable: ${reason(err)}`);
    }
    const payload = (await res.json().catch(() => null)) as {
      error?: WireError;
    } | null;
    if (!res.ok) {
      if (payload?.error) throw fromWire(payload.error);
      throw new Error(`agent ${this.options.url} answered HTTP ${res.status}`);
    }
    return payload as T;
  }
}

function reason(err: unknown): string {
  const e = err as {
    name?: string;
    cause?: { code?: string };
    message?: string;
  };
  if (e.name === "TimeoutError") return "no answer in time";
  return e.cause?.code ?? e.message ?? String(err);
}
