/**
 * Scenario: property-based fuzzing of every endpoint of a real controller.
 * For each endpoint fast-check sends arbitrary JSON values, objects with
 * the endpoint's real field names and arbitrary values (control
 * characters, huge numbers, nested lists), invalid JSON text, wrong content
 * types and arbitrary query strings. Every reply must be a well-formed
 * envelope below HTTP 500 that leaks no host path, and the state (sources,
 * poll interval, zone, nodes, clusters, chrony's files, /etc/localtime, the
 * store) must be byte-identical after every request that was not a valid
 * write. Valid writes and anything that could reach the network beyond
 * this test's addresses (127.0.0.91 and 127.0.0.94-99) are never sent.
 * Replay a failure with TRUST_FUZZ_SEED=<seed printed by fast-check>;
 * TRUST_FUZZ_RUNS sets the runs per property (200).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import fc from "fast-check";
import { validateZoneName } from "../../src/host/zoneinfo.ts";
import {
  normaliseAddress,
  normaliseAddressList,
} from "../../src/ntp/address.ts";
import { type Controller, startController } from "../api/controller-fixture.ts";
import {
  checkEnvelope,
  type Exchange,
  type RawRequest,
  send,
} from "../api/envelope-check.ts";
import { get, post } from "../helpers/api.ts";

/** The upstream chronyd; 127.0.0.92 and .93 belong to the other trust tests. */
const LIVE = "127.0.0.91";
/** Where nothing answers: a source there is refused without force. */
const DEAD = Array.from({ length: 6 }, (_, i) => `127.0.0.${94 + i}`);
/** This test's addresses: the only ones a request may name validly. */
const MINE = [LIVE, ...DEAD];
const RUNS = Number(process.env.TRUST_FUZZ_RUNS ?? 200);
const SEED = process.env.TRUST_FUZZ_SEED
  ? Number(process.env.TRUST_FUZZ_SEED)
  : undefined;

interface Endpoint {
  method: "GET" | "POST";
  path: string;
  fields: string[];
  /** A valid request changes the desired state or membership. */
  write: boolean;
}

const ENDPOINTS: Endpoint[] = [
  reader("/v1/ntp/server/list", ["cluster_uuid"]),
  reader("/v1/ntp/zone/list", ["cluster_uuid"]),
  reader("/v1/ntp/zone/country/list", ["zone", "cluster_uuid"]),
  reader("/v1/ntp/zone/country/current", ["cluster_uuid"]),
  reader("/v1/ntp/system/current/time", ["cluster_uuid"]),
  reader("/v1/ntp/cluster/status", ["cluster_uuid"]),
  reader("/v1/cluster/list", []),
  reader("/v1/node/list", ["cluster_uuid"]),
  writer("/v1/ntp/server/add", [
    "addrs",
    "sync_period",
    "cluster_uuid",
    "force",
  ]),
  writer("/v1/ntp/server/delete", ["addrs", "cluster_uuid"]),
  writer("/v1/ntp/zone/country/save", ["zone", "country", "cluster_uuid"]),
  writer("/v1/ntp/force/time/sync", ["cluster_uuid"]),
  writer("/v1/cluster/create", ["name"]),
  writer("/v1/cluster/delete", ["cluster_uuid"]),
  writer("/v1/node/add", ["addr", "port", "cluster_uuid"]),
  writer("/v1/node/delete", ["addr", "port", "cluster_uuid"]),
  {
    method: "POST",
    path: "/v1/agent/hello",
    fields: ["cluster_uuid", "addr", "port", "applied_version"],
    write: false,
  },
];

function reader(p: string, fields: string[]): Endpoint {
  return { method: "GET", path: p, fields, write: false };
}

function writer(p: string, fields: string[]): Endpoint {
  return { method: "POST", path: p, fields, write: true };
}

/** Content types that are not JSON: always 415, scode 1005. */
const NOT_JSON = [
  "text/plain",
  "text/plain; charset=utf-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=xyz",
  "application/xml",
  "text/html",
  "application/octet-stream",
  "application/jsonx",
  "application/json-seq",
  "image/png",
];

