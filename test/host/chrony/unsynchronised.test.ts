/**
 * Nodes that must not report "synchronised": a chronyd with no sources, one
 * serving its own local clock (F16), and one whose only source is dead once
 * the pending window after the change has passed (F17).
 */
import assert from "node:assert/strict";
import path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { ServeOptions } from "../../../src/host/chrony/config.ts";
import { ChronyHost } from "../../../src/host/chrony/index.ts";
import { HostPaths } from "../../../src/host/paths.ts";
import { isAlive, removeDir, sleep, tempDir } from "./helpers.ts";

const DEAD = "127.0.0.42";
const SERVE_ADDR = "127.0.0.43";

describe("ChronyHost, unsynchronised nodes", () => {
  let dir = "";
  let host: ChronyHost | null = null;

  beforeEach(async () => {
    dir = await tempDir("unsync");
  });
  afterEach(async () => {
    const pid = host?.supervisor?.pid ?? null;
    await host?.stop();
    host = null;
    if (pid !== null) assert.equal(isAlive(pid), false);
    await removeDir(dir);
  });

  async function startHost(
    extra: {
      serve?: ServeOptions;
      pendingWindowS?: number;
      forceSyncWaitMs?: number;
    } = {},
  ): Promise<ChronyHost> {
    host = new ChronyHost({
      mode: "supervised",
      paths: new HostPaths({ root: path.join(dir, "root") }),
      stateDir: path.join(dir, "state"),
      ...extra,
    });
    await host.start();
    return host;
  }

  it("a chronyd without sources is not synchronised (F16)", async () => {
    const h = await startHost();
    const status = await h.syncStatus();
    assert.equal(status.synchronised, false);
    assert.equal(status.phase, "unsynchronised");
    assert.equal(status.detail, "no sources configured");
    assert.equal(status.tracking?.ref_id, "00000000");
    assert.equal(status.tracking?.leap_status, "Not synchronised");
  });

  it("a chronyd on its local clock alone is not synchronised (F16)", async () => {
    const h = await startHost({
      serve: {
        bindAddress: SERVE_ADDR,
        allow: ["127.0.0.0/8"],
        localStratum: 10,
      },
    });
    // The local reference takes over a moment after start.
    let status = await h.syncStatus();
    for (let i = 0; i < 50 && status.tracking?.ref_id !== "7F7F0101"; i++) {
      await sleep(200);
      status = await h.syncStatus();
    }
    assert.equal(status.tracking?.ref_id, "7F7F0101");
    assert.equal(status.tracking?.stratum, 10);
    assert.equal(status.tracking?.leap_status, "Normal");
    assert.equal(status.synchronised, false);
    assert.equal(status.phase, "unsynchronised");
    assert.equal(
      status.detail,
      "chronyd follows only its local clock (stratum 10): offset unknown",
    );
  });

  it("a dead source is pending, then unsynchronised (F17)", async () => {
    const h = await startHost({ pendingWindowS: 2, forceSyncWaitMs: 3000 });
    const outcome = await h.applySources({ servers: [DEAD], poll_log2: 4 });
    assert.deepEqual(outcome, { rolled_back: false, error: null });

    const pending = await h.syncStatus();
    assert.equal(pending.phase, "pending");
    assert.equal(pending.synchronised, false);

    await sleep(2500);
    const later = await h.syncStatus();
    assert.equal(later.phase, "unsynchronised");
    assert.equal(later.synchronised, false);
    assert.equal(later.detail, `no source selected: ${DEAD} unreachable`);
    assert.equal(later.sources[0]?.reach, 0);

    const forced = await h.forceSync();
    assert.deepEqual(forced, {
      ok: false,
      offset_before_s: null,
      offset_after_s: null,
      reference: null,
      error: `no usable source: ${DEAD} unreachable`,
    });
  });
});
