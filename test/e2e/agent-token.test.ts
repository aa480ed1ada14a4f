/**
 * Scenario: an agent always requires a token. Off loopback it refuses to
 * start without one; on loopback without one it makes its own (mode 0600)
 * and refuses every request that does not carry it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type AgentProc,
  removeDir,
  startAgent,
  tempDir,
} from "../helpers/processes.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("agent token", () => {
  let dir: string;
  let agent: AgentProc;

  before(() => {
    dir = tempDir();
  });

  after(async () => {
    await agent?.stop();
    removeDir(dir);
  });

  it("refuses to listen off loopback without a token", () => {
    const r = spawnSync(
      process.execPath,
      [
        path.join(ROOT, "bin/timeplane.js"),
        "agent",
        "--listen",
        "0.0.0.0:0",
        "--data",
        path.join(dir, "refused"),
        "--host-root",
        path.join(dir, "root"),
        "--chrony-mode",
        "dry-run",
      ],
      { encoding: "utf8", timeout: 30_000 },
    );
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /Refusing to listen on 0\.0\.0\.0 without a token: pass --token or --token-file, or bind to loopback/,
    );
  });

  it("on loopback makes its own token and requires it", async () => {
    agent = await startAgent([
      "--listen",
      "127.0.0.18:0",
      "--data",
      path.join(dir, "data"),
      "--host-root",
      path.join(dir, "root"),
      "--chrony-mode",
      "dry-run",
    ]);
    const file = path.join(dir, "data/agent-token");
    assert.match(agent.output(), new RegExp(`agent token file ${file}`));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const token = readFileSync(file, "utf8").trim();

    const none = await fetch(`${agent.url}/agent/v1/info`);
    assert.equal(none.status, 401);
    const ok = await fetch(`${agent.url}/agent/v1/info`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(ok.status, 200);
    const info = (await ok.json()) as { chrony_mode: string };
    assert.equal(info.chrony_mode, "dry-run");
  });
});
