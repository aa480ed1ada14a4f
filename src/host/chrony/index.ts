/**
 * ChronyHost: the one facade the agent uses for chrony on its node. It runs
 * either the host's own chronyd under systemd or a chronyd it supervises
 * itself, and offers the same operations for both: apply sources with a
 * check and a rollback (F11), read the sync status (F16, F17) and force a
 * sync (F19, F20). Source offsets it reports are system clock minus
 * source, corrected for what chronyd has not applied to the clock yet (see
 * systemClockOffset): on a -x node they show the clock's real error.
 */
import { existsSync, promises as fs } from "node:fs";
import path from "node:path";
import type {
  DaemonState,
  SourcesSpec,
  SyncStatus,
} from "../../agent/types.ts";
import { TimeplaneError } from "../../errors.ts";
import {
  previousPath,
  restorePrevious,
  writeFileAtomic,
} from "../atomic-file.ts";
import type { HostPaths } from "../paths.ts";
import { Chronyc } from "./chronyc.ts";
import { renderCheckConf, renderSources, type ServeOptions } from "./config.ts";
import { type ForceSyncOutcome, forceSync } from "./force-sync.ts";
import { makeRun, type RunCommand, runCommand } from "./run.ts";
import {
  evaluateSync,
  unknownStatus,
  withSystemClockOffsets,
} from "./status.ts";
import { findBinary, SupervisedChronyd } from "./supervisor.ts";
import {
  type ChronyLayout,
  detectLayout,
  prepareMainConf,
  restoreMainConf,
  SOURCES_FILE_NAME,
  systemctlRestart,
  systemctlShow,
} from "./systemd.ts";

export type ChronyMode = "supervised" | "systemd";

export interface ChronyHostOptions {
  /** "auto": systemd when the host root is "/", systemd runs and the
   * chrony unit is loaded; otherwise supervised. */
  mode: ChronyMode | "auto";
  paths: HostPaths;
  /** The agent's own state folder: supervised chronyd, candidate checks. */
  stateDir: string;
  /** Let a supervised chronyd step the clock. Default false (-x). */
  clockControl?: boolean;
  chronydBin?: string;
  chronycBin?: string;
  /** NTP port of every source (tests only); chrony's 123 when absent. */
  sourcePort?: number;
  /** Largest |offset| after a forced sync that counts as done, s. */
  syncThresholdS?: number;
  /** Runs systemctl; tests pass a fake where systemd is not PID 1. */
  run?: RunCommand;
  /** Overrides of the detected systemd layout (F13). */
  layout?: Partial<ChronyLayout>;
  /** Let a supervised chronyd serve NTP (local stratum, orphan). */
  serve?: ServeOptions;
  /** After a change, a node without a selected source is "pending" this
   * long before it counts as unsynchronised. Default 30 s. */
  pendingWindowS?: number;
  /** How long forceSync waits for a fresh sample. Default 12 s. */
  forceSyncWaitMs?: number;
  /** Tests only: edits the rendered sources text before it is checked,
   * to make chronyd refuse a file. */
  testHooks?: { editSources?: (text: string) => string };
}

export interface ApplyOutcome {
  rolled_back: boolean;
  error: string | null;
}

const localRun = makeRun({ timeoutMs: 10_000 });

export class ChronyHost {
  private readonly options: ChronyHostOptions;
  private resolved: ChronyMode | null = null;
  private supervised: SupervisedChronyd | null = null;
  private layoutValue: ChronyLayout | null = null;
  private chronycValue: Chronyc | null = null;
  private changedAt = Date.now();
  private expectsSources = false;
  private applying: Promise<unknown> = Promise.resolve();

  constructor(options: ChronyHostOptions) {
    this.options = options;
    if (options.mode !== "auto") this.setup(options.mode);
  }

  /** The mode in use; "auto" until start() has resolved it. */
  get mode(): ChronyMode | "auto" {
    return this.resolved ?? "auto";
  }

  /** The supervised chronyd, or null in systemd mode. */
  get supervisor(): SupervisedChronyd | null {
    return this.supervised;
  }

  get chronyc(): Chronyc {
    if (this.chronycValue === null) throw notStarted();
    return this.chronycValue;
  }

  /** Path of timeplane's sources drop-in file. */
  get sourcesFile(): string {
    if (this.supervised !== null) return this.supervised.layout.sourcesFile;
    const layout = this.layoutValue;
    if (layout === null) throw notStarted();
    const file = path.posix.join(layout.sourceDir, SOURCES_FILE_NAME);
    return this.options.paths.resolve(file);
  }

