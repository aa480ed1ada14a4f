/**
 * The in-process agent: the agent interface served by this process for the
 * node it runs on. The HTTP agent server wraps the same class, so a node's
 * behaviour does not depend on how the controller reaches it.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { writeFileAtomic } from "../host/atomic-file.ts";
import { DryRunChrony } from "../host/chrony/dry-run.ts";
import { ChronyHost } from "../host/chrony/index.ts";
import { findCompetingDaemons } from "../host/conflicts.ts";
import type { HostPaths } from "../host/paths.ts";
import { readZone, setZone } from "../host/timezone.ts";
import { listCountries, listZones } from "../host/zoneinfo.ts";
import { Prober } from "../ntp/prober.ts";
import { VERSION } from "../version.ts";
import type {
  Agent,
  AgentInfo,
  ApplyResult,
  ClockReading,
  DaemonState,
  DesiredSpec,
  ForceSyncResult,
  ProbeResult,
  SyncStatus,
  ZoneReading,
} from "./types.ts";

export type ChronyModeOption = "auto" | "supervised" | "systemd" | "dry-run";

export interface LocalAgentOptions {
  /** Address this node is known by in the cluster. */
  addr: string;
  paths: HostPaths;
  /** Agent state folder: applied version, supervised chronyd files. */
  stateDir: string;
  /** "dry-run" writes files but runs no chronyd (benchmarks, demos). */
  chronyMode?: ChronyModeOption;
  /** Let a supervised chronyd step and slew the clock (no -x). */
  clockControl?: boolean;
  chronydBin?: string;
  chronycBin?: string;
  /** NTP port of the sources; 123 unless a test says otherwise. */
  sourcePort?: number;
  probeTimeoutMs?: number;
  /** Largest offset, in seconds, a forced sync may leave. */
  syncThresholdS?: number;
}

interface AgentState {
  applied_version: number;
  applied_at: string | null;
}

export class LocalAgent implements Agent {
  readonly chrony: ChronyHost | DryRunChrony;
  private readonly prober: Prober;
  private readonly stateFile: string;
  private state: AgentState = { applied_version: 0, applied_at: null };
  private applying: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: LocalAgentOptions) {
    this.stateFile = path.join(options.stateDir, "agent-state.json");
    const chronyDir = path.join(options.stateDir, "chrony");
    this.chrony =
      options.chronyMode === "dry-run"
        ? new DryRunChrony(chronyDir)
        : this.realChrony(options, chronyDir);
    this.prober = new Prober({
      port: options.sourcePort,
      timeoutMs: options.probeTimeoutMs,
    });
  }

  private realChrony(options: LocalAgentOptions, stateDir: string): ChronyHost {
    return new ChronyHost({
      mode:
        options.chronyMode === "dry-run"
          ? "supervised"
          : (options.chronyMode ?? "auto"),
      paths: options.paths,
      stateDir,
      clockControl: options.clockControl ?? false,
      chronydBin: options.chronydBin,
      chronycBin: options.chronycBin,
      sourcePort: options.sourcePort,
      syncThresholdS: options.syncThresholdS,
    });
  }

  /** Loads the applied version and starts (or attaches to) chronyd. */
  async start(): Promise<void> {
    await fs.mkdir(this.options.stateDir, { recursive: true, mode: 0o700 });
    this.state = await this.loadState();
    try {
      await this.chrony.start();
    } catch (err) {
      // The node still serves time zones and its clock; the daemon state
      // and every sources write report why chrony is not running.
      this.chronyStartError = (err as Error).message;
    }
  }

  /** Why chronyd could not be started, or null. */
  chronyStartError: string | null = null;

  async close(): Promise<void> {
    await this.chrony.stop();
  }

  get addr(): string {
    return this.options.addr;
  }

  get paths(): HostPaths {
    return this.options.paths;
  }

  async info(): Promise<AgentInfo> {
    return {
      addr: this.options.addr,
      hostname: os.hostname(),
      version: VERSION,
      applied_version: this.state.applied_version,
      chrony_mode: this.chrony.mode,
    };
  }

  /** Applies one desired state at a time, in the order asked. */
  apply(desired: DesiredSpec): Promise<ApplyResult> {
    const run = this.applying.then(() => this.applyNow(desired));
    this.applying = run.catch(() => undefined);
    return run;
  }

  private async applyNow(desired: DesiredSpec): Promise<ApplyResult> {
    const sources = await this.chrony.applySources({
      servers: desired.servers,
      poll_log2: desired.poll_log2,
      cluster_servers: desired.cluster_servers ?? [],
      serve: desired.serve ?? null,
    });
    const zoneError = desired.timezone
      ? await this.applyZone(desired.timezone)
      : null;
    const error = [sources.error, zoneError].filter(Boolean).join("; ");
    if (!error) await this.saveState(desired.version);

    return {
      state: await this.chrony.daemonState(),
      rolled_back: sources.rolled_back,
      error: error || null,
      sources_error: sources.error,
      zone_error: zoneError,
      applied_version: this.state.applied_version,
    };
  }

  private async applyZone(name: string): Promise<string | null> {
    const current = await readZone(this.options.paths);
    if (current.zone && `${current.zone}/${current.country}` === name) {
      if (!current.mismatch) return null;
    }
    const [zone = "", ...rest] = name.split("/");
    try {
      await setZone(this.options.paths, zone, rest.join("/"), {
        timedatectl: this.useTimedatectl(),
      });
      return null;
    } catch (err) {
      return `Could not set time zone ${name}: ${(err as Error).message}`;
    }
  }

  private useTimedatectl(): boolean {
    return this.options.paths.isRealRoot && this.chrony.mode === "systemd";
  }

  daemonState(): Promise<DaemonState> {
    return this.chrony.daemonState();
  }

  async syncStatus(): Promise<SyncStatus> {
    const [status, conflicts] = await Promise.all([
      this.chrony.syncStatus(),
      findCompetingDaemons(this.options.paths),
    ]);
    return { ...status, conflicts };
  }

  async forceSync(): Promise<ForceSyncResult> {
    const result = await this.chrony.forceSync();
    return { addr: this.options.addr, ...result };
  }

  probe(addrs: string[]): Promise<ProbeResult[]> {
    return this.prober.probeMany(addrs);
  }

  listZones(): Promise<string[]> {
    return listZones(this.options.paths);
  }

  listCountries(zone: string): Promise<string[]> {
    return listCountries(this.options.paths, zone);
  }

  readZone(): Promise<ZoneReading> {
    return readZone(this.options.paths);
  }

  async readClock(): Promise<ClockReading> {
    const time_s = (performance.timeOrigin + performance.now()) / 1000;
    const zone = await readZone(this.options.paths).catch(() => null);
    // A top-level zone such as CET or EST5EDT has no country part.
    const timezone = zone?.zone
      ? zone.country
        ? `${zone.zone}/${zone.country}`
        : zone.zone
      : null;
    return { time_s, timezone };
  }

  private async loadState(): Promise<AgentState> {
    try {
      const raw = JSON.parse(await fs.readFile(this.stateFile, "utf8"));
      return {
        applied_version: Number(raw.applied_version) || 0,
        applied_at: typeof raw.applied_at === "string" ? raw.applied_at : null,
      };
    } catch {
      return { applied_version: 0, applied_at: null };
    }
  }

  private async saveState(version: number): Promise<void> {
    this.state = {
      applied_version: version,
      applied_at: new Date().toISOString(),
    };
    await writeFileAtomic(this.stateFile, JSON.stringify(this.state), {
      mode: 0o600,
      keepPrevious: false,
    });
  }
}
