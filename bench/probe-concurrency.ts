/**
 * probe-concurrency: Prober.probeMany of 100 sources, half answering (tiny
 * NTP servers on 127.0.0.150-199) and half silent (127.0.0.200-249), with a
 * 1000 ms timeout. Silent comes in two kinds: with nothing bound, loopback
 * answers ICMP port unreachable and the probe fails at once; bound but
 * never answering (a black hole, what a dead server across a network looks
 * like) every probe waits its full timeout. The Prober runs at most 64
 * queries at once, so 50 black holes fit in one round: the whole call
 * should take one timeout, not two.
 */
import { Prober } from "../src/ntp/prober.ts";
import type { ProbeResult } from "../src/ntp/types.ts";
import { against, type Benchmark, info, type Measure, timed } from "./lib.ts";
import { loopbackRange, startResponders } from "./ntp-responder.ts";

const TIMEOUT_MS = 1000;
const ANSWERING = loopbackRange(150, 199);
const SILENT = loopbackRange(200, 249);

export const probeConcurrency: Benchmark = {
  name: "probe-concurrency",
  budgetMs: 60_000,
  async run(scope) {
    await startResponders(scope, ANSWERING);
    const addrs = interleave(ANSWERING, SILENT);

    const refused = await probeAll(addrs);
    await startResponders(scope, SILENT, { silent: true });
    const blackHoles = await probeAll(addrs);

    const limit_ms = 1.2 * TIMEOUT_MS;
    const measures: Measure[] = [
      against(
        "100 sources, 50 silent as black holes",
        blackHoles.ms,
        "ms",
        "<=",
        limit_ms,
      ),
      info("  usable replies (expect 50)", blackHoles.usable, "sources"),
      info("  timeouts (expect 50)", blackHoles.timeout, "sources"),
      against(
        "100 sources, 50 silent with nothing bound",
        refused.ms,
        "ms",
        "<=",
        limit_ms,
      ),
      info("  usable replies (expect 50)", refused.usable, "sources"),
      info("  port unreachable (expect 50)", refused.unreachable, "sources"),
    ];
    return measures;
  },
};

async function probeAll(addrs: string[]) {
  const prober = new Prober({ timeoutMs: TIMEOUT_MS });
  const { ms, value } = await timed(() => prober.probeMany(addrs));
  const count = (pred: (r: ProbeResult) => boolean) =>
    value.filter(pred).length;
  return {
    ms,
    usable: count((r) => r.usable && ANSWERING.includes(r.addr)),
    timeout: count((r) => r.reason === "timeout"),
    unreachable: count((r) => r.reason === "unreachable"),
  };
}

function interleave(a: string[], b: string[]): string[] {
  return a.flatMap((x, i) => (b[i] === undefined ? [x] : [x, b[i] as string]));
}