  async start(): Promise<void> {
    if (this.resolved === null) this.setup(await this.detectMode());
    this.changedAt = Date.now();
    const supervisor = this.supervised;
    if (supervisor === null || supervisor.chronydPath === null) return;
    await supervisor.start();
  }

  async stop(): Promise<void> {
    await this.supervised?.stop();
  }

  async daemonState(): Promise<DaemonState> {
    if (this.resolved === null) this.setup(await this.detectMode());
    if (this.supervised !== null) return this.supervised.state();
    return systemctlShow(this.layout().unit, this.run());
  }

  /** One change at a time: a second call waits for the first. */
  applySources(spec: SourcesSpec): Promise<ApplyOutcome> {
    const next = this.applying.then(() => this.applyNow(spec));
    this.applying = next.catch(() => undefined);
    return next;
  }

  private async applyNow(spec: SourcesSpec): Promise<ApplyOutcome> {
    const state = await this.daemonState();
    if (state.loaded === "not-found") {
      const why = state.detail ?? "no chrony unit";
      return { rolled_back: false, error: `chrony is not installed: ${why}` };
    }
    let text = renderSources(spec, { port: this.options.sourcePort });
    text = this.options.testHooks?.editSources?.(text) ?? text;

    const refusal = await this.checkCandidate(text);
    if (refusal !== null) {
      const error = `chronyd refused the new sources: ${refusal}`;
      return { rolled_back: true, error };
    }
    const mainBefore = await this.prepareMain(spec);
    const file = this.sourcesFile;
    const hadFile = existsSync(file);
    await writeFileAtomic(file, text, { mode: 0o644 });

    const failure = await this.activate(mainBefore !== null);
    if (failure !== null) {
      await this.rollback(file, hadFile, mainBefore);
      return { rolled_back: true, error: failure };
    }
    this.changedAt = Date.now();
    this.expectsSources = spec.servers.length > 0;
    return { rolled_back: false, error: null };
  }

  async syncStatus(): Promise<SyncStatus> {
    const state = await this.daemonState();
    if (state.status !== "active") {
      return unknownStatus(state, state.detail ?? `chronyd is ${state.status}`);
    }
    try {
      const raw = await this.chronyc.sources();
      const tracking = await this.chronyc.tracking();
      return evaluateSync({
        state,
        tracking,
        sources: withSystemClockOffsets(raw, tracking),
        sinceChangeS: (Date.now() - this.changedAt) / 1000,
        pendingWindowS: this.options.pendingWindowS ?? 30,
        expectsSources: this.expectsSources,
      });
    } catch (err) {
      return unknownStatus(state, (err as Error).message);
    }
  }

  async forceSync(): Promise<ForceSyncOutcome> {
    const state = await this.daemonState();
    if (state.status !== "active") {
      const why = state.detail ?? `chronyd is ${state.status}`;
      return {
        ok: false,
        offset_before_s: null,
        offset_after_s: null,
        reference: null,
        error: `chronyd is not running: ${why}`,
      };
    }
    return forceSync({
      chronyc: this.chronyc,
      thresholdS: this.options.syncThresholdS ?? 0.1,
      startedWithoutClockControl:
        this.supervised !== null && !this.supervised.clockControl,
      waitMs: this.options.forceSyncWaitMs,
    });
  }

  /**
   * Ends timeplane's management of the node: systemd mode removes the
   * drop-in and restores the distribution's main config (restarting the
   * unit when it changed); supervised mode stops its chronyd.
   */
  async release(): Promise<void> {
    if (this.supervised !== null) return this.supervised.stop();
    const layout = this.layout();
    await fs.rm(this.sourcesFile, { force: true });
    await fs.rm(previousPath(this.sourcesFile), { force: true });
    if (await restoreMainConf(this.options.paths, layout)) {
      await systemctlRestart(layout.unit, this.run());
    } else {
      await this.chronyc.reloadSources().catch(() => undefined);
    }
  }

  private setup(mode: ChronyMode): void {
    this.resolved = mode;
    const o = this.options;
    if (mode === "supervised") {
      this.supervised = new SupervisedChronyd({
        stateDir: o.stateDir,
        clockControl: o.clockControl,
        chronydBin: o.chronydBin,
        chronycBin: o.chronycBin,
        serve: o.serve,
      });
      this.chronycValue = this.supervised.chronyc;
      return;
    }
    this.layoutValue = detectLayout(o.paths, o.layout);
    this.chronycValue = new Chronyc({
      socket: o.paths.resolve(this.layoutValue.socket),
      bin: o.chronycBin,
    });
  }

