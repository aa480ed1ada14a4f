/**
 * What every reply of the controller must be, whatever was asked: JSON in
 * the six-key envelope; on success scode 0; otherwise a code of
 * src/errors.ts with its own name and HTTP status, non-empty English and
 * Chinese messages, a stack only in debug mode, and no host path or host
 * file content that the request did not bring itself.
 */
import assert from "node:assert/strict";
import { ERRORS, type ErrorDef } from "../../src/errors.ts";
import { ENVELOPE_KEYS } from "../helpers/api.ts";

export interface Envelope {
  scode: number;
  desc: string;
  message: string;
  message_cn: string;
  stack: string | null;
  data: Record<string, unknown>;
}

export interface Exchange {
  http: number;
  contentType: string | null;
  allow: string | null;
  text: string;
  body: Envelope;
}

/** One raw request, as a fuzzer builds it. */
export interface RawRequest {
  method: string;
  path: string;
  /** Without the "?"; "" for none. */
  query: string;
  /** null sends no content-type header. */
  contentType: string | null;
  body?: string;
}

/** Sends a raw request; null when fetch refuses to build it. */
export async function send(
  base: string,
  req: RawRequest,
): Promise<Exchange | null> {
  const headers: Record<string, string> = {};
  if (req.contentType !== null) headers["content-type"] = req.contentType;
  const url = `${base}${req.path}${req.query === "" ? "" : `?${req.query}`}`;
  let res: Response;
  try {
    res = await fetch(url, { method: req.method, headers, body: req.body });
  } catch (err) {
    if (err instanceof TypeError && !(err.cause instanceof Error)) {
      return null;
    }
    throw err;
  }
  const text = await res.text();
  let body: Envelope;
  try {
    body = JSON.parse(text) as Envelope;
  } catch {
    assert.fail(`HTTP ${res.status}, not JSON: ${text.slice(0, 300)}`);
  }
  return {
    http: res.status,
    contentType: res.headers.get("content-type"),
    allow: res.headers.get("allow"),
    text,
    body,
  };
}

export function errorDef(scode: number): [string, ErrorDef] | undefined {
  return (Object.entries(ERRORS) as [string, ErrorDef][]).find(
    ([, def]) => def.scode === scode,
  );
}

/** Strings that must never reach a client unless it sent them itself. */
export const LEAK_MARKERS = [
  "/tmp/",
  "/etc/",
  "/usr/",
  "/work/",
  "/root/",
  "/var/",
  "/proc/",
  "node_modules",
  ".ts:",
  "TZif",
  "root:x:",
  "Managed by timeplane",
  "bindcmdaddress",
  "driftfile",
  "    at ",
];

export interface CheckOptions {
  /** The controller runs with --debug. */
  debug?: boolean;
  /** Everything the request carried: path, query, body. */
  request?: string;
  /** Strings that may never appear anywhere in a reply: the temp folder. */
  secrets?: string[];
}

/** Asserts the envelope rules on one reply; returns its scode. */
export function checkEnvelope(r: Exchange, o: CheckOptions = {}): number {
  const b = r.body;
  const where = `HTTP ${r.http} ${r.text.slice(0, 400)}`;
  assert.match(r.contentType ?? "", /^application\/json/, where);
  assert.equal(typeof b, "object", where);
  assert.notEqual(b, null, where);
  assert.deepEqual(Object.keys(b).sort(), ENVELOPE_KEYS, where);
  assert.ok(Number.isInteger(b.scode), where);
  assert.equal(typeof b.message, "string", where);
  assert.equal(typeof b.message_cn, "string", where);
  assert.ok(b.message.length > 0, where);
  assert.ok(b.message_cn.length > 0, where);

  for (const secret of o.secrets ?? []) {
    assert.ok(!r.text.includes(secret), `reply names ${secret}: ${where}`);
  }
  if (b.scode === 0) {
    assert.equal(r.http, 200, where);
    assert.equal(b.desc, "", where);
    assert.equal(b.message, "success", where);
    assert.equal(b.stack, null, where);
    return 0;
  }

  const def = errorDef(b.scode);
  assert.ok(def, `scode ${b.scode} is not in src/errors.ts: ${where}`);
  assert.equal(b.desc, def[0], where);
  assert.equal(r.http, def[1].http, where);
  assert.equal(typeof b.data, "object", where);
  assert.ok(b.data !== null && !Array.isArray(b.data), where);
  if (o.debug) assert.equal(typeof b.stack, "string", where);
  else assert.equal(b.stack, null, where);
  checkNoLeak(b, o.request ?? "", where);
  return b.scode;
}

function checkNoLeak(b: Envelope, request: string, where: string): void {
  const sent = `${request}\n${safeDecode(request)}`;
  for (const text of [b.message, b.message_cn]) {
    for (const marker of LEAK_MARKERS) {
      if (!text.includes(marker)) continue;
      assert.ok(
        sent.includes(marker),
        `message holds ${JSON.stringify(marker)} the request did not ` +
          `send: ${where}`,
      );
    }
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}