/** Content types that may or may not be taken as JSON. */
const ODD_TYPES = [
  "application/json; charset=utf-8",
  "application/json; charset=latin1",
  "application/json; charset=utf-16",
  "APPLICATION/JSON",
  "application/json;",
  "application/json, text/plain",
  "application/merge-patch+json",
  "application/problem+json",
  "*/*",
  "",
];

// ---------------------------------------------------------------------------
// Values

const CONTROL_UNIT = fc.constantFrom(
  "\n",
  "\r",
  "\t",
  "\0",
  "\u0007",
  "\u001b",
  "\u007f",
  "\u0085",
  "\u2028",
  "\u202e",
  "\ufeff",
  "\ud800",
  " ",
  "a",
  "1",
  ".",
  "/",
  ":",
  "%",
  "\\",
  '"',
);

const NASTY_STRINGS = [
  "",
  " ",
  "null",
  "undefined",
  "NaN",
  "__proto__",
  "constructor",
  "prototype",
  "../../../../etc/passwd",
  "/etc/passwd",
  "/usr/share/zoneinfo/Europe/Paris",
  "%00",
  "%2e%2e%2f",
  ["$", "{HOME}"].join(""),
  "$(id)",
  "`id`",
  "; rm -rf /",
  "a\nserver 127.0.0.99",
  "cmdallow all",
  "x".repeat(300),
];

const strings = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: CONTROL_UNIT, maxLength: 40 }),
  fc.string({ minLength: 200, maxLength: 3000 }),
  fc.constantFrom(...NASTY_STRINGS),
);

const numbers = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    0,
    -0,
    -1,
    1e308,
    -1e308,
    2 ** 53,
    2 ** 53 + 2,
    1e21,
    16,
    64,
    131072,
    262144,
    8,
    60,
    0.5,
    64.000001,
  ),
);

/** A value wrapped in 1 to 60 lists. */
const nestedLists = fc
  .tuple(fc.integer({ min: 1, max: 60 }), fc.constantFrom("x", 1, null, LIVE))
  .map(([depth, leaf]) => {
    let v: unknown = leaf;
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  });

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  strings,
  numbers,
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  nestedLists,
  fc.array(strings, { maxLength: 40 }),
  fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
);

/** Mostly near-valid values, sometimes anything. */
function mostly(...near: unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...near) },
    { weight: 1, arbitrary: strings },
    { weight: 1, arbitrary: anyValue },
  );
}

function fieldValues(uuid: string): Record<string, fc.Arbitrary<unknown>> {
  const addrEntry = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...MINE) },
    {
      weight: 3,
      arbitrary: mostly(
        `${LIVE} iburst`,
        `${LIVE}\nallow all`,
        `${LIVE}\r\n`,
        "127.0.0.091",
        "127.0.0.256",
        "127.1",
        "0x7f.0.0.1",
        "::1%lo",
        "[::1]",
        "-",
        "--",
        "localhost..",
        "a".repeat(254),
        "ntp_1.invalid",
        "ＡＢＣ",
        `${LIVE}/32`,
        `${LIVE}:123`,
      ),
    },
  );
  return {
    cluster_uuid: fc.oneof(
      mostly(
        uuid,
        uuid,
        "",
        uuid.toUpperCase(),
        ` ${uuid}`,
        `${uuid}\n`,
        `${uuid}x`,
        "x".repeat(65),
      ),
      fc.uuid(),
    ),
    addrs: fc.oneof(
      { weight: 4, arbitrary: fc.array(addrEntry, { maxLength: 4 }) },
      {
        weight: 1,
        arbitrary: fc.array(addrEntry, { minLength: 30, maxLength: 40 }),
      },
      { weight: 1, arbitrary: addrEntry },
      { weight: 1, arbitrary: anyValue },
    ),
    addr: addrEntry,
    sync_period: fc.oneof(
      mostly(16, 32, 64, 131072, 8, 60, 262144, 0, -64, 64.5, "64", 1e308),
      numbers,
    ),
    force: mostly(true, false, "true", "false", 1, 0, null),
    zone: mostly(
      "Europe",
      "America",
      "Asia",
      "Etc",
      "right",
      "posix",
      "..",
      ".",
      "",
      "/etc",
      "Europe/",
      "America/Kentucky",
      "zoneinfo",
      "posixrules",
      "Factory",
      "localtime",
      "europe",
    ),
    country: mostly(
      "Paris",
      "Tokyo",
      "Argentina/Buenos_Aires",
      "paris",
      "Paris/",
      " Paris",
      "Paris\n",
      "../Asia/Tokyo",
      "Atlantis",
      "UTC",
      "Paris/../Berlin",
      "./Paris",
      "Paris\u0000",
      "Kentucky",
      "Kentucky/Louisville",
    ),
    name: mostly("a".repeat(65), "ok name", "bad/name", "\u202e", "", "x"),
    port: fc.oneof(
      mostly(0, 1, 9991, 65535, 65536, -1, "9991", 9991.5, null),
      numbers,
    ),
    applied_version: fc.oneof(numbers, anyValue),
  };
}

