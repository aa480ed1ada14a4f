/**
 * ChronyHost: the one facade the agent uses for chrony on its node. It runs
 * either the host's own chronyd under systemd or a chronyd it supervises
 * itself, and offers the same operations for both: apply sources with a
 * check and a rollback (F11), read the sync status (F16, F17) and force a
 * sync (F19, F20). Source offsets it reports are system clock minus
 * source, corrected for what chronyd has not applied to the clock yet (see
 * systemClockOffset): on a -x node they show the clock's real error.
 *
 * A time leader also serves NTP to its cluster (SourcesSpec.serve). That
 * lives in chronyd's main configuration, read only at start, so a change
 * of it restarts chronyd; what was last applied is kept in serve.json in
 * the state folder, so that a restarted agent knows what chronyd runs with.
 */
import { existsSync, promises as fs } from "node:fs";
import path from "node:path";
import type {
  DaemonState,
  ServeSpec,
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
import {
  checkServeSpec,
  clusterServers,
  renderCheckConf,
  renderServeDropIn,
  renderSources,
  type ServeOptions,
  toServeOptions,
} from "./config.ts";
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
  SERVE_FILE_NAME,
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
  /** Let a supervised chronyd serve NTP (local stratum, orphan) until a
   * SourcesSpec says otherwise; serve.json in the state folder wins. */
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

/** One apply in flight: what to put back if chronyd does not take it. */
interface Change {
  file: string;
  hadFile: boolean;
  /** The main config's bytes before prepareMainConf changed it. */
  mainBefore: Buffer | null;
  serve: ServeSpec | null;
  serveChanged: boolean;
  /** systemd: the serving drop-in's bytes before, null when absent. */
  dropInBefore: Buffer | null;
}

const SERVE_STATE_FILE = "serve.json";

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
  /** What chronyd was last started with; null when not serving. */
  private served: ServeSpec | null = null;
  private servedLoaded = false;

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

  /** Path of the leader's serving drop-in (systemd mode). */
  get serveDropInFile(): string {
    const file = path.posix.join(this.layout().confDir, SERVE_FILE_NAME);
    return this.options.paths.resolve(file);
  }

  /** How chronyd serves NTP as last applied; null when it does not. */
  get serving(): ServeSpec | null {
    return this.served;
  }

  async start(): Promise<void> {
    if (this.resolved === null) this.setup(await this.detectMode());
    await this.loadServed();
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

  /**
   * Writes the sources (upstream, then cluster leaders) and, when
   * spec.serve differs from what chronyd runs with, its serving settings,
   * restarting chronyd. spec.serve undefined keeps the serving as it is.
   * Throws INVALID_FIELD for a bad spec before anything changes.
   */
  private async applyNow(spec: SourcesSpec): Promise<ApplyOutcome> {
    const state = await this.daemonState();
    if (state.loaded === "not-found") {
      const why = state.detail ?? "no chrony unit";
      return { rolled_back: false, error: `chrony is not installed: ${why}` };
    }
    await this.loadServed();
    const serve =
      spec.serve === undefined ? this.served : checkServeSpec(spec.serve);
    const rendered = renderSources(
      { ...spec, serve },
      { port: this.options.sourcePort },
    );
    const text = this.options.testHooks?.editSources?.(rendered) ?? rendered;
    if (await this.unchanged(text, serve)) {
      // Nothing to do (a time zone write, a retry): chronyd is not touched
      // and the node does not go back to "pending".
      this.expectsSources =
        spec.servers.length + clusterServers(spec.cluster_servers).length > 0;
      return { rolled_back: false, error: null };
    }

    const refusal = await this.checkCandidate(text, serve);
    if (refusal !== null) {
      const error = `chronyd refused the new sources: ${refusal}`;
      return { rolled_back: true, error };
    }
    const change = await this.write(spec, text, serve);
    const failure = await this.activate(change);
    if (failure !== null) {
      await this.rollback(change);
      return { rolled_back: true, error: failure };
    }
    if (change.serveChanged) await this.rememberServe(serve);
    this.changedAt = Date.now();
    this.expectsSources =
      spec.servers.length + clusterServers(spec.cluster_servers).length > 0;
    return { rolled_back: false, error: null };
  }

  /** True when the sources file and the serving are already as asked. */
  private async unchanged(
    text: string,
    serve: ServeSpec | null,
  ): Promise<boolean> {
    // Under systemd the distribution's main config may need preparing
    // again (an upgrade restored its pool line): always take the full path.
    if (this.supervised === null) return false;
    try {
      if (await this.serveChanged(serve)) return false;
      if ((await this.daemonState()).status !== "active") return false;
      const current = await readOrNull(this.sourcesFile);
      return current !== null && current.toString("utf8") === text;
    } catch {
      // An unreadable state folder: the full path reports why.
      return false;
    }
  }

  /** Writes the files of a change; chronyd has not read them yet. */
  private async write(
    spec: SourcesSpec,
    text: string,
    serve: ServeSpec | null,
  ): Promise<Change> {
    const serveChanged = await this.serveChanged(serve);
    const mainBefore = await this.prepareMain(spec, serve);
    const file = this.sourcesFile;
    const hadFile = existsSync(file);
    await writeFileAtomic(file, text, { mode: 0o644 });
    let dropInBefore: Buffer | null = null;
    if (serveChanged && this.supervised === null) {
      dropInBefore = await readOrNull(this.serveDropInFile);
      await this.writeDropIn(serve);
    }
    return { file, hadFile, mainBefore, serve, serveChanged, dropInBefore };
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
   * sources and serving drop-ins and serve.json and restores the
   * distribution's main config (restarting the unit when the main config
   * or the serving changed); supervised mode stops its chronyd.
   */
  async release(): Promise<void> {
    if (this.supervised !== null) return this.supervised.stop();
    const layout = this.layout();
    await fs.rm(this.sourcesFile, { force: true });
    await fs.rm(previousPath(this.sourcesFile), { force: true });
    const hadDropIn = existsSync(this.serveDropInFile);
    await fs.rm(this.serveDropInFile, { force: true });
    await fs.rm(this.serveStateFile(), { force: true });
    this.served = null;
    const mainRestored = await restoreMainConf(this.options.paths, layout);
    if (mainRestored || hadDropIn) {
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

  /**
   * Parses a candidate with `chronyd -p`, with the serving lines it would
   * run with; returns chrony's reason.
   */
  private async checkCandidate(
    text: string,
    serve: ServeSpec | null,
  ): Promise<string | null> {
    const misplaced = firstNonSourceLine(text);
    if (misplaced !== null) return misplaced;
    const bin = this.chronydPath();
    if (bin === null) return "chronyd not found: cannot check the file";

    const dir = path.join(path.resolve(this.options.stateDir), "check");
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const sources = path.join(dir, "candidate.sources");
    const conf = path.join(dir, "candidate.conf");
    await fs.writeFile(sources, text, { mode: 0o600 });
    let extra: string | undefined;
    if (serve !== null) {
      extra = path.join(dir, "candidate-serve.conf");
      await fs.writeFile(extra, renderServeDropIn(serve), { mode: 0o600 });
    }
    await fs.writeFile(conf, renderCheckConf(sources, extra), { mode: 0o600 });

    const res = await localRun(bin, ["-p", "-f", conf]);
    if (res.code === 0) return null;
    return chronydReason(res.stderr) || `chronyd -p exit code ${res.code}`;
  }

  /**
   * Returns the main config's bytes before a change, null if unchanged.
   * It is prepared once the node has sources of its own or serves.
   */
  private async prepareMain(
    spec: SourcesSpec,
    serve: ServeSpec | null,
  ): Promise<Buffer | null> {
    if (this.supervised !== null) return null;
    const leaders = clusterServers(spec.cluster_servers);
    if (spec.servers.length + leaders.length === 0 && serve === null) {
      return null;
    }
    const conf = this.options.paths.resolve(this.layout().conf);
    const before = await fs.readFile(conf);
    const changed = await prepareMainConf(this.options.paths, this.layout());
    return changed ? before : null;
  }

  /** Makes chronyd read the new files; returns why it failed, or null. */
  private async activate(change: Change): Promise<string | null> {
    const supervisor = this.supervised;
    if (supervisor !== null && change.serveChanged) {
      return this.restartServing(supervisor, change.serve);
    }
    try {
      if (change.mainBefore !== null || change.serveChanged) {
        await systemctlRestart(this.layout().unit, this.run());
      } else {
        await this.chronyc.reloadSources();
        // chronyd 4.3 adds the new lines of a sourcedir before it removes
        // the old ones, so a server whose options changed (a new poll) is
        // first dropped ("Could not add source"); a second reload adds it.
        // When nothing is missing, the second reload changes nothing.
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

  private async restartServing(
    supervisor: SupervisedChronyd,
    serve: ServeSpec | null,
  ): Promise<string | null> {
    supervisor.setServe(serve === null ? undefined : toServeOptions(serve));
    try {
      await supervisor.restart();
      return null;
    } catch (err) {
      const why =
        err instanceof TimeplaneError && typeof err.params.why === "string"
          ? err.params.why
          : (err as Error).message;
      return `chronyd could not start with the new serve settings: ${why}`;
    }
  }

  private async rollback(change: Change): Promise<void> {
    if (change.hadFile) await restorePrevious(change.file);
    else await fs.rm(change.file, { force: true });
    const supervisor = this.supervised;
    if (supervisor !== null && change.serveChanged) {
      const served = this.served;
      supervisor.setServe(served === null ? undefined : toServeOptions(served));
      await supervisor.start().catch(() => undefined);
      return;
    }
    if (change.serveChanged) await this.restoreDropIn(change.dropInBefore);
    if (change.mainBefore === null && !change.serveChanged) {
      await this.chronyc.reloadSources().catch(() => undefined);
      return;
    }
    if (change.mainBefore !== null) await this.restoreMain(change.mainBefore);
    await systemctlRestart(this.layout().unit, this.run()).catch(
      () => undefined,
    );
  }

  private async restoreMain(before: Buffer): Promise<void> {
    const conf = this.options.paths.resolve(this.layout().conf);
    const { mode } = await fs.stat(conf);
    await writeFileAtomic(conf, before, {
      mode: mode & 0o7777,
      keepPrevious: false,
    });
  }

  private async writeDropIn(serve: ServeSpec | null): Promise<void> {
    const file = this.serveDropInFile;
    if (serve === null) {
      await fs.rm(file, { force: true });
      return;
    }
    await writeFileAtomic(file, renderServeDropIn(serve), {
      mode: 0o644,
      keepPrevious: false,
    });
  }

  private async restoreDropIn(before: Buffer | null): Promise<void> {
    const file = this.serveDropInFile;
    if (before === null) {
      await fs.rm(file, { force: true });
      return;
    }
    await writeFileAtomic(file, before, { mode: 0o644, keepPrevious: false });
  }

  /**
   * True when chronyd must restart for serve. Under systemd the drop-in
   * on disk counts too, so a state folder lost or a drop-in left behind
   * is put right by the next apply.
   */
  private async serveChanged(serve: ServeSpec | null): Promise<boolean> {
    if (!sameServe(this.served, serve)) return true;
    if (this.supervised !== null) return false;
    const onDisk = await readOrNull(this.serveDropInFile);
    const wanted = serve === null ? null : renderServeDropIn(serve);
    return (onDisk?.toString("utf8") ?? null) !== wanted;
  }

  private serveStateFile(): string {
    return path.join(path.resolve(this.options.stateDir), SERVE_STATE_FILE);
  }

  /**
   * Reads serve.json once. Without one, a supervised chronyd serves as
   * the serve option says and a systemd one is taken as not serving.
   */
  private async loadServed(): Promise<void> {
    if (this.servedLoaded) return;
    const remembered = await readServeState(this.serveStateFile());
    const fallback = this.options.serve;
    this.served =
      remembered !== undefined
        ? remembered
        : this.supervised !== null && fallback !== undefined
          ? fromServeOptions(fallback)
          : null;
    const served = this.served;
    this.supervised?.setServe(
      served === null ? undefined : toServeOptions(served),
    );
    this.servedLoaded = true;
  }

  private async rememberServe(serve: ServeSpec | null): Promise<void> {
    this.served = serve;
    await fs.mkdir(path.resolve(this.options.stateDir), {
      recursive: true,
      mode: 0o700,
    });
    await writeFileAtomic(
      this.serveStateFile(),
      `${JSON.stringify({ serve })}\n`,
      { mode: 0o600, keepPrevious: false },
    );
  }
}

function sameServe(a: ServeSpec | null, b: ServeSpec | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.bind_address === b.bind_address &&
    a.local_stratum === b.local_stratum &&
    a.allow.length === b.allow.length &&
    a.allow.every((net, i) => net === b.allow[i])
  );
}

function fromServeOptions(serve: ServeOptions): ServeSpec {
  return checkServeSpec({
    bind_address: serve.bindAddress,
    allow: serve.allow,
    local_stratum: serve.localStratum ?? 10,
  }) as ServeSpec;
}

/** The remembered serve; undefined when there is none or it is unreadable. */
async function readServeState(
  file: string,
): Promise<ServeSpec | null | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, "utf8"));
    return checkServeSpec(parsed?.serve);
  } catch {
    return undefined;
  }
}

async function readOrNull(file: string): Promise<Buffer | null> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
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
