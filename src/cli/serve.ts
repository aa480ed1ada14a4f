/**
 * `timeplane serve`: the controller. It opens the store, starts the
 * in-process agent for this machine, creates the default one-node cluster
 * on first start, runs the reconcile loop and serves the REST API.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import pino, { type Logger } from "pino";
import { LocalAgent } from "../agent/local.ts";
import type { Agent } from "../agent/types.ts";
import { buildApp } from "../api/app.ts";
import { Reconciler } from "../cluster/reconcile.ts";
import { ClusterService } from "../cluster/service.ts";
import { HostPaths } from "../host/paths.ts";
import { Repository } from "../store/repository.ts";
import { nodeAddress, parseListen, urlOf } from "./listen.ts";

export interface ServeOptions {
  listen: string;
  data: string;
  hostRoot: string;
  zoneinfo?: string;
  chronyMode: "auto" | "supervised" | "systemd";
  clockControl: boolean;
  sourcePort?: number;
  reconcileIntervalMs: number;
  debug: boolean;
  logLevel: string;
}

export interface Controller {
  url: string;
  clusterUuid: string;
  close(): Promise<void>;
}

export async function serve(options: ServeOptions): Promise<Controller> {
  const log = pino({ level: options.logLevel, base: { svc: "timeplane" } });
  const listen = parseListen(options.listen, 9990);
  const dataDir = path.resolve(options.data);
  const repo = new Repository(path.join(dataDir, "timeplane.db"));

  const local = new LocalAgent({
    addr: nodeAddress(listen.host),
    paths: new HostPaths({
      root: options.hostRoot,
      zoneinfo: options.zoneinfo,
    }),
    stateDir: path.join(dataDir, "agent"),
    chronyMode: options.chronyMode,
    clockControl: options.clockControl,
    sourcePort: options.sourcePort,
  });
  await local.start();
  const clusterUuid = ensureDefaultCluster(repo, local.addr, log);

  const agentFor = (): Agent => local;
  const service = new ClusterService(repo, agentFor, log, {
    fanout: { concurrency: 64, timeoutMs: 15_000 },
    syncTimeoutMs: 45_000,
  });
  const reconciler = new Reconciler(service, log, {
    intervalMs: options.reconcileIntervalMs,
    backoffBaseMs: 2_000,
    backoffMaxMs: 300_000,
  });
  const app = await buildApp({ service, logger: log, debug: options.debug });

  await app.listen({ host: listen.host, port: listen.port });
  const address = app.server.address();
  const port =
    typeof address === "object" && address ? address.port : listen.port;
  const url = urlOf(listen.host, port);
  reconciler.start();
  void reconciler.tick();

  return {
    url,
    clusterUuid,
    async close() {
      await app.close();
      await reconciler.stop();
      await local.close();
      repo.close();
    },
  };
}

/** Creates the one-node default cluster on first start; returns its uuid. */
function ensureDefaultCluster(
  repo: Repository,
  addr: string,
  log: Logger,
): string {
  const existing = repo.listClusters()[0];
  if (existing) {
    for (const node of repo.listNodes(existing.uuid)) {
      if (node.local && node.addr !== addr) {
        repo.db
          .prepare("UPDATE nodes SET addr = ? WHERE id = ?")
          .run(addr, node.id);
      }
    }
    return existing.uuid;
  }
  const uuid = randomUUID();
  repo.createCluster(uuid, "default");
  repo.addNode(uuid, addr, 0, true);
  repo.audit(uuid, "cluster.create", null, {
    name: "default",
    local_node: addr,
  });
  log.info({ cluster: uuid, node: addr }, "default cluster created");
  return uuid;
}
