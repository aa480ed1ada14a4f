/**
 * Scenario tests of many nodes: a controller and agents, each node in its
 * own folder of the test's temporary folder (its host root and its data),
 * every chronyd supervised with -x.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { post } from "./api.ts";
import { type AgentProc, startAgent } from "./processes.ts";

export const nodeDir = (dir: string, addr: string) => path.join(dir, addr);

/** The command socket of a node's supervised chronyd. */
export const nodeSocket = (dir: string, addr: string) =>
  path.join(nodeDir(dir, addr), "data/chrony/chronyd.sock");

/** Flags of a controller whose data and host root are under dir. */
export function controllerArgs(dir: string, extra: string[] = []): string[] {
  mkdirSync(path.join(dir, "controller-root/etc"), { recursive: true });
  return [
    "--listen",
    "127.0.0.1:0",
    "--data",
    path.join(dir, "controller"),
    "--host-root",
    path.join(dir, "controller-root"),
    "--chrony-mode",
    "supervised",
    ...extra,
  ];
}

export async function createCluster(
  url: string,
  name: string,
): Promise<{ uuid: string; token: string }> {
  const r = await post(url, "/v1/cluster/create", { name });
  assert.equal(r.body.scode, 0, JSON.stringify(r.body));
  return {
    uuid: r.body.data.uuid as string,
    token: r.body.data.token as string,
  };
}

export interface NodeAgentOptions {
  /** Ask this controller for the desired state on start. */
  controller?: { url: string; uuid: string };
  env?: NodeJS.ProcessEnv;
}

/** Starts a node's agent on addr:9991, its files under dir/addr. */
export function startNodeAgent(
  dir: string,
  addr: string,
  token: string,
  opts: NodeAgentOptions = {},
): Promise<AgentProc> {
  const root = path.join(nodeDir(dir, addr), "root");
  mkdirSync(path.join(root, "etc"), { recursive: true });
  const follow = opts.controller
    ? [
        "--controller",
        opts.controller.url,
        "--cluster-uuid",
        opts.controller.uuid,
      ]
    : [];
  return startAgent(
    [
      "--listen",
      `${addr}:9991`,
      "--token",
      token,
      "--data",
      path.join(nodeDir(dir, addr), "data"),
      "--host-root",
      root,
      "--chrony-mode",
      "supervised",
      ...follow,
    ],
    opts.env,
  );
}

/** node/add, asserting success. */
export async function addNode(url: string, uuid: string, addr: string) {
  const r = await post(url, "/v1/node/add", { cluster_uuid: uuid, addr });
  assert.equal(r.body.scode, 0, JSON.stringify(r.body));
  return r;
}
