/**
 * Runs the benchmarks: `npm run bench` runs all of them, `npm run bench --
 * NAME...` the ones named. Each runs within its time budget in a scope that
 * stops whatever it started; the results table comes last. The exit code is
 * 1 when a benchmark could not run; a missed target is reported, not fatal.
 */
import os from "node:os";
import Table from "cli-table3";
import { apiThroughput } from "./api-throughput.ts";
import { fanOutBench } from "./fan-out.ts";
import {
  type Benchmark,
  formatMeasure,
  type Measure,
  round,
  Scope,
  say,
} from "./lib.ts";
import { memory } from "./memory.ts";
import { probeAccuracy } from "./probe-accuracy.ts";
import { probeConcurrency } from "./probe-concurrency.ts";
import { vsAnsible } from "./vs-ansible.ts";

const ALL: Benchmark[] = [
  probeAccuracy,
  probeConcurrency,
  fanOutBench,
  vsAnsible,
  apiThroughput,
  memory,
];

interface Outcome {
  name: string;
  measures: Measure[];
  error: string | null;
  elapsed_s: number;
}

let current: Scope | null = null;

async function runOne(bench: Benchmark): Promise<Omit<Outcome, "elapsed_s">> {
  const scope = new Scope(bench.name);
  current = scope;
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Over its budget of ${bench.budgetMs} ms`)),
      bench.budgetMs,
    );
  });
  say(bench.name, `start, load average ${loadAverage()}`);
  try {
    const measures = await Promise.race([bench.run(scope), budget]);
    for (const m of measures) say(bench.name, formatMeasure(m));
    return { name: bench.name, measures, error: null };
  } catch (err) {
    const error = (err as Error).message;
    say(bench.name, `FAILED: ${error.slice(0, 500)}`);
    return { name: bench.name, measures: [], error };
  } finally {
    clearTimeout(timer);
    await scope.close();
    current = null;
  }
}

/** The 1, 5 and 15 minute load averages: other work on the same cores. */
function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

function select(names: string[]): Benchmark[] {
  if (names.length === 0) return ALL;
  return names.map((name) => {
    const found = ALL.find((b) => b.name === name);
    if (!found) {
      const known = ALL.map((b) => b.name).join(", ");
      throw new Error(`Unknown benchmark "${name}": known ones are ${known}`);
    }
    return found;
  });
}

function table(outcomes: Outcome[]): string {
  const t = new Table({
    head: ["benchmark", "measure", "value", "unit", "target", "verdict"],
    style: { head: [], border: [] },
  });
  for (const o of outcomes) {
    if (o.error !== null) {
      t.push([o.name, `error: ${o.error.slice(0, 60)}`, "", "", "", "ERROR"]);
    }
    for (const m of o.measures) {
      const verdict = m.pass === null ? "" : m.pass ? "PASS" : "MISS";
      t.push([o.name, m.what, round(m.value), m.unit, m.target ?? "", verdict]);
    }
  }
  return t.toString();
}

function onSignal(signal: NodeJS.Signals): void {
  process.stdout.write(`\n${signal}: stopping what was started\n`);
  const scope = current;
  void (scope ? scope.close() : Promise.resolve()).finally(() =>
    process.exit(130),
  );
}

async function main(): Promise<void> {
  const benches = select(process.argv.slice(2));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.stdout.write(
    `timeplane benchmarks, ${new Date().toISOString()}, node ` +
      `${process.version}, ${os.cpus().length} cores, ` +
      `${Math.round(os.totalmem() / 2 ** 30)} GiB\n`,
  );

  const outcomes: Outcome[] = [];
  for (const bench of benches) {
    const started = performance.now();
    const outcome = await runOne(bench);
    const elapsed_s = (performance.now() - started) / 1000;
    say(
      bench.name,
      `done in ${elapsed_s.toFixed(1)} s, load average ${loadAverage()}`,
    );
    outcomes.push({ ...outcome, elapsed_s });
  }

  process.stdout.write(`\n${table(outcomes)}\n`);
  const misses = outcomes
    .flatMap((o) => o.measures)
    .filter((m) => m.pass === false);
  const errors = outcomes.filter((o) => o.error !== null);
  process.stdout.write(
    `${outcomes.length} benchmarks, ${misses.length} missed targets, ` +
      `${errors.length} errors\n`,
  );
  process.exitCode = errors.length > 0 ? 1 : 0;
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exitCode = 1;
});
