/**
 * A chrony stand-in for benchmarks and demos of large clusters: it writes
 * the sources file exactly as the real host would, into the agent's state
 * folder, but runs no chronyd. Its daemon state says "dry-run", its sync
 * status is unknown and a forced sync fails, so it can never pass for a
 * real node.
 */
import path from "node:path";
import type {
  DaemonState,
  SourcesSpec,
  SyncStatus,
} from "../../agent/types.ts";
import { writeFileAtomic } from "../atomic-file.ts";
import { renderSources } from "./config.ts";
import type { ForceSyncOutcome } from "./force-sync.ts";
import type { ApplyOutcome } from "./index.ts";
import { unknownStatus } from "./status.ts";

export class DryRunChrony {
  readonly mode = "dry-run";
  readonly sourcesFile: string;

  constructor(stateDir: string) {
    this.sourcesFile = path.join(stateDir, "sources.d", "timeplane.sources");
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async daemonState(): Promise<DaemonState> {
    return {
      loaded: "loaded",
      status: "dry-run",
      mode: "dry-run",
      detail: "no chronyd: files are written, nothing is applied",
    };
  }

  async applySources(spec: SourcesSpec): Promise<ApplyOutcome> {
    await writeFileAtomic(this.sourcesFile, renderSources(spec));
    return { rolled_back: false, error: null };
  }

  async syncStatus(): Promise<SyncStatus> {
    return unknownStatus(await this.daemonState(), "dry-run: no chronyd");
  }

  async forceSync(): Promise<ForceSyncOutcome> {
    return {
      ok: false,
      offset_before_s: null,
      offset_after_s: null,
      reference: null,
      error: "dry-run node: no chronyd to step the clock",
    };
  }
}
