/**
 * The console's client of the controller's REST API, same origin. It sends
 * `Authorization: Bearer <token>` when the user gave a token (kept in
 * sessionStorage, so it goes with the tab). Reads throw an ApiError unless
 * scode is 0; writes return the envelope whatever its scode, since a
 * partial or total failure still carries each node's outcome in data.
 */
import type { Envelope } from "./types.ts";

const TOKEN_KEY = "timeplane.api_token";

export class ApiError extends Error {
  /** The envelope's scode; null when the reply was not an envelope. */
  readonly scode: number | null;
  /** The error's name, such as ROUTE_NOT_FOUND; "" when unknown. */
  readonly desc: string;
  /** HTTP status; null when the controller could not be reached. */
  readonly http: number | null;

  constructor(
    message: string,
    scode: number | null,
    desc: string,
    http: number | null,
  ) {
    super(message);
    this.name = "ApiError";
    this.scode = scode;
    this.desc = desc;
    this.http = http;
  }
}

export interface Reply<T> {
  http: number;
  envelope: Envelope<T>;
}

/** The token as typed, when sessionStorage cannot keep it. */
let memoryToken: string | null = null;

export function getToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    return "";
  }
}

export function setToken(token: string): void {
  try {
    if (token === "") sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage refused (private mode): the token lasts until reload.
  }
  memoryToken = token;
}

function token(): string {
  return (memoryToken ?? getToken()).trim();
}

export function withQuery(
  path: string,
  query: Record<string, string | null | undefined>,
): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== null && v !== undefined && v !== "") params.set(k, v);
  }
  const q = params.toString();
  return q === "" ? path : `${path}?${q}`;
}

export async function request<T>(
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<Reply<T>> {
  const headers: Record<string, string> = { accept: "application/json" };
  const bearer = token();
  if (bearer !== "") headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["content-type"] = "application/json";

  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ApiError(`Cannot reach the controller: ${why}`, null, "", null);
  }

  const envelope = parseEnvelope<T>(await res.text());
  if (envelope === null) {
    const what = `HTTP ${res.status} ${res.statusText}`.trim();
    const why = "the reply is not a timeplane envelope";
    throw new ApiError(`${what} from ${path}: ${why}`, null, "", res.status);
  }
  return { http: res.status, envelope };
}

function parseEnvelope<T>(text: string): Envelope<T> | null {
  try {
    const body = JSON.parse(text) as Partial<Envelope<T>> | null;
    if (body === null || typeof body.scode !== "number") return null;
    return body as Envelope<T>;
  } catch {
    return null;
  }
}

export function envelopeError(reply: Reply<unknown>): ApiError {
  const { envelope, http } = reply;
  return new ApiError(envelope.message, envelope.scode, envelope.desc, http);
}

/** A GET whose data is wanted: anything but scode 0 throws. */
export async function read<T>(
  path: string,
  query: Record<string, string | null | undefined> = {},
): Promise<T> {
  const reply = await request<T>("GET", withQuery(path, query));
  if (reply.envelope.scode !== 0) throw envelopeError(reply);
  return reply.envelope.data;
}

/** A POST; the envelope comes back whatever its scode. */
export function write<T>(path: string, body: unknown): Promise<Reply<T>> {
  return request<T>("POST", path, body);
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const why = err instanceof Error ? err.message : String(err);
  return new ApiError(`The console failed: ${why}`, null, "", null);
}