/** A body each endpoint takes (or refuses for one reason only). */
function baseBody(p: string, uuid: string): Record<string, unknown> {
  const node = { addr: "127.0.0.95", port: 9991, cluster_uuid: uuid };
  const bases: Record<string, Record<string, unknown>> = {
    "/v1/ntp/server/add": {
      addrs: ["127.0.0.94"],
      sync_period: 64,
      cluster_uuid: uuid,
    },
    "/v1/ntp/server/delete": { addrs: [LIVE], cluster_uuid: uuid },
    "/v1/ntp/zone/country/save": {
      zone: "Europe",
      country: "Paris",
      cluster_uuid: uuid,
    },
    "/v1/cluster/create": { name: "fuzz" },
    "/v1/node/add": node,
    "/v1/node/delete": node,
    "/v1/agent/hello": { ...node, applied_version: 0 },
  };
  return bases[p] ?? { cluster_uuid: uuid };
}

/**
 * A base body with one change: one field set to a fuzzed value, one field
 * left out, or one unknown field added. Each check of the endpoint is met
 * on its own this way.
 */
function mutated(
  ep: Endpoint,
  uuid: string,
  values: Record<string, fc.Arbitrary<unknown>>,
): fc.Arbitrary<Record<string, unknown>> {
  const base = baseBody(ep.path, uuid);
  const set = fc.constantFrom(...ep.fields).chain((field) =>
    (values[field] ?? anyValue).map((value) => {
      const body = { ...base };
      Object.defineProperty(body, field, fieldOf(value));
      return body;
    }),
  );
  const drop = fc.constantFrom(...Object.keys(base)).map((field) => {
    const body = { ...base };
    delete body[field];
    return body;
  });
  const extra = fc.tuple(keyArb, anyValue).map(([key, value]) => {
    const body = { ...base };
    Object.defineProperty(body, key, fieldOf(value));
    return body;
  });
  return fc.oneof(
    { weight: 6, arbitrary: set },
    { weight: 1, arbitrary: drop },
    { weight: 1, arbitrary: extra },
  );
}

const KEY_NAMES = [
  "cluster_uuid",
  "addrs",
  "addr",
  "sync_period",
  "force",
  "zone",
  "country",
  "name",
  "port",
  "__proto__",
  "constructor",
  "iburst",
  "servers",
  "Addrs",
  "addrs ",
];

const keyArb = fc.oneof(fc.constantFrom(...KEY_NAMES), fc.string());

/** Objects with the endpoint's fields, any of them left out, maybe one more. */
function objectBody(
  ep: Endpoint,
  values: Record<string, fc.Arbitrary<unknown>>,
): fc.Arbitrary<Record<string, unknown>> {
  const shape = Object.fromEntries(
    ep.fields.map((f) => [f, values[f] ?? anyValue]),
  );
  return fc
    .tuple(
      fc.record(shape, { requiredKeys: [] }),
      fc.oneof(
        { weight: 6, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.tuple(keyArb, anyValue) },
      ),
    )
    .map(([record, extra]) => {
      const body: Record<string, unknown> = { ...record };
      if (extra) Object.defineProperty(body, extra[0], fieldOf(extra[1]));
      return body;
    });
}

