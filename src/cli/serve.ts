/**
 * `timeplane serve`: the controller. It opens the store, starts the
 * in-process agent for this machine, creates the default one-node cluster
 * on first start, runs the reconcile loop and serves the REST API.
 */

import { randomUUID } from "node:crypto";
import path from "node:path";
import pino, { type Logger } from "pino";
import { LocalAgent } from "../agent/local.ts";
import { generateToken } from "../agent/token.ts";
import { buildApp } from "../api/app.ts";
import { createMetrics } from "../api/metrics.ts";
import { Agents } from "../cluster/agents.ts";
import { HealthMonitor } from "../cluster/health.ts";
import { Membership } from "../cluster/membership.ts";
import { Reconciler } from "../cluster/reconcile.ts";
import { ClusterService } from "../cluster/service.ts";
import { writeFileAtomic } from "../host/atomic-file.ts";
import { HostPaths } from "../host/paths.ts";
import { Repository } from "../store/repository.ts";
import { ApiToken } from "./api-token.ts";
import type { HostSettings } from "./host-options.ts";
import { isLoopback, nodeAddress, parseListen, urlOf } from "./listen.ts";

export interface ServeOptions extends HostSettings {
  listen: string;
  data: string;
  reconcileIntervalMs: number;
  /** Require the API token even on loopback. */
  requireToken: boolean;
  rateLimitPerMinute: number;
  /** Skew or offset above this is a warning, in milliseconds. */
  skewWarnMs: number;
  /** Skew or offset above this is critical, in milliseconds. */
  skewCriticalMs: number;
  debug: boolean;
}

export interface Controller {
  url: string;
  clusterUuid: string;
  /** File holding the default cluster's agent token, mode 0600. */
  tokenFile: string;
  /** File holding the API token, mode 0600. */
  apiTokenFile: string;
  /** Whether API calls need the token. */
  requireToken: boolean;
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
    chronydBin: options.chronydBin,
    chronycBin: options.chronycBin,
  });
  await local.start();
  const clusterUuid = ensureDefaultCluster(repo, local.addr, log);
  const tokenFile = await writeTokenFile(repo, dataDir, clusterUuid);

  const agents = new Agents(repo, local);
  const service = new ClusterService(repo, agents, log, {
    fanout: { concurrency: 64, timeoutMs: 15_000 },
    syncTimeoutMs: 45_000,
    onNodeResult: (cluster, node, status) => {
      health.invalidate(cluster);
      if (status.node_error) {
        metrics.applyFailures.inc({ cluster, node: node.addr });
      }
    },
  });
  const health = new HealthMonitor(service, {
    warn_ms: options.skewWarnMs,
    critical_ms: options.skewCriticalMs,
  });
  const metrics = createMetrics(service, health);
  const reconciler = new Reconciler(service, log, {
    intervalMs: options.reconcileIntervalMs,
    backoffBaseMs: 2_000,
    backoffMaxMs: 300_000,
  });
  const membership = new Membership(service);
  const apiToken = new ApiToken(dataDir);
  await apiToken.load();
  const requireToken = options.requireToken || !isLoopback(listen.host);
  const app = await buildApp({
    service,
    membership,
    auth: { token: () => apiToken.current(), required: requireToken },
    rotateToken: () => apiToken.rotate(),
    rateLimitPerMinute: options.rateLimitPerMinute,
    health,
    metrics,
    nudge: (id) => {
      reconciler.nudge(id);
      void reconciler.tick();
    },
    logger: log,
    debug: options.debug,
  });

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
    tokenFile,
    apiTokenFile: apiToken.file,
    requireToken,
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
      if (node.local && node.addr !== addr) repo.updateNodeAddr(node.id, addr);
    }
    if (!repo.clusterToken(existing.uuid)) {
      repo.setClusterToken(existing.uuid, generateToken());
    }
    return existing.uuid;
  }
  const uuid = randomUUID();
  repo.createCluster(uuid, "default", generateToken());
  repo.addNode(uuid, addr, 0, true);
  repo.audit(uuid, "cluster.create", null, {
    name: "default",
    local_node: addr,
  });
  log.info({ cluster: uuid, node: addr }, "default cluster created");
  return uuid;
}

/**
 * Writes the cluster's agent token to <data>/cluster-<uuid>.token, mode
 * 0600, for `timeplane agent --token-file` on the nodes.
 */
async function writeTokenFile(
  repo: Repository,
  dataDir: string,
  uuid: string,
): Promise<string> {
  const file = path.join(dataDir, `cluster-${uuid}.token`);
  const token = repo.clusterToken(uuid) ?? "";
  await writeFileAtomic(file, `${token}\n`, {
    mode: 0o600,
    keepPrevious: false,
  });
  return file;
}
