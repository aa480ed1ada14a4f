/**
 * api-throughput: autocannon, 10 connections for 10 s each, against a real
 * controller (dry-run, rate limit off) holding three sources that answer
 * (tiny NTP servers on 127.0.0.110-112 in this process), then against a
 * bare node:http server in another process answering a small JSON: the
 * ceiling of this machine for one Node process. `server/list` probes the
 * sources, but the Prober caches each result for 2 s, so during a run it
 * sends about one query per source every 2 s and answers the rest from
 * the cache. The load generator runs on the same 2 cores as the server.
 * The targets are this benchmark's own (the issue sets none): each
 * controller route at least 1000 req/s, 50 clients at the default rate
 * limit of 1200 a minute, with a p99 under 100 ms.
 */
import path from "node:path";
import autocannon from "autocannon";
import {
  against,
  apiOk,
  type Benchmark,
  info,
  type Measure,
  ROOT,
  type Scope,
  say,
  startController,
  waitFor,
} from "./lib.ts";
import { loopbackRange, startResponders } from "./ntp-responder.ts";

const NAME = "api-throughput";
const SOURCES = loopbackRange(110, 112);
const DURATION_S = 10;
const CONNECTIONS = 10;
const MIN_REQ_S = 1000;
const MAX_P99_MS = 100;

interface Load {
  req_s: number;
  p99_ms: number;
}

export const apiThroughput: Benchmark = {
  name: NAME,
  budgetMs: 120_000,
  async run(scope) {
    await startResponders(scope, SOURCES);
    const ctl = await startController(scope, ["--rate-limit", "0"]);
    await apiOk(ctl.url, "POST", "/v1/ntp/server/add", {
      addrs: SOURCES,
      sync_period: 64,
    });
    await checkSourcesUsable(ctl.url);
    const bareUrl = await startBare(scope);

    const list = await load(`${ctl.url}/v1/ntp/server/list`);
    const time = await load(`${ctl.url}/v1/ntp/system/current/time`);
    const bare = await load(`${bareUrl}/`);
    return [
      ...checked("GET /v1/ntp/server/list", list),
      ...checked("GET /v1/ntp/system/current/time", time),
      info("bare node:http", bare.req_s, "req/s"),
      info("bare node:http p99", bare.p99_ms, "ms"),
      info("server/list / bare, req/s", list.req_s / bare.req_s, "x"),
      info("current/time / bare, req/s", time.req_s / bare.req_s, "x"),
    ];
  },
};

async function checkSourcesUsable(url: string): Promise<void> {
  const list = await apiOk<{ date_source_status: { status: boolean }[] }>(
    url,
    "GET",
    "/v1/ntp/server/list",
  );
  const usable = list.date_source_status.filter((s) => s.status).length;
  if (usable !== SOURCES.length) {
    throw new Error(`Only ${usable} of ${SOURCES.length} sources are usable`);
  }
}

async function startBare(scope: Scope): Promise<string> {
  const proc = scope.spawn(process.execPath, [
    "--import",
    "tsx",
    path.join(ROOT, "bench/bare-server.ts"),
  ]);
  let port = "";
  await waitFor(
    () => {
      if (proc.exited())
        throw new Error(`Bare server exited: ${proc.output()}`);
      port = /^LISTENING (\d+)$/m.exec(proc.output())?.[1] ?? "";
      return port !== "";
    },
    15_000,
    () => `Bare server did not start: ${proc.output()}`,
  );
  return `http://127.0.0.1:${port}`;
}

async function load(url: string): Promise<Load> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0 || result["2xx"] === 0) {
    throw new Error(
      `${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ` +
        `${result.timeouts} timeouts, ${result["2xx"]} 2xx`,
    );
  }
  say(NAME, `${url}: ${Math.round(result.requests.average)} req/s`);
  return { req_s: result.requests.average, p99_ms: result.latency.p99 };
}

function checked(what: string, l: Load): Measure[] {
  return [
    against(what, l.req_s, "req/s", ">", MIN_REQ_S),
    against(`${what} p99`, l.p99_ms, "ms", "<", MAX_P99_MS),
  ];
}