function fieldOf(value: unknown): PropertyDescriptor {
  return { value, enumerable: true, configurable: true, writable: true };
}

/** JSON text that is not valid, or valid but odd. */
function rawTexts(objects: fc.Arbitrary<Record<string, unknown>>) {
  return fc.oneof(
    fc.string(),
    fc.string({ unit: "binary" }),
    objects.chain((o) => {
      const text = JSON.stringify(o);
      return fc.nat(text.length).map((n) => text.slice(0, n));
    }),
    objects.chain((o) => {
      const text = JSON.stringify(o);
      return fc
        .tuple(fc.nat(text.length), fc.string({ minLength: 1, maxLength: 3 }))
        .map(([n, s]) => `${text.slice(0, n)}${s}${text.slice(n)}`);
    }),
    fc.constantFrom(
      '{"sync_period":1e400,"addrs":["x y"]}',
      '{"addrs":["127.0.0.91"],"sync_period":-1e400,"force":true}',
      '{"addrs":["127.0.0.91"],"sync_period":123456789012345678901234567890}',
      '{"addr":"x y","port":1e400}',
      '{"addrs":["a b"],"addrs":5}',
      '{"cluster_uuid":"\\ud800"}',
      '{"zone":"\\u0000","country":"\\u0000"}',
      '{"__proto__":{"admin":true}}',
      '{"constructor":{"prototype":{"admin":true}}}',
      "{'addrs':[]}",
      "{addrs:[]}",
      '{"a":1,}',
      "\ufeff{}",
      "{}garbage",
      "NaN",
      "Infinity",
      "-",
      "[]",
      "null",
      '"\\u0000"',
      "1e400",
      "{".repeat(500),
    ),
  );
}

/** Parses as the controller does: a leading byte order mark is dropped. */
function parseOrUndefined(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text.replace(/^\ufeff/, ""));
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// What may not be sent

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function tryOr<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/**
 * True when the request must not be sent: it names a valid address that is
 * not this test's (a probe, a DNS lookup or an agent call could leave the
 * machine), or it may be a valid write (it would change the state the
 * properties compare), or a valid forced sync (slow, and audited).
 */
function mustNotSend(
  ep: Endpoint,
  body: unknown,
  uuid: string,
  servers: string[],
): boolean {
  if (!isObject(body)) return false;
  const addrs = tryOr(() => normaliseAddressList(body.addrs));
  const addr = tryOr(() => normaliseAddress(body.addr));
  for (const a of [...(addrs ?? []), ...(addr ? [addr] : [])]) {
    if (!MINE.includes(a)) return true;
  }
  if (!ep.write) return false;

  if (Object.keys(body).some((k) => !ep.fields.includes(k))) return false;
  const u = body.cluster_uuid;
  if (!(u === undefined || u === "" || u === uuid)) return false;
  return mayBeValidWrite(ep.path, body, addrs, addr, servers);
}

function mayBeValidWrite(
  p: string,
  body: Record<string, unknown>,
  addrs: string[] | undefined,
  addr: string | undefined,
  servers: string[],
): boolean {
  const period = body.sync_period;
  switch (p) {
    case "/v1/ntp/server/add":
      // Without force, a source where nothing answers (DEAD) is refused
      // after a probe: sent, to check that refusal too.
      if (body.force !== true && addrs?.some((a) => a !== LIVE)) return false;
      return (
        addrs !== undefined &&
        (period === undefined || powerOfTwoInRange(period)) &&
        (body.force === undefined || typeof body.force === "boolean")
      );
    case "/v1/ntp/server/delete":
      return (
        body.addrs === undefined ||
        addrs?.every((a) => servers.includes(a)) === true
      );
    case "/v1/ntp/zone/country/save": {
      const name = tryOr(() => validateZoneName(body.zone, body.country));
      return name !== undefined && existsSync(`/usr/share/zoneinfo/${name}`);
    }
    case "/v1/cluster/create":
      return (
        body.name === undefined ||
        (typeof body.name === "string" && /^[\w .-]{1,64}$/.test(body.name))
      );
    case "/v1/node/add":
      return (
        addr !== undefined &&
        (body.port === undefined ||
          (Number.isInteger(body.port) &&
            (body.port as number) >= 1 &&
            (body.port as number) <= 65535))
      );
    case "/v1/node/delete":
      return false;
    default:
      // force/time/sync and cluster/delete: the right keys are enough.
      return true;
  }
}

