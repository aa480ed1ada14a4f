/**
 * The CLI's side of the REST API: one request, its envelope, and the exit
 * code it maps to. A reply that is not a timeplane envelope, or no reply at
 * all, becomes an Unreachable error (exit 5).
 */
import http from "node:http";
import https from "node:https";
import type { Envelope } from "../../api/envelope.ts";
import type { Settings } from "./config.ts";

export type { Envelope } from "../../api/envelope.ts";

export interface Reply<T = unknown> {
  http: number;
  body: Envelope<T>;
}

/** The CLI's exit codes; docs/cli.md and --help table them. */
export const EXIT = {
  ok: 0,
  refused: 1,
  usage: 2,
  partial: 3,
  failed: 4,
  unreachable: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** scodes whose data still holds the per-node detail of a write. */
export const NODE_FAILURE_SCODES = [2001, 2002, 2003];

/** Maps a reply to an exit code: the scode first, then the HTTP status. */
export function exitCodeFor(http: number, scode: number): ExitCode {
  if (scode === 0) return EXIT.ok;
  if (scode === 2001 || scode === 2003) return EXIT.partial;
  if (scode === 2002 || http >= 500) return EXIT.failed;
  if (http >= 400) return EXIT.refused;
  return EXIT.failed;
}

/** No answer, or an answer that is not from a timeplane controller. */
export class Unreachable extends Error {
  constructor(
    readonly server: string,
    why: string,
  ) {
    super(`Cannot reach the controller at ${server}: ${why}`);
    this.name = "Unreachable";
  }
}

/** Longest wait for one reply; a forced sync on many nodes is the slowest. */
const TIMEOUT_MS = 300_000;

export class ApiClient {
  constructor(readonly settings: Settings) {}

  /** `{cluster_uuid}` when a cluster was chosen, else nothing. */
  cluster(): { cluster_uuid?: string } {
    const uuid = this.settings.cluster;
    return uuid === undefined ? {} : { cluster_uuid: uuid };
  }

  get<T>(path: string, query: Record<string, string> = {}): Promise<Reply<T>> {
    const search = new URLSearchParams(query).toString();
    return this.send<T>("GET", search ? `${path}?${search}` : path);
  }

  post<T>(path: string, body: Record<string, unknown>): Promise<Reply<T>> {
    return this.send<T>("POST", path, body);
  }

  private async send<T>(
    method: string,
    path: string,
    body?: Record<string, unknown>,
  ): Promise<Reply<T>> {
    const { server, token } = this.settings;
    const headers: Record<string, string> = { accept: "application/json" };
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(Buffer.byteLength(payload));
    }
    if (token !== undefined) headers.authorization = `Bearer ${token}`;

    const url = new URL(`${server}${path}`);
    const res = await exchange(url, method, headers, payload).catch((err) => {
      throw new Unreachable(server, (err as Error).message);
    });
    return { http: res.status, body: envelopeOf<T>(res, server) };
  }
}

interface RawReply {
  status: number;
  text: string;
}

/**
 * One HTTP exchange with node:http (fetch refuses some ports, such as 1,
 * with a bare "bad port"; node:http says what really happened).
 */
function exchange(
  url: URL,
  method: string,
  headers: Record<string, string>,
  payload: string | undefined,
): Promise<RawReply> {
  const send = url.protocol === "https:" ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = send(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (b: Buffer) => chunks.push(b));
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    req.setTimeout(TIMEOUT_MS, () =>
      req.destroy(new Error(`no reply within ${TIMEOUT_MS / 1000} s`)),
    );
    req.on("error", reject);
    req.end(payload);
  });
}

function envelopeOf<T>(res: RawReply, server: string): Envelope<T> {
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = null;
  }
  if (!isEnvelope(body)) {
    const why = `HTTP ${res.status} reply is not a timeplane envelope`;
    throw new Unreachable(server, why);
  }
  return body as Envelope<T>;
}

function isEnvelope(body: unknown): body is Envelope {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return typeof b.scode === "number" && typeof b.message === "string";
}
