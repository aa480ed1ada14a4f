/**
 * Scenario: the web console in a real browser against a real controller.
 * Debian's Chromium (driven by playwright-core, fresh temporary profile)
 * loads the console from a timeplane process that manages a temporary host
 * root with a supervised chronyd (-x). A real upstream chronyd runs 5 s
 * ahead under faketime. Through the page: a bad address refused with its
 * scode; a source added and seen reachable; a silent source refused, added
 * anyway and deleted; a time zone saved (checked on the symlink); the
 * node's daemon state; the health verdict; a forced sync that fails since
 * chronyd has no clock control. The page must load nothing but its own
 * origin. A full-page screenshot goes to test-artifacts/console.png.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  statSync,
} from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  type Browser,
  chromium,
  type Locator,
  type Page,
} from "playwright-core";
import { get, post } from "../helpers/api.ts";
import {
  alive,
  chronyc,
  readPid,
  removeDir,
  type Server,
  startServer,
  startUpstream,
  tempDir,
  type Upstream,
  waitFor,
} from "../helpers/processes.ts";

const run = promisify(execFile);

const UPSTREAM = "127.0.0.71";
const LISTEN = "127.0.0.72";
/** Nothing listens here: a source that never answers. */
const SILENT = "127.0.0.73";
const REPO = path.resolve(import.meta.dirname, "../..");
const WEB = path.join(REPO, "web");
const BUILT_INDEX = path.join(WEB, "dist/index.html");
const SCREENSHOT = path.join(REPO, "test-artifacts/console.png");
const ZONE_TARGET = "/usr/share/zoneinfo/America/Argentina/Buenos_Aires";
const WAIT_MS = 60_000;

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Newest modification time of the console's sources, web/dist aside. */
function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "dist" || entry.name === "node_modules") continue;
    const full = path.join(dir, entry.name);
    const ms = entry.isDirectory()
      ? newestSourceMs(full)
      : statSync(full).mtimeMs;
    newest = Math.max(newest, ms);
  }
  return newest;
}

async function buildConsoleIfStale(): Promise<void> {
  const fresh =
    existsSync(BUILT_INDEX) &&
    statSync(BUILT_INDEX).mtimeMs >= newestSourceMs(WEB);
  if (fresh) return;
  await run("npx", ["vite", "build", "--config", "web/vite.config.ts"], {
    cwd: REPO,
    timeout: 120_000,
  });
}