  private async detectMode(): Promise<ChronyMode> {
    const o = this.options;
    if (o.mode !== "auto") return o.mode;
    if (!o.paths.isRealRoot || !existsSync("/run/systemd/system")) {
      return "supervised";
    }
    const layout = detectLayout(o.paths, o.layout);
    const state = await systemctlShow(layout.unit, this.run());
    return state.loaded === "loaded" ? "systemd" : "supervised";
  }

  private layout(): ChronyLayout {
    if (this.layoutValue === null) throw notStarted();
    return this.layoutValue;
  }

  private run(): RunCommand {
    return this.options.run ?? runCommand;
  }

  private chronydPath(): string | null {
    if (this.supervised !== null) return this.supervised.chronydPath;
    return findBinary(this.options.chronydBin ?? "chronyd");
  }

  /** Parses a candidate with `chronyd -p`; returns chrony's reason. */
  private async checkCandidate(text: string): Promise<string | null> {
    const misplaced = firstNonSourceLine(text);
    if (misplaced !== null) return misplaced;
    const bin = this.chronydPath();
    if (bin === null) return "chronyd not found: cannot check the file";

    const dir = path.join(path.resolve(this.options.stateDir), "check");
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const sources = path.join(dir, "candidate.sources");
    const conf = path.join(dir, "candidate.conf");
    await fs.writeFile(sources, text, { mode: 0o600 });
    await fs.writeFile(conf, renderCheckConf(sources), { mode: 0o600 });

    const res = await localRun(bin, ["-p", "-f", conf]);
    if (res.code === 0) return null;
    return chronydReason(res.stderr) || `chronyd -p exit code ${res.code}`;
  }

  /** Returns the main config's bytes before a change, null if unchanged. */
  private async prepareMain(spec: SourcesSpec): Promise<Buffer | null> {
    if (this.supervised !== null || spec.servers.length === 0) return null;
    const conf = this.options.paths.resolve(this.layout().conf);
    const before = await fs.readFile(conf);
    const changed = await prepareMainConf(this.options.paths, this.layout());
    return changed ? before : null;
  }

  /** Makes chronyd read the new file; returns why it failed, or null. */
  private async activate(mainChanged: boolean): Promise<string | null> {
    try {
      if (mainChanged) {
        await systemctlRestart(this.layout().unit, this.run());
      } else {
        await this.chronyc.reloadSources();
      }
    } catch (err) {
      return `chronyd did not take the new sources: ${(err as Error).message}`;
    }
    const state = await this.daemonState();
    if (state.status === "active") return null;
    const why = state.detail ?? state.status;
    return `chronyd stopped after the new sources: ${why}`;
  }

  private async rollback(
    file: string,
    hadFile: boolean,
    mainBefore: Buffer | null,
  ): Promise<void> {
    if (hadFile) await restorePrevious(file);
    else await fs.rm(file, { force: true });
    if (mainBefore === null) {
      await this.chronyc.reloadSources().catch(() => undefined);
      return;
    }
    const conf = this.options.paths.resolve(this.layout().conf);
    const { mode } = await fs.stat(conf);
    await writeFileAtomic(conf, mainBefore, {
      mode: mode & 0o7777,
      keepPrevious: false,
    });
    await systemctlRestart(this.layout().unit, this.run()).catch(
      () => undefined,
    );
  }
}

/** A sources file holds only server, pool and peer lines. */
function firstNonSourceLine(text: string): string | null {
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    const word = line.trim().split(/\s+/)[0] ?? "";
    if (word === "" || /^[#%!;]/.test(word)) continue;
    if (!["server", "pool", "peer"].includes(word.toLowerCase())) {
      return (
        `line ${i + 1} is not a server, pool or peer directive: ` +
        JSON.stringify(line)
      );
    }
  }
  return null;
}

/** The last line chronyd wrote, without its timestamp and "Fatal error". */
function chronydReason(stderr: string): string {
  const lines = stderr.trim().split("\n").filter(Boolean);
  const last = lines[lines.length - 1] ?? "";
  return last
    .replace(/^\d{4}-\d{2}-\d{2}T\S+\s+/, "")
    .replace(/^Fatal error\s*:\s*/, "");
}

function notStarted(): TimeplaneError {
  return new TimeplaneError("HOST_OPERATION_FAILED", {
    op: "chrony",
    why: "the chrony mode is not resolved yet: call start() first",
  });
}

export { Chronyc, ChronycError } from "./chronyc.ts";
export type { ChronyLayout } from "./systemd.ts";
