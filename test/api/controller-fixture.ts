/**
 * A real controller for the trust scenarios: `timeplane serve` on loopback
 * with a temporary host root and data folder, its chronyd supervised (-x),
 * no rate limit, and optionally one real upstream chronyd. stop() ends the
 * server, its chronyd and the upstream by pid and removes the folder, also
 * when start failed half way.
 */
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  alive,
  killPid,
  readPid,
  removeDir,
  type Server,
  startServer,
  startUpstream,
  tempDir,
  type Upstream,
} from "../helpers/processes.ts";

export interface ControllerOptions {
  /** Address of a real upstream chronyd to start, such as 127.0.0.91. */
  upstream?: string;
  /** Zone that /etc/localtime under the host root links to at start. */
  zone?: string;
  /** More `serve` flags, such as --debug. */
  args?: string[];
}

export interface Controller {
  url: string;
  uuid: string;
  dir: string;
  root: string;
  data: string;
  /** <data>/agent/chrony/sources.d */
  sourcesDir: string;
  /** <data>/timeplane.db */
  dbFile: string;
  server: Server;
  upstream: Upstream | null;
  stop(): Promise<void>;
}

export async function startController(
  options: ControllerOptions = {},
): Promise<Controller> {
  const dir = tempDir("tp-trust-");
  const root = path.join(dir, "root");
  const data = path.join(dir, "data");
  mkdirSync(path.join(root, "etc"), { recursive: true });
  if (options.zone) {
    symlinkSync(
      `/usr/share/zoneinfo/${options.zone}`,
      path.join(root, "etc/localtime"),
    );
    writeFileSync(path.join(root, "etc/timezone"), `${options.zone}\n`);
  }

  let upstream: Upstream | null = null;
  let server: Server | null = null;
  const stop = async () => {
    const chronydPid = readPid(path.join(data, "agent/chrony/chronyd.pid"));
    await server?.stop();
    if (chronydPid && alive(chronydPid)) await killPid(chronydPid);
    await upstream?.stop();
    removeDir(dir);
  };

  try {
    if (options.upstream) upstream = await startUpstream(options.upstream);
    server = await startServer([
      "--listen",
      "127.0.0.1:0",
      "--data",
      data,
      "--host-root",
      root,
      "--chrony-mode",
      "supervised",
      "--rate-limit",
      "0",
      ...(options.args ?? []),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url: server.url,
    uuid: server.clusterUuid,
    dir,
    root,
    data,
    sourcesDir: path.join(data, "agent/chrony/sources.d"),
    dbFile: path.join(data, "timeplane.db"),
    server,
    upstream,
    stop,
  };
}