/** Waits until the locator's text passes `check`; returns that text. */
async function textWhen(
  locator: Locator,
  check: (text: string) => boolean,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<string> {
  let last = "";
  await waitFor(
    async () => {
      if ((await locator.count()) === 0) return false;
      last = ((await locator.first().textContent()) ?? "").trim();
      return check(last);
    },
    timeoutMs,
    () => `${what}: last text ${JSON.stringify(last)}`,
  );
  return last;
}

/** The cells of a table row found by the text of its header cell. */
function row(page: Page, table: string, header: string): Locator {
  return page
    .getByRole("table", { name: table, exact: true })
    .locator("tbody tr")
    .filter({ has: page.locator("th", { hasText: header }) });
}

async function cells(r: Locator): Promise<string[]> {
  return (await r.first().locator("td").allTextContents()).map((t) => t.trim());
}

describe("web console in Chromium", () => {
  let upstream: Upstream;
  let server: Server;
  let browser: Browser;
  let page: Page;
  let dir: string;
  let root: string;
  let data: string;
  const requested: string[] = [];

  before(async () => {
    await buildConsoleIfStale();
    dir = tempDir("tp-web-");
    root = path.join(dir, "root");
    data = path.join(dir, "data");
    mkdirSync(path.join(root, "etc"), { recursive: true });
    upstream = await startUpstream(UPSTREAM, { offsetS: 5 });
    server = await startServer([
      "--listen",
      `${LISTEN}:0`,
      "--data",
      data,
      "--host-root",
      root,
      "--chrony-mode",
      "supervised",
    ]);
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: CHROMIUM_ARGS,
    });
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
    });
    page = await context.newPage();
    page.on("request", (req) => requested.push(req.url()));
  });

  after(async () => {
    await browser?.close();
    const chronydPid = readPid(path.join(data, "agent/chrony/chronyd.pid"));
    await server?.stop();
    if (chronydPid && alive(chronydPid)) process.kill(chronydPid, "SIGKILL");
    await upstream?.stop();
    if (dir) removeDir(dir);
  });

  it("loads the console and picks the first cluster", async () => {
    const res = await page.goto(server.url);
    assert.equal(res?.status(), 200);
    assert.equal(await page.title(), "Time - timeplane");
    await waitFor(
      async () =>
        (await page.getByLabel("Cluster", { exact: true }).inputValue()) ===
        server.clusterUuid,
      WAIT_MS,
      () => "the cluster picker never showed the default cluster",
    );
  });

  it("keeps /v1 for the API: unknown routes stay envelopes", async () => {
    const unknown = await get(server.url, "/v1/ntp/nothing");
    assert.equal(unknown.http, 404);
    assert.equal(unknown.body.scode, 1401);
    assert.equal(unknown.body.message, "No route GET /v1/ntp/nothing");

    const method = await get(server.url, "/v1/ntp/server/add");
    assert.equal(method.http, 405);
    assert.equal(method.body.scode, 1402);

    const asset = await fetch(`${server.url}/no-such-file.js`);
    assert.equal(asset.status, 404);
    assert.equal(((await asset.json()) as { scode: number }).scode, 1401);
  });

  it("shows an envelope error with its message and scode", async () => {
    const bad = "bad_host!";
    const api = await post(server.url, "/v1/ntp/server/add", {
      addrs: [bad],
      sync_period: 64,
      cluster_uuid: server.clusterUuid,
    });
    assert.equal(api.body.scode, 1001);

    await page.getByLabel("Source addresses", { exact: true }).fill(bad);
    await page.getByRole("button", { name: "Add sources" }).click();
    const alert = page.locator(
      "section[aria-labelledby=sources-title] [role=alert]",
    );
    const message = await textWhen(
      alert.locator(".alert-message"),
      (t) => t !== "",
      "no error shown for a bad address",
    );
    assert.equal(message, api.body.message);
    assert.equal(
      (await alert.locator(".alert-code").textContent())?.trim(),
      "scode 1001 \u00b7 INVALID_FIELD \u00b7 HTTP 400",
    );
  });

  it("adds a source with sync_period 64 and lists it reachable", async () => {
    await page.getByLabel("Source addresses", { exact: true }).fill(UPSTREAM);
    await page
      .getByLabel("Sync period (s)", { exact: true })
      .selectOption("64");
    await page.getByRole("button", { name: "Add sources" }).click();

    const result = row(page, "Source change per node", LISTEN);
    await textWhen(result, (t) => t.includes("OK"), "no add result");
    // No node rolled back, so the table has no "Rolled back" column.
    const [outcome, daemon, applied, error] = await cells(result);
    assert.equal(outcome, "OK");
    assert.equal(daemon, "loaded / active");
    assert.equal(applied, "1", "the first write makes version 1");
    assert.equal(error, "\u2014");
    const field = page.getByLabel("Source addresses", { exact: true });
    assert.equal(await field.inputValue(), "", "emptied after the add");

    const source = row(page, "NTP sources", UPSTREAM);
    await textWhen(source, (t) => t.includes("Reachable"), "not reachable");
    const [reach, reason, stratum, offset, delay] = await cells(source);
    assert.equal(reach, "Reachable");
    assert.equal(stratum, "3");
    const offsetMs = Number(offset);
    assert.ok(Math.abs(offsetMs - 5000) < 100, `offset ${offset} (${reason})`);
    assert.ok(Number(delay) >= 0 && Number(delay) < 100, `delay ${delay}`);
    assert.equal(
      await page.locator(".meta strong").first().textContent(),
      "64 s",
    );

    const socket = path.join(data, "agent/chrony/chronyd.sock");
    const rows = await chronyc(socket, "sources");
    assert.deepEqual(
      rows.map((r) => [r[2], r[4]]),
      [[UPSTREAM, "6"]],
    );
  });

  it("refuses a silent source, adds it anyway, then deletes it", async () => {
    await page.getByLabel("Source addresses", { exact: true }).fill(SILENT);
    await page.getByRole("button", { name: "Add sources" }).click();
    const alert = page.locator("section[aria-labelledby=sources-title] .alert");
    const code = await textWhen(
      alert.locator(".alert-code"),
      (t) => t !== "",
      "no refusal shown for a silent source",
    );
    assert.equal(code, "scode 1201 \u00b7 SOURCE_UNUSABLE \u00b7 HTTP 400");
    const message = await alert.locator(".alert-message").textContent();
    assert.match(String(message), new RegExp(`^Source "?${SILENT}"? refused`));

    await page.getByRole("button", { name: "Add anyway" }).click();
    const result = row(page, "Source change per node", LISTEN);
    await textWhen(result, (t) => t.includes("OK"), "no forced add result");
    const field = page.getByLabel("Source addresses", { exact: true });
    assert.equal(await field.inputValue(), "", "emptied after the add");
    const source = row(page, "NTP sources", SILENT);
    await textWhen(source, (t) => t.includes("Unreachable"), "not listed");
    const [reach, reason] = await cells(source);
    assert.equal(reach, "Unreachable");
    assert.match(reason ?? "", /^(unreachable|timeout)/);

    await page.getByRole("button", { name: `Delete source ${SILENT}` }).click();
    await page
      .getByRole("button", { name: `Confirm delete of source ${SILENT}` })
      .click();
    await textWhen(
      page.locator("section[aria-labelledby=sources-title] [role=status]"),
      (t) => t === `Deleted ${SILENT} on every node`,
      "no delete result",
    );
    await waitFor(
      async () => (await source.count()) === 0,
      WAIT_MS,
      () => `${SILENT} still listed after delete`,
    );
    const socket = path.join(data, "agent/chrony/chronyd.sock");
    const rows = await chronyc(socket, "sources");
    assert.deepEqual(
      rows.map((r) => r[2]),
      [UPSTREAM],
    );
  });

  it("saves America + Argentina/Buenos_Aires as the time zone", async () => {
    await page.getByLabel("Zone", { exact: true }).selectOption("America");
    await page
      .getByLabel("Country or city", { exact: true })
      .selectOption("Argentina/Buenos_Aires");
    await page.getByRole("button", { name: "Save time zone" }).click();

    const result = row(page, "Time zone change per node", LISTEN);
    await textWhen(result, (t) => t.includes("OK"), "no save result");
    assert.equal((await cells(result))[0], "OK");
    assert.equal(readlinkSync(path.join(root, "etc/localtime")), ZONE_TARGET);

    await textWhen(
      page.getByTestId("current-zone"),
      (t) => t === "America/Argentina/Buenos_Aires",
      "current zone not shown",
    );
    const clock = page.locator(
      "section[aria-labelledby=clock-title] dl.facts dd",
    );
    await textWhen(
      clock.nth(1),
      (t) => t === "America/Argentina/Buenos_Aires",
      "clock not in the new zone",
    );
    assert.equal(await clock.nth(2).textContent(), "UTC-03:00");
  });

  it("lists the node with its daemon state and versions", async () => {
    const api = await get<{
      list: { addr: string; status: string; applied_version: number }[];
      desired_version: number;
    }>(server.url, `/v1/node/list?cluster_uuid=${server.clusterUuid}`);
    const v = api.body.data.desired_version;
    assert.equal(api.body.data.list[0]?.status, "active");

    const node = row(page, "Nodes", LISTEN);
    await textWhen(
      node,
      (t) => t.includes(`${v} / ${v}`),
      "node not at the desired version",
    );
    const daemon = node.first().locator("td").first();
    assert.equal(await daemon.locator(".badge").textContent(), "active");
    assert.equal(await daemon.locator(".sub").textContent(), "loaded");
    assert.equal((await cells(node))[5], `${v} / ${v} in sync`);
  });

  it("shows the health verdict, or that it is not available", async () => {
    const api = await get<{ health?: string }>(
      server.url,
      `/v1/ntp/cluster/status?cluster_uuid=${server.clusterUuid}`,
    );
    const expected =
      api.http === 404 && api.body.scode === 1401
        ? "health not available"
        : String(api.body.data.health);
    await textWhen(
      page.getByTestId("health"),
      (t) => t.toLowerCase().includes(expected),
      `health should read ${expected}`,
    );
  });

  it("forces a sync and shows the node failed with the reason", async () => {
    await page.getByRole("button", { name: "Force sync" }).click();
    // One click only asks: stepping every clock needs a second, named one.
    await page
      .getByRole("button", { name: "Confirm force sync of every node" })
      .click();
    const result = row(page, "Force sync per node", LISTEN);
    await textWhen(result, (t) => t !== "", "no sync result", 120_000);
    const [outcome, before, after_, reference, error] = await cells(result);
    assert.equal(outcome, "Failed");
    assert.ok(Math.abs(Number(before) + 5000) < 100, `before ${before}`);
    assert.equal(after_, "\u2014");
    assert.equal(reference, UPSTREAM);
    assert.match(
      String(error),
      /^chronyc makestep answered "500 Failure": .*\(-x\)/,
    );

    const banner = page.locator(
      "section[aria-labelledby=sync-title] [role=alert]",
    );
    assert.equal(
      (await banner.locator(".alert-message").textContent())?.trim(),
      `All 1 nodes failed: ${LISTEN} (${error})`,
    );
    assert.equal(
      (await banner.locator(".alert-code").textContent())?.trim(),
      "scode 2002 \u00b7 ALL_NODES_FAILED \u00b7 HTTP 503",
    );
  });

  it("saves a full-page screenshot", async () => {
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(statSync(SCREENSHOT).size > 10_000);
  });

  it("sends the typed token as a bearer token and keeps it", async () => {
    const token = "console-test-token";
    const field = page.getByLabel("API token", { exact: true });
    await field.fill(token);
    const sent = page.waitForRequest(
      (r) =>
        r.url().includes("/v1/cluster/list") &&
        r.headers().authorization !== undefined,
    );
    await field.press("Enter");
    const req = await sent;
    assert.equal(await req.headerValue("authorization"), `Bearer ${token}`);
    assert.equal(
      await page.evaluate("sessionStorage.getItem('timeplane.api_token')"),
      token,
    );
  });

  it("loads nothing from outside its own origin", () => {
    assert.ok(requested.length > 10, `${requested.length} requests`);
    const foreign = requested.filter((u) => !u.startsWith(`${server.url}/`));
    assert.deepEqual(foreign, []);
  });
});