function powerOfTwoInRange(v: unknown): boolean {
  return (
    typeof v === "number" &&
    Number.isInteger(v) &&
    v >= 16 &&
    v <= 131072 &&
    Number.isInteger(Math.log2(v))
  );
}

// ---------------------------------------------------------------------------
// The scenario

describe("fuzzing every endpoint changes nothing and leaks nothing", () => {
  let c: Controller;
  let db: Database.Database;
  let state: string;
  let servers: string[];
  /** How many replies of each scode the current property got. */
  const seen = new Map<number, number>();

  before(async () => {
    c = await startController({ upstream: LIVE, zone: "Asia/Tokyo" });
    const r = await post(c.url, "/v1/ntp/server/add", {
      addrs: [LIVE],
      sync_period: 64,
    });
    assert.equal(r.body.scode, 0, JSON.stringify(r.body));
    db = new Database(c.dbFile, { readonly: true, fileMustExist: true });
    state = await snapshot();
    servers = [LIVE];
  });

  after(async () => {
    db?.close();
    await c?.stop();
  });

  async function snapshot(): Promise<string> {
    const [list, zone, nodes, clusters] = await Promise.all([
      get(c.url, "/v1/ntp/server/list"),
      get(c.url, "/v1/ntp/zone/country/current"),
      get(c.url, "/v1/node/list"),
      get(c.url, "/v1/cluster/list"),
    ]);
    const nodeList = (nodes.body.data.list as Record<string, unknown>[]).map(
      (n) => [n.addr, n.port, n.local, n.applied_version, n.desired_version],
    );
    return JSON.stringify({
      addrs: list.body.data.addrs,
      sync_period: list.body.data.sync_period,
      zone: zone.body.data,
      nodes: [nodeList, nodes.body.data.desired_version],
      clusters: clusters.body.data,
      files: files(),
      store: store(),
    });
  }

  function files() {
    const sources = Object.fromEntries(
      readdirSync(c.sourcesDir)
        .sort()
        .map((f) => [
          f,
          readFileSync(path.join(c.sourcesDir, f)).toString("base64"),
        ]),
    );
    return {
      sources,
      localtime: readlinkSync(path.join(c.root, "etc/localtime")),
      timezone: readFileSync(path.join(c.root, "etc/timezone"), "utf8"),
    };
  }

  function store() {
    const q = (sql: string) => db.prepare(sql).all();
    return {
      desired: q("SELECT * FROM desired_state ORDER BY cluster_uuid"),
      clusters: q("SELECT uuid, name, created_at, token FROM clusters"),
      nodes: q(
        "SELECT id, cluster_uuid, addr, port, local, applied_version " +
          "FROM nodes ORDER BY id",
      ),
      audit: q("SELECT count(*) AS n, max(id) AS last FROM audit_log"),
    };
  }

  /** Sends one request and checks the reply and the state after it. */
  async function exercise(
    ep: Endpoint,
    req: RawRequest,
    guard = true,
  ): Promise<Exchange> {
    const parsed = parseOrUndefined(req.body);
    const guarded = guard ? ep : { ...ep, write: false };
    fc.pre(!mustNotSend(guarded, parsed, c.uuid, servers));
    const r = await send(c.url, req);
    fc.pre(r !== null);

    const request = `${req.path}?${req.query}\n${req.body ?? ""}`;
    const scode = checkEnvelope(r, { request, secrets: [c.dir] });
    seen.set(scode, (seen.get(scode) ?? 0) + 1);
    const valid = [0, 2001, 2002, 2003].includes(scode);
    assert.ok(
      r.http < 500 || (ep.write && valid),
      `HTTP ${r.http} for ${JSON.stringify(req)}: ${r.text.slice(0, 300)}`,
    );

    const now = await snapshot();
    if (now !== state && ep.write && valid) {
      // A valid write the guard did not foresee: it may change the state.
      console.log(`accepted ${JSON.stringify(req)}: ${r.text.slice(0, 200)}`);
      state = now;
      servers = (JSON.parse(now) as { addrs: string[] }).addrs;
    }
    if (now !== state) {
      const audit = db
        .prepare("SELECT * FROM audit_log ORDER BY id DESC LIMIT 3")
        .all();
      assert.fail(
        `state changed after ${JSON.stringify(req)} answered ` +
          `${r.http} ${r.text.slice(0, 300)}\nbefore ${state}\n` +
          `after  ${now}\nlast audit entries ${JSON.stringify(audit)}`,
      );
    }
    return r;
  }

  interface Property {
    label: string;
    arb: fc.Arbitrary<RawRequest & { ep?: Endpoint }>;
    /** The endpoint of a request; its own `ep` when absent. */
    ep?: Endpoint;
    /** More checks of one reply. */
    extra?: (req: RawRequest, r: Exchange) => void;
    /**
     * False sends a request that may parse as a valid write, because it
     * cannot be one (a wrong method, a content type that is not JSON).
     */
    guard?: (req: RawRequest) => boolean;
    /** scodes the property must have met, so that it is not vacuous. */
    expect: number[];
  }

  /** Runs one property over RUNS requests. */
  async function run(p: Property): Promise<void> {
    seen.clear();
    try {
      await fc.assert(
        fc.asyncProperty(p.arb, async (req) => {
          const ep = p.ep ?? req.ep;
          assert.ok(ep, "no endpoint");
          const r = await exercise(ep, req, p.guard?.(req) ?? true);
          p.extra?.(req, r);
        }),
        { numRuns: RUNS, seed: SEED, verbose: 1, includeErrorInReport: true },
      );
    } catch (err) {
      throw new Error(`${p.label}: ${(err as Error).message}`);
    }
    const counts = [...seen].sort(([a], [b]) => a - b);
    console.log(`${p.label}: scodes ${JSON.stringify(counts)}`);
    if (RUNS >= 150) {
      const missing = p.expect.filter((code) => !seen.has(code));
      assert.deepEqual(missing, [], `${p.label} never met these scodes`);
    }
  }

  const queryArb = (ep: Endpoint, uuid: string) => {
    const values = fc.oneof(
      fc.constantFrom(uuid, "", "Europe", "America/Kentucky", "..", LIVE),
      strings,
    );
    const pairs = fc
      .array(
        fc.tuple(fc.oneof(fc.constantFrom(...ep.fields, "x"), keyArb), values),
        { maxLength: 5 },
      )
      .map((list) =>
        list.map(([k, v]) => `${encode(k)}=${encode(v)}`).join("&"),
      );
    return fc.oneof(
      { weight: 4, arbitrary: pairs },
      { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii" }) },
      { weight: 1, arbitrary: fc.webQueryParameters() },
      { weight: 1, arbitrary: fc.constant("") },
    );
  };

  /** scodes each endpoint's fuzz must meet at RUNS >= 150. */
  const EXPECT: Record<string, number[]> = {
    "/v1/ntp/zone/country/list": [1002, 1003],
    "/v1/cluster/list": [0],
    "/v1/ntp/server/add": [1001, 1002, 1004, 1201],
    "/v1/ntp/server/delete": [1001, 1004, 1301],
    "/v1/ntp/zone/country/save": [1001, 1002, 1004, 1101, 1301],
    "/v1/ntp/force/time/sync": [1001, 1003, 1004, 1301],
    "/v1/cluster/create": [1001, 1003, 1004],
    "/v1/cluster/delete": [1003, 1004, 1301],
    "/v1/node/add": [1001, 1002, 1004, 1301],
    "/v1/node/delete": [1001, 1002, 1004, 1303],
    "/v1/agent/hello": [1001, 1002, 1004, 1501],
  };

  for (const ep of ENDPOINTS) {
    it(`${ep.method} ${ep.path}: ${RUNS} arbitrary requests`, async () => {
      const uuid = c.uuid;
      const expect = EXPECT[ep.path] ?? [0, 1003];
      if (ep.method === "GET") {
        const arb = queryArb(ep, uuid).map(
          (query): RawRequest => ({
            method: "GET",
            path: ep.path,
            query,
            contentType: null,
          }),
        );
        await run({ label: ep.path, arb, ep, expect });
        return;
      }

      const values = fieldValues(uuid);
      const objects = objectBody(ep, values);
      const bodies = fc.oneof(
        { weight: 5, arbitrary: objects.map((o) => JSON.stringify(o)) },
        {
          weight: 5,
          arbitrary: mutated(ep, uuid, values).map((o) => JSON.stringify(o)),
        },
        {
          weight: 2,
          arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)),
        },
        { weight: 2, arbitrary: rawTexts(objects) },
      );
      const arb = fc
        .tuple(
          bodies,
          fc.oneof(
            { weight: 5, arbitrary: fc.constant("") },
            { weight: 1, arbitrary: queryArb(ep, uuid) },
          ),
        )
        .map(
          ([body, query]): RawRequest => ({
            method: "POST",
            path: ep.path,
            query,
            contentType: "application/json",
            body,
          }),
        );
      await run({ label: ep.path, arb, ep, expect });
    });
  }

  it("wrong content types: 415 for what is not JSON", async () => {
    const posts = ENDPOINTS.filter((e) => e.method === "POST");
    const notJson = (req: RawRequest) =>
      req.contentType !== null && NOT_JSON.includes(req.contentType);
    const arb = fc
      .record({
        ep: fc.constantFrom(...posts),
        type: fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(...NOT_JSON) },
          { weight: 2, arbitrary: fc.constantFrom(...ODD_TYPES) },
          { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii" }) },
          { weight: 1, arbitrary: fc.constant(null) },
        ),
        body: fc.oneof(
          fc.constantFrom("{}", '{"addrs":["x y"]}', "a=b", ""),
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
      })
      .map(({ ep, type, body }) => ({
        ep,
        method: "POST",
        path: ep.path,
        query: "",
        contentType: type,
        body,
      }));
    await run({
      label: "content types",
      arb,
      extra: (req, r) => {
        if (!notJson(req) || req.body === "") return;
        assert.equal(r.http, 415, r.text);
        assert.equal(r.body.scode, 1005, r.text);
        assert.ok(r.body.message.includes(req.contentType ?? ""), r.text);
      },
      guard: (req) => !notJson(req),
      expect: [1005],
    });
  });

  it("wrong methods: 405 naming the right one", async () => {
    const arb = fc
      .record({
        ep: fc.constantFrom(...ENDPOINTS),
        method: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE"),
      })
      .filter(({ ep, method }) => ep.method !== method)
      .map(({ ep, method }) => ({
        ep,
        method,
        path: ep.path,
        query: "",
        contentType: method === "GET" ? null : "application/json",
        body: method === "GET" ? undefined : "{}",
      }));
    await run({
      label: "methods",
      arb,
      extra: (req, r) => {
        const ep = ENDPOINTS.find((e) => e.path === req.path);
        assert.equal(r.http, 405, r.text);
        assert.equal(r.body.scode, 1402, r.text);
        assert.equal(r.allow, ep?.method);
      },
      guard: () => false,
      expect: [1402],
    });
  });

  it("unknown paths under /v1: 404 or 405, in the envelope", async () => {
    const noRoute: Endpoint = {
      method: "GET",
      path: "",
      fields: [],
      write: false,
    };
    const segment = fc.oneof(
      fc.constantFrom("ntp", "server", "add", "..", ".", "%2e%2e", "%00"),
      fc.webSegment(),
      fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 12 }),
    );
    const arb = fc
      .record({
        segments: fc.array(segment, { minLength: 1, maxLength: 5 }),
        method: fc.constantFrom("GET", "POST", "PUT", "DELETE"),
      })
      .map(
        ({ segments, method }): RawRequest => ({
          method,
          path: `/v1/${segments.map(plainSegment).join("/")}`,
          query: "",
          contentType: method === "GET" ? null : "application/json",
          body: method === "GET" ? undefined : '{"addrs":["x y"]}',
        }),
      )
      .filter((req) => ordinaryUnknownPath(req.path));
    await run({
      label: "paths",
      arb,
      ep: noRoute,
      extra: (_req, r) => {
        assert.ok([404, 405].includes(r.http), r.text);
        assert.ok([1401, 1402].includes(r.body.scode), r.text);
      },
      expect: [1401],
    });
  });

  it("deeply nested bodies: 400 in the envelope, no crash", async () => {
    const posts = ENDPOINTS.filter((e) => e.method === "POST");
    const arb = fc.record({
      path: fc.constantFrom(...posts.map((e) => e.path)),
      depth: fc.integer({ min: 1, max: 30_000 }),
      open: fc.constantFrom("[", '{"a":'),
      at: fc.nat(),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ path: p, depth, open, at }) => {
        const ep = posts.find((e) => e.path === p) as Endpoint;
        const field = ep.fields[at % ep.fields.length] ?? "x";
        const close = open === "[" ? "]" : "}";
        const deep = `${open.repeat(depth)}1${close.repeat(depth)}`;
        const body = `{"${field}":${deep}}`;
        const r = await exercise(ep, {
          method: "POST",
          path: p,
          query: "",
          contentType: "application/json",
          body,
        });
        const big = body.length > 64 * 1024;
        assert.equal(r.http, big ? 413 : 400, r.text.slice(0, 300));
      }),
      { numRuns: 60, seed: SEED, verbose: 1, includeErrorInReport: true },
    );
  });

  const ODD_PATHS = [
    "/v1//",
    "/v1//ntp/server/list",
    "/v1/ntp//zone/list",
    "/v1/%/ntp",
    "/v1/ntp/zone/list%",
    "/v1/ntp/server/%zz",
    "/v1/ntp/%C0%AF",
    "/v1/%00/ntp",
    "/v1/%2F/ntp",
    "/v1/ntp/%2e%2e%2fetc",
    "/v1/*/",
    "/v1/ntp/*/list",
    "/v1/:(/",
    "/v1/ntp/:zone(/list",
  ];
  for (const p of ODD_PATHS) {
    it(`GET ${p}: 404 in the envelope`, async () => {
      const r = await send(c.url, {
        method: "GET",
        path: p,
        query: "",
        contentType: null,
      });
      assert.ok(r);
      checkEnvelope(r, { request: p, secrets: [c.dir] });
      assert.equal(r.http, 404, r.text);
      assert.equal(r.body.scode, 1401, r.text);
      assert.equal(await snapshot(), state);
    });
  }
});

/** Percent-encodes text, lone surrogates replaced by U+FFFD. */
function encode(text: string): string {
  const lone =
    /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
  return encodeURIComponent(text.replace(lone, "\ufffd"));
}

/**
 * True for a path under /v1/ that is no endpoint and holds nothing of what
 * ODD_PATHS tests on its own: bad escapes, route pattern characters ("*"
 * before the end, ":"), empty, "." or ".." segments, NUL.
 */
function ordinaryUnknownPath(raw: string): boolean {
  const p = new URL(`http://h${raw}`).pathname;
  const decoded = tryOr(() => decodeURIComponent(p));
  return (
    p.startsWith("/v1/") &&
    !/\*.|:/.test(p) &&
    decoded !== undefined &&
    !/\/\/|\0|(^|\/)\.\.?(\/|$)/.test(decoded) &&
    !ENDPOINTS.some((e) => e.path === p) &&
    !p.startsWith("/v1/auth/")
  );
}

/** A path segment without "?", "#" or "/", which would end or split it. */
function plainSegment(segment: string): string {
  return segment.replace(/[?#/]/g, "_");
}
