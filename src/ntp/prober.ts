/**
 * A polite SNTP prober: it never sends two queries to one source within
 * `minIntervalMs` (callers meanwhile share the query in flight or get the
 * last result, marked cached), backs off after a Kiss-o'-Death (RFC 5905,
 * section 7.4) for `kodBackoffMs`, doubling on each repeated KoD up to one
 * hour, and bounds the number of queries in flight at once. Sources are
 * keyed by their normalised address, so `NTP1.Example.COM` and
 * `ntp1.example.com` are one source. State is kept per source in memory
 * for the life of the Prober.
 */
import { normaliseAddress } from "./address.ts";
import { DEFAULT_TIMEOUT_MS, type Lookup, probeOnce } from "./sntp.ts";
import type { ProbeResult } from "./types.ts";

/** The longest back-off after repeated Kiss-o'-Death replies: one hour. */
export const MAX_KOD_BACKOFF_MS = 3_600_000;

/** Above this many sources, idle ones are forgotten when a new one comes. */
const MAX_REMEMBERED_SOURCES = 4096;

export interface ProberOptions {
  /** UDP port of every source, 123 by default. */
  port?: number;
  /** How long one query waits for its reply, in milliseconds. */
  timeoutMs?: number;
  /** Shortest time between two queries to one source (default 2000 ms). */
  minIntervalMs?: number;
  /** How long a result is served from the cache (default 2000 ms). */
  cacheMs?: number;
  /** First back-off after a Kiss-o'-Death (default 64000 ms). */
  kodBackoffMs?: number;
  /** Most queries in flight at once (default 64). */
  concurrency?: number;
  /** Clock in unix milliseconds, Date.now by default; tests inject one. */
  now?: () => number;
  /** Host name resolver; dns.lookup by default. */
  lookup?: Lookup;
}

interface SourceState {
  inFlight: Promise<ProbeResult> | null;
  last: ProbeResult | null;
  /** When the last query was sent (or queued), by the Prober's clock. */
  sentAtMs: number | null;
  /** No query before this time, after a Kiss-o'-Death. */
  kodUntilMs: number | null;
  /** The back-off that followed the last KoD, 0 when the last was none. */
  kodBackoffMs: number;
}

export class Prober {
  private readonly port: number | undefined;
  private readonly timeoutMs: number;
  private readonly minIntervalMs: number;
  private readonly cacheMs: number;
  private readonly kodBackoffMs: number;
  private readonly concurrency: number;
  private readonly now: () => number;
  private readonly lookup: Lookup | undefined;
  private readonly sources = new Map<string, SourceState>();
  private readonly waiting: Array<() => void> = [];
  private running = 0;

  constructor(options: ProberOptions = {}) {
    this.port = options.port;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.minIntervalMs = options.minIntervalMs ?? 2000;
    this.cacheMs = options.cacheMs ?? 2000;
    this.kodBackoffMs = options.kodBackoffMs ?? 64_000;
    this.concurrency = Math.max(1, options.concurrency ?? 64);
    this.now = options.now ?? Date.now;
    this.lookup = options.lookup;
  }

  /** Probes one source, or answers from its cache or back-off. */
  probe(addr: string): Promise<ProbeResult> {
    const state = this.stateOf(addr);
    const nowMs = this.now();

    if (state.kodUntilMs !== null && nowMs < state.kodUntilMs) {
      return Promise.resolve(this.backingOff(addr, state, nowMs));
    }
    if (state.inFlight !== null) {
      return state.inFlight.then((result) => ({ ...result, addr }));
    }
    if (state.last !== null && this.isFresh(state, nowMs)) {
      return Promise.resolve({ ...state.last, addr, cached: true });
    }
    state.sentAtMs = nowMs;
    state.inFlight = this.query(addr, state);
    return state.inFlight;
  }

  /** Probes every source, at most `concurrency` at once, in input order. */
  probeMany(addrs: string[]): Promise<ProbeResult[]> {
    return Promise.all(addrs.map((addr) => this.probe(addr)));
  }

  private stateOf(addr: string): SourceState {
    const key = keyOf(addr);
    let state = this.sources.get(key);
    if (state === undefined) {
      if (this.sources.size >= MAX_REMEMBERED_SOURCES) {
        this.prune(this.now());
      }
      state = {
        inFlight: null,
        last: null,
        sentAtMs: null,
        kodUntilMs: null,
        kodBackoffMs: 0,
      };
      this.sources.set(key, state);
    }
    return state;
  }

  private isFresh(state: SourceState, nowMs: number): boolean {
    const sinceMs = nowMs - (state.sentAtMs ?? Number.NEGATIVE_INFINITY);
    return sinceMs < this.minIntervalMs || sinceMs < this.cacheMs;
  }

  private async query(addr: string, state: SourceState): Promise<ProbeResult> {
    try {
      const result = await this.withSlot(() => {
        state.sentAtMs = this.now();
        return probeOnce(addr, {
          port: this.port,
          timeoutMs: this.timeoutMs,
          lookup: this.lookup,
        });
      });
      state.last = result;
      return this.afterReply(state, result);
    } finally {
      state.inFlight = null;
    }
  }

  /** Starts or resets the back-off; a KoD result says when we ask again. */
  private afterReply(state: SourceState, result: ProbeResult): ProbeResult {
    if (result.reason !== "kiss_of_death") {
      state.kodBackoffMs = 0;
      state.kodUntilMs = null;
      return result;
    }
    state.kodBackoffMs =
      state.kodBackoffMs === 0
        ? this.kodBackoffMs
        : Math.min(state.kodBackoffMs * 2, MAX_KOD_BACKOFF_MS);
    state.kodUntilMs = this.now() + state.kodBackoffMs;
    state.last = result;
    return { ...result, detail: this.backOffDetail(state, this.now()) };
  }

  private backingOff(
    addr: string,
    state: SourceState,
    nowMs: number,
  ): ProbeResult {
    const last = state.last as ProbeResult;
    return {
      ...last,
      addr,
      reason: "kiss_of_death",
      detail: this.backOffDetail(state, nowMs),
      cached: true,
    };
  }

  private backOffDetail(state: SourceState, nowMs: number): string {
    const untilMs = state.kodUntilMs ?? nowMs;
    const inS = Math.ceil((untilMs - nowMs) / 1000);
    const until = new Date(untilMs).toISOString();
    return (
      `kiss code ${state.last?.kiss_code ?? "unknown"}: ` +
      `not asking again until ${until} (in ${inS} s)`
    );
  }

  /** Runs `task` when fewer than `concurrency` queries are in flight. */
  private async withSlot<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency) {
      this.running++;
    } else {
      // The slot is handed over by the task that ends, still counted.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) {
        this.running--;
      } else {
        next();
      }
    }
  }

  /** Forgets sources with nothing in flight, no back-off, no fresh result. */
  private prune(nowMs: number): void {
    for (const [key, state] of this.sources) {
      const idle = state.inFlight === null && !this.isFresh(state, nowMs);
      if (idle && (state.kodUntilMs ?? 0) <= nowMs) {
        this.sources.delete(key);
      }
    }
  }
}

/** One key per source: the normalised address, or the text as given. */
function keyOf(addr: string): string {
  try {
    return normaliseAddress(addr);
  } catch {
    return addr;
  }
}
