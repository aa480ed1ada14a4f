/**
 * The reconcile loop: every interval, each node whose applied version is
 * behind its cluster's desired version is brought up to date, with
 * exponential back-off per node after a failure. A node that was down
 * converges on its own when it comes back.
 */
import type { Logger } from "pino";
import type { ClusterService } from "./service.ts";

export interface ReconcileOptions {
  /** How often to look for nodes that are behind, in milliseconds. */
  intervalMs: number;
  /** First retry delay after a failure, in milliseconds. */
  backoffBaseMs: number;
  /** Longest retry delay, in milliseconds. */
  backoffMaxMs: number;
}

interface Backoff {
  failures: number;
  nextAt: number;
}

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly backoff = new Map<number, Backoff>();

  constructor(
    private readonly service: ClusterService,
    private readonly log: Logger,
    private readonly options: ReconcileOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over every cluster; never runs twice at once. */
  tick(): Promise<void> {
    if (!this.running) {
      this.running = this.pass()
        .catch((err: Error) =>
          this.log.error({ err: err.message }, "reconcile pass failed"),
        )
        .finally(() => {
          this.running = undefined;
        });
    }
    return this.running;
  }

  /** Forgets a node's back-off, so the next pass retries it at once. */
  nudge(nodeId: number): void {
    this.backoff.delete(nodeId);
  }

  private async pass(): Promise<void> {
    const now = Date.now();
    for (const cluster of this.service.repo.listClusters()) {
      const desired = this.service.repo.getDesired(cluster.uuid);
      if (!desired) continue;
      const behind = this.service
        .nodes(cluster.uuid)
        .filter((n) => n.applied_version < desired.version)
        .filter((n) => (this.backoff.get(n.id)?.nextAt ?? 0) <= now);

      await Promise.all(
        behind.map(async (node) => {
          try {
            const status = await this.service.applyOne(cluster.uuid, node);
            this.settle(node.id, status.node_error, node.addr);
          } catch (err) {
            // The cluster or node went away meanwhile (deleted by a call):
            // nothing to bring up to date.
            this.log.info(
              { node: node.addr, err: (err as Error).message },
              "reconcile skipped a node",
            );
          }
        }),
      );
    }
  }

  private settle(nodeId: number, error: string | null, addr: string): void {
    if (!error) {
      this.backoff.delete(nodeId);
      return;
    }
    const failures = (this.backoff.get(nodeId)?.failures ?? 0) + 1;
    const delay = Math.min(
      this.options.backoffBaseMs * 2 ** (failures - 1),
      this.options.backoffMaxMs,
    );
    this.backoff.set(nodeId, { failures, nextAt: Date.now() + delay });
    this.log.warn(
      { node: addr, failures, retry_in_ms: delay },
      "node still behind desired state",
    );
  }
}
