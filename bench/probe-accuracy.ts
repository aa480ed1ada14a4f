/**
 * probe-accuracy: how close timeplane's SNTP offset is to chronyd's own.
 * An upstream chronyd runs 2.5 s ahead under faketime on 127.0.0.101.
 * timeplane measures it with probeOnce (median of 20 probes 100 ms apart,
 * no Prober, so no cache or rate limit in the way); chronyd measures it
 * with `chronyd -Q`, which takes four samples and only prints the offset.
 * `-Q` is the reference rather than a client chronyd's sourcestats: under
 * -x chronyd applies each correction to its own idea of the clock, so
 * sourcestats shows the residual offset (microseconds), not the 2.5 s.
 * chronyd -Q runs before and after the probes; the reference is the mean.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { probeOnce } from "../src/ntp/sntp.ts";
import {
  against,
  type Benchmark,
  info,
  killPid,
  type Measure,
  median,
  readPid,
  type Scope,
  say,
  sleep,
  waitFor,
} from "./lib.ts";

const NAME = "probe-accuracy";
const UPSTREAM = "127.0.0.101";
const FAKETIME_OFFSET_S = 2.5;
const PROBES = 20;
const SPACING_MS = 100;

export const probeAccuracy: Benchmark = {
  name: NAME,
  budgetMs: 90_000,
  async run(scope) {
    const dir = scope.tempDir("tp-bench-acc-");
    await startUpstream(scope, dir);

    const before_s = await chronydOffsetS(scope, dir, "q1");
    const probes = await probeMs();
    const after_s = await chronydOffsetS(scope, dir, "q2");

    const probes_ms = probes.map((p) => p.offset_ms);
    const sntp_ms = median(probes_ms);
    const chrony_ms = ((before_s + after_s) / 2) * 1000;
    const spread_ms = Math.max(...probes_ms) - Math.min(...probes_ms);
    say(NAME, `chronyd -Q: ${before_s} s before, ${after_s} s after`);
    const measures: Measure[] = [
      info("SNTP offset, median of 20 probes", sntp_ms, "ms"),
      info("SNTP offset, spread (max - min)", spread_ms, "ms"),
      info("SNTP delay, median", median(probes.map((p) => p.delay_ms)), "ms"),
      info("chronyd -Q offset, mean of 2 runs", chrony_ms, "ms"),
      info("faketime offset", FAKETIME_OFFSET_S * 1000, "ms"),
      against(
        "|SNTP - chronyd| offset",
        Math.abs(sntp_ms - chrony_ms),
        "ms",
        "<",
        1,
      ),
    ];
    return measures;
  },
};

/** The upstream chronyd, clock control off, 2.5 s ahead. */
async function startUpstream(scope: Scope, dir: string): Promise<void> {
  const conf = path.join(dir, "up.conf");
  const pidFile = path.join(dir, "up.pid");
  writeFileSync(
    conf,
    [
      "local stratum 3",
      "allow 127.0.0.0/8",
      `bindaddress ${UPSTREAM}`,
      "cmdport 0",
      `bindcmdaddress ${dir}/up.sock`,
      `pidfile ${pidFile}`,
      `driftfile ${dir}/up.drift`,
      "",
    ].join("\n"),
  );
  const faketime = scope.spawn("faketime", [
    "-f",
    `+${FAKETIME_OFFSET_S}s`,
    "chronyd",
    "-x",
    "-d",
    "-u",
    "root",
    "-f",
    conf,
  ]);
  // faketime forks chronyd as its own child: stop chronyd by its pid first
  // (deferred after faketime, so it runs before it).
  scope.defer(async () => {
    const pid = readPid(pidFile);
    if (pid !== null && pid !== faketime.pid) await killPid(pid);
    // Left alone, faketime ends with its child and removes its shared
    // memory files from /dev/shm; a signal would leave them behind.
    await faketime.done(5_000).catch(() => null);
  });
  await waitFor(
    async () => {
      if (faketime.exited()) {
        throw new Error(`Upstream chronyd exited: ${faketime.output()}`);
      }
      return (await probeOnce(UPSTREAM, { timeoutMs: 500 })).usable;
    },
    15_000,
    () =>
      `Upstream chronyd on ${UPSTREAM} did not answer: ${faketime.output()}`,
    250,
  );
}

async function probeMs(): Promise<{ offset_ms: number; delay_ms: number }[]> {
  const probes: { offset_ms: number; delay_ms: number }[] = [];
  for (let i = 0; i < PROBES; i++) {
    if (i > 0) await sleep(SPACING_MS);
    const r = await probeOnce(UPSTREAM, { timeoutMs: 1000 });
    if (!r.usable || r.offset_ms === null || r.delay_ms === null) {
      throw new Error(`Probe ${i + 1} failed: ${r.reason} ${r.detail}`);
    }
    probes.push({ offset_ms: r.offset_ms, delay_ms: r.delay_ms });
  }
  return probes;
}

/** chronyd -Q: measures the upstream, prints the offset, changes nothing. */
async function chronydOffsetS(
  scope: Scope,
  dir: string,
  tag: string,
): Promise<number> {
  const proc = scope.spawn("chronyd", [
    "-x",
    "-d",
    "-u",
    "root",
    "-Q",
    `server ${UPSTREAM} iburst`,
    "port 0",
    "cmdport 0",
    `pidfile ${dir}/${tag}.pid`,
  ]);
  const code = await proc.done(30_000);
  const found = /System clock wrong by (-?[\d.]+) seconds/.exec(proc.output());
  if (code !== 0 || !found?.[1]) {
    throw new Error(`chronyd -Q failed (exit ${code}): ${proc.output()}`);
  }
  return Number(found[1]);
}
