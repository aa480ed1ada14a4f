/** A small client of the controller's REST API for tests. */

export interface Reply<T = Record<string, unknown>> {
  http: number;
  body: {
    scode: number;
    desc: string;
    message: string;
    message_cn: string;
    stack: string | null;
    data: T;
  };
}

export async function get<T = Record<string, unknown>>(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Reply<T>> {
  const res = await fetch(`${base}${path}`, { headers });
  return { http: res.status, body: (await res.json()) as Reply<T>["body"] };
}

export async function post<T = Record<string, unknown>>(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Reply<T>> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { http: res.status, body: (await res.json()) as Reply<T>["body"] };
}

/** Asserts the envelope's six keys and nothing else. */
export function envelopeKeys(body: object): string[] {
  return Object.keys(body).sort();
}

export const ENVELOPE_KEYS = [
  "data",
  "desc",
  "message",
  "message_cn",
  "scode",
  "stack",
];
